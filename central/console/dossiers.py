"""The agents' work: the queue, a dossier's page and images, verdicts, validation and return.

``central.review`` decides who sees which dossier and what a decision
needs; these routes only ask it and draw the answer. The page and the
images are open to any signed-in account so that review's own refusal
("Votre rôle ne donne pas accès aux dossiers des usagers.") is what a
technician reads; decisions are for agents and supervisors.
"""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from central import agency, ants, appointments, audit, mail, reasons, review, worklist
from central.accounts import Account
from central.clients import client_address
from central.console.access import REVIEWERS, has_role, polled_form, posted, require, services_of
from central.console.pages import FR, PREFIX, TEMPLATES, error_page, fr_datetime, home, page, redirect
from central.context import Services
from central.ingest import read_attachment
from central.models import DossierEvent, DossierState, MailState, Role, Site
from titres.protocol import ProtocolError

router = APIRouter(prefix=PREFIX)
#: The dossiers an audit line of a worklist names by id (the detail is cut at 2,000 characters).
LISTED_IN_AUDIT = 40
#: How long the agent's browser keeps an image it was shown (a working day); the address names the content.
IMAGE_MAX_AGE = 8 * 3600


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
    now = services.now()
    with services.db() as db:
        sites = dict(db.execute(select(Site.id, Site.name).order_by(Site.name)).all())
        kiosks = worklist.kiosks(db, account)
        context = {"sites": sites, "kiosks": kiosks, "supervisor": supervisor,
                   "site_name": sites.get(account.site_id or "", ""), "SORT_LABELS": worklist.SORT_LABELS,
                   "ALERT_LABELS": worklist.ALERT_LABELS, "now": now}
        try:
            filters = worklist.Filters.parse(request.query_params)
        except worklist.InvalidFilter as exc:
            typed = {k: v[:100] for k, v in request.query_params.items()}
            return page(request, "queue.html", account, 400, error=str(exc), result=None, filters=None,
                        form=typed, **context)
        result = worklist.worklist(db, account, filters, now)
        _audit_listing(db, request, account, filters, result)
        if result.by_number and len(result.rows) == 1:
            return redirect(f"/console/dossiers/{result.rows[0].dossier.id}")
        return page(request, "queue.html", account, result=result, filters=result.filters,
                    form=result.filters.params(), **context)


def _audit_listing(db, request: Request, account: Account, filters: worklist.Filters, result) -> None:
    """A list of dossiers shows names and birth dates: who listed which, with what filters (a search, the
    name looked for) is audited like an opened dossier."""
    asked = " ; ".join(f"{key}={value}" for key, value in sorted(filters.params().items()) if value) or "par défaut"
    listed = ", ".join(row.dossier.id for row in result.rows[:LISTED_IN_AUDIT])
    if len(result.rows) > LISTED_IN_AUDIT:
        listed += f" et {len(result.rows) - LISTED_IN_AUDIT} autres"
    action = "search_dossiers" if filters.search else "list_dossiers"
    audit.record(db, actor=account.username, role=account.role, action=action, ip=client_address(request),
                 detail=f"{asked} ; {len(result.rows)} dossier(s) : {listed}")
    db.commit()


