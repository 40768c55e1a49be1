"""Administration: accounts, the clients' waits and the audit log (administrators), enrollment tokens and the
mairies (and technicians).

An account's row disables, enables, unlocks or resets its password
(``central.accounts`` holds the rules); a reset's temporary password is on
that one answer and nowhere else. An account created here has a password
its administrator typed: it must choose its own at its first login. A
mairie is added on the *Mairies* page, and an enrollment token is made for
one chosen from the list.

None of these pages shows a dossier's content; the audit log shows ids,
names of attachments and addresses only.
"""

from __future__ import annotations

import base64
import io
from urllib.parse import quote

import qrcode
from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy import select

from central import accounts, audit, enrollment, reasons, review, sites, throttle
from central.accounts import Account
from central.clients import client_address
from central.console.access import SETUP, posted, require, services_of
from central.console.pages import FR, PREFIX, page, redirect, too_long
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


# -- throttles -----------------------------------------------------------------------------

@router.get("/throttles")
def throttles_page(request: Request, ok: str = "", account: Account = Depends(require(Role.ADMIN)),
                   services: Services = Depends(services_of)):
    """The clients that must wait before they try again (``central.throttle``), each with « Lever »."""
    with services.db() as db:
        rows = throttle.active(db, services.now())
    return page(request, "throttles.html", account, rows=rows, cleared=ok == "cleared")


@router.post("/throttles/clear")
def throttle_clear(request: Request, scope: str = Form(""), key: str = Form(""),
                   account: Account = Depends(posted(Role.ADMIN)), services: Services = Depends(services_of)):
    if scope not in throttle.POLICIES or len(key) > throttle.KEY_MAX:
        raise review.NotFound("Ce freinage n'existe pas.")
    with services.db() as db, db.begin():
        if throttle.clear(db, scope, key):
            audit.record(db, actor=account.username, role=account.role, action="clear_throttle",
                         detail=f"{FR.label('throttle', scope)} : {key}", ip=client_address(request))
    return redirect("/console/admin/throttles?ok=cleared")


# -- accounts ------------------------------------------------------------------------------

def _users_page(request: Request, services: Services, account: Account, error: str | None = None,
                status_code: int = 200, form: dict | None = None):
    now = services.now()
    with services.db() as db:
        users = accounts.list_users(db)
        all_sites = list(db.scalars(select(Site).order_by(Site.name)))
        site_names = {s.id: s.name for s in all_sites}
        waits = accounts.login_waits(db, now)
        rows = [(u, accounts.states(u, waits)) for u in users]
        return page(request, "users.html", account, status_code, rows=rows, waits=waits, sites=all_sites,
                    site_names=site_names, error=error, form=form or {})


@router.get("/users")
def users_page(request: Request, account: Account = Depends(require(Role.ADMIN)),
               services: Services = Depends(services_of)):
    return _users_page(request, services, account)


@router.post("/users")
def create_user(request: Request, account: Account = Depends(posted(Role.ADMIN)), username: str = Form(""),
                full_name: str = Form(""), role: str = Form(""), site_id: str = Form(""), password: str = Form(""),
                services: Services = Depends(services_of)):
    """« Créer un compte »: the administrator typed the password, so the account replaces it at its first login."""
    form = {"username": username[:64], "full_name": full_name[:200], "role": role[:16], "site_id": site_id[:64]}
    error = too_long(identifiant=(username, 64), nom_complet=(full_name, 200), mot_de_passe=(password, 200))
    if error is None:
        try:
            with services.db() as db, db.begin():
                user = accounts.create_user(db, username, password, role, site_id or None, full_name,
                                            temporary=True)
                audit.record(db, actor=account.username, role=account.role, action="create_user",
                             detail=f"{user.username} ({user.role})", ip=client_address(request))
        except accounts.AccountError as exc:
            error = str(exc)
    if error:
        return _users_page(request, services, account, error, 400, form)
    return redirect("/console/admin/users?ok=created")


def _row(username: str) -> str:
    return f"#compte-{quote(username[:64])}"


