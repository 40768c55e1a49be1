"""The fleet: every kiosk's last contact, queue, self-test and call for help; revoking a kiosk (``central.fleet``)."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Form, Request

from central import appointments, audit, enrollment, fleet, help_requests, review
from central.accounts import Account
from central.clients import client_address
from central.console.access import FLEET, SETUP, has_role, posted, require, services_of
from central.console.pages import PREFIX, error_page, page, redirect
from central.context import Services

router = APIRouter(prefix=f"{PREFIX}/fleet")


@router.get("")
def fleet_page(request: Request, account: Account = Depends(require(*FLEET)),
               services: Services = Depends(services_of)):
    now = datetime.now(timezone.utc)
    kiosks = fleet.fleet(services)
    with services.db() as db:
        help_by_device = help_requests.by_device(db, services.now())
        agency = appointments.backlog(db) if services.ants is not None else None
    return page(request, "fleet.html", account, kiosks=kiosks, now=now, offline_after=fleet.OFFLINE_AFTER,
                can_revoke=has_role(account, SETUP), help_by_device=help_by_device, agency=agency)


@router.post("/{device_id}/revoke")
def revoke(request: Request, device_id: str, account: Account = Depends(posted(*SETUP)), confirm: str = Form(""),
           services: Services = Depends(services_of)):
    if confirm != "1":
        return error_page(request, 400, "Révocation non confirmée", "Cochez « Confirmer » pour révoquer une borne.",
                          account)
    if not enrollment.revoke_device(services, device_id[:64], account.username):
        raise review.NotFound("Cette borne n'existe pas.")
    with services.db() as db, db.begin():
        audit.record(db, actor=account.username, role=account.role, action="revoke_device",
                     detail=device_id[:64], ip=client_address(request))
    return redirect("/console/fleet?ok=revoked")