def _parts_context(services: Services, db, account: Account, dossier, now) -> dict:
    """What the page's changing parts show (``_dossier_parts.html``): drawn with the page, and again after a
    verdict saved from its script."""
    given = review.verdicts(db, dossier.id)
    missing, refused = review.missing_verdicts(db, dossier)
    content = dossier.content or {}
    documents = {d.get("requirement"): d for d in content.get("documents", [])}
    stamps = {s.get("requirement"): s for s in content.get("stamps", [])}
    conditional = review.conditional_items(dossier)
    items = []
    for rid in review.requirements(dossier):
        verdict = given.get(rid)
        rev = f"{verdict.verdict}|{verdict.agent}|{verdict.at.isoformat()}" if verdict else "-"
        items.append({"id": rid, "label": review.requirement_label(dossier, rid), "document": documents.get(rid),
                      "stamp": stamps.get(rid), "verdict": verdict, "conditional": rid in conditional,
                      "condition": review.requirement_condition(dossier, rid),
                      "rev": hashlib.sha256(rev.encode()).hexdigest()[:12]})
    events = list(db.scalars(select(DossierEvent).where(DossierEvent.dossier_id == dossier.id)
                             .order_by(DossierEvent.at, DossierEvent.id)))
    editable = dossier.state == DossierState.RECEIVED.value
    site = db.get(Site, dossier.site_id)
    who = review.names(db, [v.agent for v in given.values()] + [e.actor for e in events] + [dossier.decided_by])
    return {"dossier": dossier, "items": items, "events": events, "editable": editable,
            "missing": missing, "refused": refused, "now": now, "site": site, "who": who,
            "missing_labels": [review.requirement_label(dossier, r) for r in missing],
            "refused_labels": [review.requirement_label(dossier, r) for r in refused],
            "other_holder": review.held_by_other(db, account, dossier, now) if editable else None,
            "return_reasons": reasons.for_site(site), "mail_configured": bool(services.config.smtp_url),
            "contact_email": mail.recipient_of(db, dossier) is not None}


def _dossier_page(request: Request, services: Services, account: Account, dossier_id: str, error: str | None = None,
                  status_code: int = 200):
    now = services.now()
    with services.db() as db, db.begin():
        dossier = review.get_for_user(db, account, dossier_id)
        audit.record(db, actor=account.username, role=account.role, action="open_dossier",
                     dossier_id=dossier.id, ip=client_address(request))
        review.hold(db, account, dossier, now)
        content = dossier.content or {}
        fingers = [{**f, "label": review.finger_label(str(f.get("finger"))),
                    "status_label": review.FINGER_STATUS.get(f.get("status"), f.get("status"))}
                   for f in content.get("fingerprints", [])]
        context = _parts_context(services, db, account, dossier, now)
        return page(request, "dossier.html", account, status_code, error=error, fingers=fingers,
                    predemande=review.predemande_fields(db, dossier), answers=review.answers(dossier),
                    signature=content.get("signature"), signer=content.get("signer"),
                    mails=_told(services, db, dossier), agency=_agency_said(services, db, dossier),
                    duplicates=worklist.duplicates_of(db, account, dossier),
                    next_dossier=None if context["editable"] else worklist.next_dossier(db, account, dossier,
                                                                                          now=now),
                    **context)


@router.get("/dossiers/{dossier_id}")
def dossier_page(request: Request, dossier_id: str, account: Account = Depends(require()),
                 services: Services = Depends(services_of)):
    return _dossier_page(request, services, account, dossier_id)


@router.get("/dossiers/{dossier_id}/attachments/{name:path}")
def attachment(request: Request, dossier_id: str, name: str, v: str = "", account: Account = Depends(require()),
               services: Services = Depends(services_of)):
    """An image the page shows, sent only once its audit line is committed.

    A dossier's package never changes, so an address that names its hash
    (``?v=``, as the page draws it) may be kept by the agent's browser (and
    no shared cache): the page redrawn, or the image opened in the viewer,
    costs no second download nor a second audit line.
    """
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
                     dossier_id=dossier.id, detail=name, ip=client_address(request))
        immutable = v == review.image_version(dossier)
    if media_type not in ("image/jpeg", "image/png"):
        media_type = "application/octet-stream"
    cache = f"private, max-age={IMAGE_MAX_AGE}, immutable" if immutable else "no-store"
    return Response(data, media_type=media_type, headers={"Cache-Control": cache, "Content-Disposition": "inline"})


def _from_script(request: Request) -> bool:
    """The page's script asked (``static/dossier.js``): answer the changed parts in JSON, not a page."""
    return request.headers.get("x-console-fetch") == "1"


