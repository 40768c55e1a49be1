"""A kiosk's call for help, on the agents' side: the banner's polling and « J'arrive » (``central.help_requests``).

The banner itself is drawn with every page (``central.console.pages.page``);
its script asks :func:`help_json` every few seconds and redraws it from the
HTML this answer carries, item by item.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse

from central import help_requests, review
from central.accounts import Account
from central.clients import client_address
from central.console.access import REVIEWERS, polling_reviewer, posted, services_of
from central.console.pages import FR, PREFIX, TEMPLATES, fr_since, help_views, redirect, safe_next, with_notice
from central.context import Services
from central.models import Role

#: The notice after « J'arrive », by outcome of :func:`central.help_requests.acknowledge`.
HELP_NOTICES = {"acknowledged": "help", "taken": "help_taken", "closed": "help_closed"}

router = APIRouter(prefix=PREFIX)


def _payload(account: Account, views: list[help_requests.HelpView], here: str) -> dict:
    """What the banner's script re-renders from: each request's facts and its HTML, and the whole banner."""
    macros = TEMPLATES.env.get_template("_help.html").module
    show_site = account.role == Role.SUPERVISOR.value
    return {
        "requests": [{
            "id": v.id, "key": v.key, "kiosk_code": v.kiosk_code, "site": v.site_name, "screen": v.screen,
            "screen_label": v.screen_label, "state": v.state, "unreachable": v.unreachable,
            "waiting_s": round(v.waiting_s), "on_screen_s": round(v.on_screen_s), "silent_s": round(v.silent_s),
            "since": {"waiting": fr_since(v.waiting_s), "on_screen": fr_since(v.on_screen_s),
                      "silent": fr_since(v.silent_s)},
            "acknowledged_by": v.acknowledged_by,
            "acknowledged_at": v.clock(v.acknowledged_at) if v.acknowledged_at else None,
            "html": str(macros.item(v, account.csrf, here, show_site)),
        } for v in views],
        "banner": str(macros.banner(views, account.csrf, here, show_site)) if views else "",
    }


@router.get("/help.json")
def help_json(request: Request, next: str = "", account: Account = Depends(polling_reviewer)):
    """The banner's polling: the same scope as the pages, and it does not keep an idle session alive."""
    return JSONResponse(_payload(account, help_views(request, account), safe_next(next) or "/console/"))


@router.post("/help/{request_id}/acknowledge")
def acknowledge_help(request: Request, request_id: str, account: Account = Depends(posted(*REVIEWERS)),
                     next: str = Form(""), services: Services = Depends(services_of)):
    """« J'arrive »: a plain form (back to the page it came from), or the script's fetch (JSON answer)."""
    try:
        with services.db() as db, db.begin():
            outcome = help_requests.acknowledge(db, account, request_id, services.now(),
                                                ip=client_address(request))
    except help_requests.UnknownRequest:
        raise review.NotFound("Cette demande d'aide n'existe pas ou ne concerne pas votre mairie.") from None
    back = safe_next(next) or "/console/"
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"outcome": outcome, "message": FR(f"notice.{HELP_NOTICES[outcome]}"),
                             **_payload(account, help_views(request, account), back)})
    return redirect(with_notice(back, HELP_NOTICES[outcome]) + "#aide")
