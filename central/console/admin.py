"""Administration: accounts and the audit log (administrators), enrollment tokens and the mairies (and technicians).

None of these pages shows a dossier's content; the audit log shows ids,
names of attachments and addresses only.
"""

from __future__ import annotations

import base64
import io
from datetime import datetime, timezone
from urllib.parse import quote

import qrcode
from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy import select

from central import accounts, audit, enrollment, review, sites
from central.accounts import Account
from central.console.access import SETUP, ip_of, posted, require, services_of
from central.console.pages import PREFIX, page, redirect, too_long
from central.context import Services
from central.models import Role, Site
from titres.enrollment_code import format_code

router = APIRouter(prefix=f"{PREFIX}/admin")


# -- the audit log ------------------------------------------------------------------------

@router.get("/audit")
def audit_page(request: Request, dossier: str = "", actor: str = "", before: str = "",
               account: Account = Depends(require(Role.ADMIN)), services: Services = Depends(services_of)):
    dossier, actor = dossier.strip()[:36], actor.strip()[:64]
    with services.db() as db:
        rows = audit.entries(db, dossier_id=dossier or None, actor=actor or None, limit=100,
                             before_id=int(before) if before.isdigit() and len(before) < 16 else None)
    return page(request, "audit.html", account, rows=rows, dossier=dossier, actor=actor)


# -- accounts ------------------------------------------------------------------------------

def _users_page(request: Request, services: Services, account: Account, error: str | None = None,
                status_code: int = 200, form: dict | None = None):
    with services.db() as db:
        users = accounts.list_users(db)
        all_sites = list(db.scalars(select(Site).order_by(Site.name)))
        site_names = {s.id: s.name for s in all_sites}
        now = datetime.now(timezone.utc)
        return page(request, "users.html", account, status_code, users=users, sites=all_sites,
                    site_names=site_names, error=error, form=form or {}, now=now)


@router.get("/users")
def users_page(request: Request, account: Account = Depends(require(Role.ADMIN)),
               services: Services = Depends(services_of)):
    return _users_page(request, services, account)


@router.post("/users")
def create_user(request: Request, account: Account = Depends(posted(Role.ADMIN)), username: str = Form(""),
                full_name: str = Form(""), role: str = Form(""), site_id: str = Form(""), password: str = Form(""),
                services: Services = Depends(services_of)):
    form = {"username": username[:64], "full_name": full_name[:200], "role": role[:16], "site_id": site_id[:64]}
    error = too_long(identifiant=(username, 64), nom_complet=(full_name, 200), mot_de_passe=(password, 200))
    if error is None:
        try:
            with services.db() as db, db.begin():
                accounts.create_user(db, username, password, role, site_id or None, full_name)
                audit.record(db, actor=account.username, role=account.role, action="create_user",
                             detail=f"{username.strip().lower()} ({role})", ip=ip_of(request))
        except accounts.AccountError as exc:
            error = str(exc)
    if error:
        return _users_page(request, services, account, error, 400, form)
    return redirect("/console/admin/users?ok=created")


# -- enrollment tokens ----------------------------------------------------------------------

def _site_names(services: Services) -> list[str]:
    with services.db() as db:
        return list(db.scalars(select(Site.name).order_by(Site.name)))


@router.get("/tokens")
def tokens_page(request: Request, account: Account = Depends(require(*SETUP)),
                services: Services = Depends(services_of)):
    return page(request, "tokens.html", account, sites=_site_names(services))


@router.post("/tokens")
def create_token(request: Request, account: Account = Depends(posted(*SETUP)), site: str = Form(""),
                 services: Services = Depends(services_of)):
    """The token, shown once as an enrollment sheet: its QR code carries the service's address with it."""
    site = site.strip()
    if not site or len(site) > 200:
        return page(request, "tokens.html", account, 400, sites=_site_names(services),
                    error="Indiquez la mairie (1 à 200 caractères).", site=site[:200])
    issued = enrollment.issue_token(services, site, created_by=account.username)
    with services.db() as db, db.begin():
        audit.record(db, actor=account.username, role=account.role, action="create_token", detail=site,
                     ip=ip_of(request))
    central_url = str(request.base_url).rstrip("/")
    # The code carries the service's address with the token: a blank kiosk's camera needs nothing else.
    image = io.BytesIO()
    qrcode.make(format_code(central_url, issued.token), border=4, box_size=8).save(image)
    qr = "data:image/png;base64," + base64.b64encode(image.getvalue()).decode()
    return page(request, "tokens.html", account, sites=_site_names(services), token=issued.token, qr=qr,
                site=issued.site_name, expires_at=issued.expires_at,
                command=f"kiosk provision --central {central_url} --token {issued.token}")


# -- the mairies' settings ------------------------------------------------------------------

def _sites_page(request: Request, services: Services, account: Account, status_code: int = 200,
                failed: dict | None = None):
    """``failed``: the site id, the refused form as typed and the :class:`sites.SiteError`."""
    with services.db() as db:
        rows = sites.list_sites(db)
    error = f"« {failed['name']} » n'est pas enregistrée. {failed['error']}" if failed else None
    return page(request, "sites.html", account, status_code, rows=rows, failed=failed or {}, error=error,
                limits={"name": sites.NAME_MAX, "address": sites.ADDRESS_MAX, "hours": sites.HOURS_MAX},
                ZONES=sites.FRENCH_ZONES)


@router.get("/sites")
def sites_page(request: Request, account: Account = Depends(require(*SETUP)),
               services: Services = Depends(services_of)):
    return _sites_page(request, services, account)


@router.post("/sites/{site_id}")
def edit_site(request: Request, site_id: str, account: Account = Depends(posted(*SETUP)), name: str = Form(""),
              address: str = Form(""), opening_hours: str = Form(""), default_language: str = Form(""),
              timezone_: str = Form("", alias="timezone"), services: Services = Depends(services_of)):
    try:
        with services.db() as db, db.begin():
            site = db.get(Site, site_id[:64])
            if site is None:
                raise review.NotFound("Cette mairie n'existe pas.")
            current_name = site.name
            changed = sites.edit_site(db, site, actor=account.username, role=account.role, ip=ip_of(request),
                                      name=name, address=address, opening_hours=opening_hours,
                                      default_language=default_language, timezone=timezone_ or None)
    except sites.SiteError as exc:
        form = {"name": name[:sites.NAME_MAX], "address": address[:sites.ADDRESS_MAX],
                "opening_hours": opening_hours[:sites.HOURS_MAX], "default_language": default_language[:8],
                "timezone": timezone_[:64]}
        return _sites_page(request, services, account, 400, {"id": site_id, "name": current_name, "form": form,
                                                             "field": exc.field, "error": str(exc)})
    return redirect(f"/console/admin/sites?ok={'site' if changed else 'unchanged'}#mairie-{quote(site_id)}")