def _parts(request: Request, services: Services, account: Account, dossier_id: str, message: str,
           status_code: int = 200, kind: str = "ok") -> JSONResponse:
    """The dossier's changing parts, drawn again as they are now, for the script to swap in."""
    now = services.now()
    with services.db() as db:
        dossier = review.get_for_user(db, account, dossier_id)
        context = _parts_context(services, db, account, dossier, now)
        module = TEMPLATES.env.get_template("_dossier_parts.html").make_module({**context, "account": account})
        fragments = {f"judge-{item['id']}": str(module.judge(item)) for item in context["items"]}
        fragments.update(presence=str(module.presence()), bulk=str(module.bulk()), decision=str(module.decision()),
                         history=str(module.history()))
        return JSONResponse({"kind": kind, "message": message, "version": dossier.version,
                             "editable": dossier.state == DossierState.RECEIVED.value, "parts": fragments},
                            status_code=status_code)


def _change(request: Request, services: Services, account: Account, dossier_id: str, work, done: str,
            anchor: str = ""):
    """Run ``work(db)`` (a verdict, or a decision) in one transaction. For a form: a refusal redraws the dossier
    with its reason (409 when the page was stale or the dossier in a colleague's hands), a success goes back to
    it. For the page's script: the parts as they now are, with what happened."""
    try:
        with services.db() as db, db.begin():
            result = work(db)
    except (review.InvalidAction, reasons.ReasonsError) as exc:
        if _from_script(request):
            kind = "stale" if isinstance(exc, review.Stale) else "held" if isinstance(exc, review.Held) else "refused"
            return _parts(request, services, account, dossier_id, str(exc), 409, kind)
        return _dossier_page(request, services, account, dossier_id, str(exc), 409 if isinstance(
            exc, (review.Stale, review.Held)) else 400)
    if _from_script(request):
        return _parts(request, services, account, dossier_id, result if isinstance(result, str) else
                      FR(f"notice.{done}"))
    return redirect(f"/console/dossiers/{dossier_id}?ok={done}{anchor}")


def _version(raw: str) -> int:
    """The version the page was drawn at; a form without one is as stale as can be."""
    return int(raw) if raw.isdigit() and len(raw) < 10 else -1


@router.post("/dossiers/{dossier_id}/verdicts")
def verdict(request: Request, dossier_id: str, account: Account = Depends(posted(*REVIEWERS)),
            requirement: str = Form(""), verdict: str = Form(""), comment: str = Form(""), version: str = Form(""),
            services: Services = Depends(services_of)):
    requirement = requirement[:64]

    def work(db):
        review.set_verdict(db, account, dossier_id, requirement, verdict[:24], comment, ip=client_address(request),
                           version=_version(version), now=services.now())
        return None

    return _change(request, services, account, dossier_id, work, "verdict", f"#piece-{requirement}")


@router.post("/dossiers/{dossier_id}/verdicts/remaining")
def remaining_conforme(request: Request, dossier_id: str, account: Account = Depends(posted(*REVIEWERS)),
                       version: str = Form(""), services: Services = Depends(services_of)):
    def work(db):
        done = review.set_remaining(db, account, dossier_id, "conforme", ip=client_address(request),
                                    version=_version(version), now=services.now())
        return f"{len(done)} pièce{'s' if len(done) > 1 else ''} marquée{'s' if len(done) > 1 else ''} conforme."

    return _change(request, services, account, dossier_id, work, "verdicts", "#decision")


@router.post("/dossiers/{dossier_id}/take")
def take_over(request: Request, dossier_id: str, account: Account = Depends(posted(*REVIEWERS)),
              services: Services = Depends(services_of)):
    with services.db() as db, db.begin():
        dossier = review.get_for_user(db, account, dossier_id, lock=True)
        if dossier.state != DossierState.RECEIVED.value:
            return redirect(f"/console/dossiers/{dossier.id}")  # decided meanwhile: nothing to take
        review.hold(db, account, dossier, services.now(), take=True, ip=client_address(request))
    return redirect(f"/console/dossiers/{dossier.id}?ok=taken")