@router.post("/users/{username}/password")
def reset_password(request: Request, username: str, account: Account = Depends(posted(Role.ADMIN)),
                   confirm: str = Form(""), services: Services = Depends(services_of)):
    """The temporary password, shown once on this answer (never in a URL, never in a log)."""
    if confirm != "1":
        return _users_page(request, services, account,
                           "Cochez « Confirmer » pour réinitialiser le mot de passe de ce compte.", 400)
    try:
        with services.db() as db, db.begin():
            reset = accounts.reset_password(db, username, accounts.Actor.of(account, client_address(request)))
    except accounts.AccountError as exc:
        return _users_page(request, services, account, str(exc), 400)
    return page(request, "password_reset.html", account, reset=reset, notice=FR("notice.password_reset"))


@router.post("/users/{username}/{action}")
def account_action(request: Request, username: str, action: str, account: Account = Depends(posted(Role.ADMIN)),
                   confirm: str = Form(""), services: Services = Depends(services_of)):
    """Disable, enable or unlock an account (disabling asks for « Confirmer »); back to its row.

    Declared after the reset's route, which would otherwise be taken for an action named ``password``.
    """
    todo = accounts.ACTIONS.get(action)
    if todo is None:
        raise review.NotFound("Cette action n'existe pas.")
    if todo.unconfirmed and confirm != "1":
        return _users_page(request, services, account, todo.unconfirmed, 400)
    try:
        with services.db() as db, db.begin():
            changed = todo.run(db, username, accounts.Actor.of(account, client_address(request)))
    except accounts.AccountError as exc:
        return _users_page(request, services, account, str(exc), 400)
    notice = f"user_{todo.state}" if changed else "user_unchanged"
    return redirect(f"/console/admin/users?ok={notice}{_row(username)}")


# -- enrollment tokens ----------------------------------------------------------------------

def _sites(services: Services) -> list[Site]:
    with services.db() as db:
        return list(db.scalars(select(Site).order_by(Site.name)))


@router.get("/tokens")
def tokens_page(request: Request, account: Account = Depends(require(*SETUP)),
                services: Services = Depends(services_of)):
    return page(request, "tokens.html", account, sites=_sites(services))


def _no_site_chosen(request: Request, services: Services, account: Account):
    return page(request, "tokens.html", account, 400, sites=_sites(services),
                error="Choisissez la mairie de la borne dans la liste.")


@router.post("/tokens")
def create_token(request: Request, account: Account = Depends(posted(*SETUP)), site_id: str = Form(""),
                 services: Services = Depends(services_of)):
    """The token, shown once as an enrollment sheet: its QR code carries the service's address with it.

    The mairie is chosen from the list (by its id): a token never creates one (the *Mairies* page does).
    """
    site_id = site_id.strip()[:64]
    if not site_id:
        return _no_site_chosen(request, services, account)
    try:
        issued = enrollment.issue_token(services, site_id, created_by=account.username)
    except enrollment.UnknownSite:  # gone since the list was shown, or a forged form
        return _no_site_chosen(request, services, account)
    with services.db() as db, db.begin():
        audit.record(db, actor=account.username, role=account.role, action="create_token", detail=issued.site_name,
                     ip=client_address(request))
    central_url = str(request.base_url).rstrip("/")
    # The code carries the service's address with the token: a blank kiosk's camera needs nothing else.
    image = io.BytesIO()
    qrcode.make(format_code(central_url, issued.token), border=4, box_size=8).save(image)
    qr = "data:image/png;base64," + base64.b64encode(image.getvalue()).decode()
    return page(request, "tokens.html", account, sites=_sites(services), token=issued.token, qr=qr,
                site=issued.site_name, expires_at=issued.expires_at,
                command=f"kiosk provision --central {central_url} --token {issued.token}")


# -- the mairies' settings ------------------------------------------------------------------

#: The pseudo-id of the « Ajouter une mairie » form in the page (no mairie's id has an underscore first).
NEW_SITE = "_nouvelle"


