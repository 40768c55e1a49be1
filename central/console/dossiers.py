"""The agents' work: the queue, a dossier's page and images, verdicts, validation and return.

``central.review`` decides who sees which dossier and what a decision
needs; these routes only ask it and draw the answer. The page and the
images are open to any signed-in account so that review's own refusal
("Votre rôle ne donne pas accès aux dossiers des usagers.") is what a
technician reads; decisions are for agents and supervisors.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from central import audit, review, worklist
from central.accounts import Account
from central.console.access import REVIEWERS, has_role, ip_of, posted, require, services_of
from central.console.pages import PREFIX, error_page, home, page, redirect
from central.context import Services
from central.ingest import read_attachment
from central.models import DossierEvent, Role, Site
from titres.protocol import ProtocolError

router = APIRouter(prefix=PREFIX)


@router.get("")
def console_root():
    return redirect("/console/")


@router.get("/")
def queue_page(request: Request, account: Account = Depends(require()), services: Services = Depends(services_of)):
    """The worklist: the filters of the query string (``central.worklist.Filters``), a scanned number opens its
    dossier; a filter it cannot read is a 400 page that keeps what was typed."""
    if not has_role(account, REVIEWERS):
        return redirect(home(account))
    supervisor = account.role == Role.SUPERVISOR.value
    with services.db() as db:
        sites = dict(db.execute(select(Site.id, Site.name).order_by(Site.name)).all())
        kiosks = worklist.kiosks(db, account)
        context = {"sites": sites, "kiosks": kiosks, "supervisor": supervisor,
                   "site_name": sites.get(account.site_id or "", ""), "SORT_LABELS": worklist.SORT_LABELS,
                   "ALERT_LABELS": worklist.ALERT_LABELS}
        try:
            filters = worklist.Filters.parse(request.query_params)
        except worklist.InvalidFilter as exc:
            typed = {k: v[:100] for k, v in request.query_params.items()}
            return page(request, "queue.html", account, 400, error=str(exc), result=None, filters=None,
                        form=typed, **context)
        result = worklist.worklist(db, account, filters, services.now())
        if result.by_number and len(result.rows) == 1:
            return redirect(f"/console/dossiers/{result.rows[0].dossier.id}")
        return page(request, "queue.html", account, result=result, filters=result.filters,
                    form=result.filters.params(), **context)


def _dossier_page(request: Request, services: Services, account: Account, dossier_id: str, error: str | None = None,
                  status_code: int = 200):
    with services.db() as db, db.begin():
        dossier = review.get_for_user(db, account, dossier_id)
        audit.record(db, actor=account.username, role=account.role, action="open_dossier",
                     dossier_id=dossier.id, ip=ip_of(request))
        given = review.verdicts(db, dossier.id)
        missing, refused = review.missing_verdicts(db, dossier)
        content = dossier.content or {}
        documents = {d.get("requirement"): d for d in content.get("documents", [])}
        stamps = {s.get("requirement"): s for s in content.get("stamps", [])}
        conditional = review.conditional_items(dossier)
        items = [{"id": rid, "label": review.requirement_label(dossier, rid), "document": documents.get(rid),
                  "stamp": stamps.get(rid), "verdict": given.get(rid), "conditional": rid in conditional,
                  "condition": review.requirement_condition(dossier, rid)}
                 for rid in review.requirements(dossier)]
        fingers = [{**f, "label": review.finger_label(str(f.get("finger"))),
                    "status_label": review.FINGER_STATUS.get(f.get("status"), f.get("status"))}
                   for f in content.get("fingerprints", [])]
        events = list(db.scalars(select(DossierEvent).where(DossierEvent.dossier_id == dossier.id)
                                 .order_by(DossierEvent.at, DossierEvent.id)))
        site = db.get(Site, dossier.site_id)
        return page(request, "dossier.html", account, status_code, dossier=dossier, error=error,
                    items=items, fingers=fingers, events=events, site=site,
                    predemande=review.predemande_fields(db, dossier), answers=review.answers(dossier),
                    missing=[review.requirement_label(dossier, r) for r in missing],
                    refused=[review.requirement_label(dossier, r) for r in refused],
                    signature=content.get("signature"), signer=content.get("signer"))


@router.get("/dossiers/{dossier_id}")
def dossier_page(request: Request, dossier_id: str, account: Account = Depends(require()),
                 services: Services = Depends(services_of)):
    return _dossier_page(request, services, account, dossier_id)


@router.get("/dossiers/{dossier_id}/attachments/{name:path}")
def attachment(request: Request, dossier_id: str, name: str, account: Account = Depends(require()),
               services: Services = Depends(services_of)):
    """An image the page shows, sent only once its audit line is committed."""
    with services.db() as db, db.begin():
        dossier = review.get_for_user(db, account, dossier_id)
        kind = review.attachment_kind(dossier, name)
        if kind is None:
            raise review.NotFound("Cette pièce n'existe pas dans ce dossier.")
        try:
            media_type, data = read_attachment(services, dossier, name)
        except (KeyError, ProtocolError):
            return error_page(request, 500, "Pièce illisible", "Cette pièce ne peut pas être ouverte "
                              "(intégrité). Prévenez l'administrateur.", account)
        audit.record(db, actor=account.username, role=account.role, action=review.audit_action(kind),
                     dossier_id=dossier.id, detail=name, ip=ip_of(request))
    if media_type not in ("image/jpeg", "image/png"):
        media_type = "application/octet-stream"
    return Response(data, media_type=media_type, headers={"Cache-Control": "no-store",
                                                          "Content-Disposition": "inline"})


def _decision(request: Request, services: Services, account: Account, dossier_id: str, work, done: str,
              anchor: str = ""):
    """Run ``work(db)`` in one transaction; a refusal redraws the dossier with its reason, a success goes back to it."""
    try:
        with services.db() as db, db.begin():
            work(db)
    except review.InvalidAction as exc:
        return _dossier_page(request, services, account, dossier_id, str(exc), 400)
    return redirect(f"/console/dossiers/{dossier_id}?ok={done}{anchor}")


@router.post("/dossiers/{dossier_id}/verdicts")
def verdict(request: Request, dossier_id: str, account: Account = Depends(posted(*REVIEWERS)),
            requirement: str = Form(""), verdict: str = Form(""), comment: str = Form(""),
            services: Services = Depends(services_of)):
    requirement = requirement[:64]
    return _decision(request, services, account, dossier_id,
                     lambda db: review.set_verdict(db, account, dossier_id, requirement, verdict[:24], comment,
                                                   ip=ip_of(request)),
                     "verdict", f"#piece-{requirement}")


@router.post("/dossiers/{dossier_id}/approve")
def approve(request: Request, dossier_id: str, account: Account = Depends(posted(*REVIEWERS)),
            services: Services = Depends(services_of)):
    return _decision(request, services, account, dossier_id,
                     lambda db: review.approve(db, account, dossier_id, ip=ip_of(request)), "approved")


@router.post("/dossiers/{dossier_id}/return")
def return_dossier(request: Request, dossier_id: str, account: Account = Depends(posted(*REVIEWERS)),
                   reasons: str = Form(""), services: Services = Depends(services_of)):
    return _decision(request, services, account, dossier_id,
                     lambda db: review.return_(db, account, dossier_id, reasons, ip=ip_of(request)), "returned")