@router.post("/dossiers/{dossier_id}/presence")
def presence(request: Request, dossier_id: str, account: Account = Depends(polled_form),
             services: Services = Depends(services_of)):
    """The open page says every half-minute that it is still open (``static/dossier.js``). Asking does not keep
    an idle session open, and does not take the dossier from a colleague; it answers the dossier's version,
    so a page a colleague has changed since can say so."""
    now = services.now()
    with services.db() as db, db.begin():
        dossier = review.get_for_user(db, account, dossier_id, lock=True)
        other = review.hold(db, account, dossier, now)
        return JSONResponse({"version": dossier.version, "state": dossier.state,
                             "held_by": other.name if other else None})


def _tell(services: Services):
    """In the decision's transaction, what it tells: the citizen's mail (``central.mail``); and for a dossier sent
    back, the agency, whose appointment is removed (``central.appointments``). Both go after the commit."""
    def tell(db, dossier, kind, notice) -> None:
        mail.enqueue(db, services.config, dossier, kind, notice, services.now())
        if kind == DossierState.RETURNED.value:
            appointments.enqueue(db, services, dossier, appointments.REMOVE)
    return tell


def _agency_said(services: Services, db, dossier) -> str | None:
    """What the dossier page says of the pré-demande at the agency: its status as last seen and when, or that it
    was not checked (None: the connector is off)."""
    if services.ants is None:
        return None
    seen = agency.last_seen(db, dossier.predemande_number)
    if seen.status is None:
        return "Statut ANTS non vérifié : l'ANTS n'a pas répondu à la recherche de cette pré-demande."
    said = "validée" if seen.status == ants.VALIDATED else f"{seen.status}, ce numéro {ants.REFUSED[seen.status]}"
    return f"Statut ANTS : {said} (vu le {fr_datetime(seen.checked_at)})."


def _told(services: Services, db, dossier) -> list[str]:
    """What the decided page says of the citizen's mail: sent, waiting, failed, or why there is none."""
    if dossier.state == DossierState.RECEIVED.value:
        return []
    rows = [m for m in mail.state_for(db, dossier.id) if m.kind == dossier.state]
    if not rows:
        if not services.config.smtp_url:
            return ["Aucun courriel à l'usager : l'envoi n'est pas configuré sur ce service. "
                    "L'usager voit la décision sur sa page de suivi."]
        return ["Aucun courriel à l'usager : pas d'adresse électronique valable dans la pré-demande. "
                "L'usager voit la décision sur sa page de suivi."]
    row = rows[0]
    if row.state == MailState.SENT.value:
        return [f"Courriel envoyé à l'usager le {fr_datetime(row.sent_at)}."]
    if row.state == MailState.FAILED.value:
        return [f"Le courriel à l'usager n'a pas pu être remis ({row.last_error or 'refusé'}) : "
                "prévenez-le par téléphone."]
    return ["Courriel à l'usager en attente d'envoi" + (f" (essai {row.attempts})" if row.attempts else "") + "."]


@router.post("/dossiers/{dossier_id}/approve")
def approve(request: Request, dossier_id: str, account: Account = Depends(posted(*REVIEWERS)),
            version: str = Form(""), services: Services = Depends(services_of)):
    return _change(request, services, account, dossier_id,
                   lambda db: review.approve(db, account, dossier_id, ip=client_address(request), version=_version(version),
                                             now=services.now(), tell=_tell(services)), "approved")


@router.post("/dossiers/{dossier_id}/return")
def return_dossier(request: Request, dossier_id: str, account: Account = Depends(posted(*REVIEWERS)),
                   reason: list[str] = Form([]), note: str = Form(""), version: str = Form(""),
                   services: Services = Depends(services_of)):
    def work(db):
        dossier = review.get_for_user(db, account, dossier_id)
        notice = reasons.notice([r[:32] for r in reason[:40]], note, reasons.for_site(db.get(Site, dossier.site_id)))
        review.return_(db, account, dossier_id, notice, ip=client_address(request), version=_version(version),
                       now=services.now(), tell=_tell(services))

    return _change(request, services, account, dossier_id, work, "returned")