def _sites_page(request: Request, services: Services, account: Account, status_code: int = 200,
                failed: dict | None = None):
    """``failed``: the site id (:data:`NEW_SITE` for the new one), the refused form as typed and the
    :class:`sites.SiteError`."""
    with services.db() as db:
        rows = sites.list_sites(db)
        texts = {s.id: reasons.as_text(reasons.for_site(s)) for s in db.scalars(select(Site))}
    if failed and failed["id"] == NEW_SITE:
        error = f"La mairie n'est pas ajoutée. {failed['error']}"
    else:
        error = f"« {failed['name']} » n'est pas enregistrée. {failed['error']}" if failed else None
    blank = {"name": "", "address": "", "opening_hours": "", "default_language": sites.DEFAULT_LANGUAGE,
             "timezone": sites.DEFAULT_ZONE}
    return page(request, "sites.html", account, status_code, rows=rows, failed=failed or {}, error=error,
                reasons_text=texts, NEW_SITE=NEW_SITE, blank=blank,
                limits={"name": sites.NAME_MAX, "address": sites.ADDRESS_MAX, "hours": sites.HOURS_MAX,
                        "reason": reasons.MAX_REASON},
                ZONES=sites.FRENCH_ZONES)


@router.get("/sites")
def sites_page(request: Request, account: Account = Depends(require(*SETUP)),
               services: Services = Depends(services_of)):
    return _sites_page(request, services, account)


@router.post("/sites")
def create_site(request: Request, account: Account = Depends(posted(*SETUP)), name: str = Form(""),
                address: str = Form(""), opening_hours: str = Form(""),
                default_language: str = Form(sites.DEFAULT_LANGUAGE),
                timezone_: str = Form("", alias="timezone"), services: Services = Depends(services_of)):
    """« Ajouter une mairie »: the one way the console adds one (an enrollment token only picks one)."""
    try:
        with services.db() as db, db.begin():
            site = sites.create_site(db, actor=account.username, role=account.role, ip=client_address(request), name=name,
                                     address=address, opening_hours=opening_hours,
                                     default_language=default_language, timezone=timezone_ or sites.DEFAULT_ZONE)
            site_id = site.id
    except sites.SiteError as exc:
        form = {"name": name[:sites.NAME_MAX], "address": address[:sites.ADDRESS_MAX],
                "opening_hours": opening_hours[:sites.HOURS_MAX], "default_language": default_language[:8],
                "timezone": timezone_[:64]}
        return _sites_page(request, services, account, 400, {"id": NEW_SITE, "name": "", "form": form,
                                                             "field": exc.field, "error": str(exc)})
    return redirect(f"/console/admin/sites?ok=site_created#mairie-{quote(site_id)}")


@router.post("/sites/{site_id}")
def edit_site(request: Request, site_id: str, account: Account = Depends(posted(*SETUP)), name: str = Form(""),
              address: str = Form(""), opening_hours: str = Form(""), default_language: str = Form(""),
              timezone_: str = Form("", alias="timezone"), return_reasons_fr: str | None = Form(None),
              return_reasons_en: str | None = Form(None), services: Services = Depends(services_of)):
    """A mairie's settings; its return reasons too when the form sends them (one a line, English aligned)."""
    given_reasons = None if return_reasons_fr is None else (return_reasons_fr, return_reasons_en or "")
    current_name = ""
    try:
        with services.db() as db, db.begin():
            site = db.get(Site, site_id[:64])
            if site is None:
                raise review.NotFound("Cette mairie n'existe pas.")
            current_name = site.name
            changed = sites.edit_site(db, site, actor=account.username, role=account.role, ip=client_address(request),
                                      name=name, address=address, opening_hours=opening_hours,
                                      default_language=default_language, timezone=timezone_ or None,
                                      return_reasons=given_reasons)
    except sites.SiteError as exc:
        form = {"name": name[:sites.NAME_MAX], "address": address[:sites.ADDRESS_MAX],
                "opening_hours": opening_hours[:sites.HOURS_MAX], "default_language": default_language[:8],
                "timezone": timezone_[:64], "return_reasons_fr": (return_reasons_fr or "")[:sites.REASONS_TEXT_MAX],
                "return_reasons_en": (return_reasons_en or "")[:sites.REASONS_TEXT_MAX]}
        return _sites_page(request, services, account, 400, {"id": site_id, "name": current_name, "form": form,
                                                             "field": exc.field, "error": str(exc)})
    return redirect(f"/console/admin/sites?ok={'site' if changed else 'unchanged'}#mairie-{quote(site_id)}")
