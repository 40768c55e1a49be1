"""A citizen's « Besoin d'aide ? » at a kiosk: what the kiosk reports, what the agents see, « J'arrive ».

The kiosk's sync worker reports a request when the citizen asks, then every
couple of seconds while it is open (that is how it learns an agent has
answered), and once more closed. Each report is an idempotent upsert keyed
by the id the kiosk made, and only that kiosk may update its row. Nothing
personal crosses: which kiosk, which screen, for how long.

The kiosk's clock is not trusted (a Raspberry Pi has no battery-backed
clock): it sends durations, and every time stored here is the service's own
(``Services.clock``, which tests replace). A request the kiosk has stopped
updating is shown as unreachable after :data:`UNREACHABLE_AFTER`, and no
longer shown after :data:`HIDDEN_AFTER` (the row is kept).

The caller of :func:`acknowledge` owns the transaction; :func:`report`
makes its own, like the other device calls.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central import audit
from central.context import Services
from central.models import Device, HelpRequest, HelpState, Role, Site, User
from titres.protocol import ProtocolError
from titres.timezones import time_zone

#: The kiosk's screens (``kiosk.core.session.Step``) as an agent reads them in the banner.
SCREENS = {
    "welcome": "Accueil",
    "identify": "Identification de la pré-demande",
    "looking_up": "Recherche de la pré-demande",
    "confirm": "Vérification de la pré-demande",
    "questions": "Questions",
    "checklist": "Liste des pièces",
    "capture": "Photo des pièces",
    "stamp": "Timbre fiscal",
    "fingerprints": "Empreintes",
    "signature": "Signature",
    "summary": "Récapitulatif",
    "submitting": "Enregistrement du dossier",
    "printing": "Impression du reçu",
    "receipt_failed": "Reçu non imprimé",
    "end": "Fin",
}
REPORT_KEYS = frozenset({"id", "state", "screen", "waiting_s", "on_screen_s"})
#: A report is about 150 bytes; anything much bigger is not one.
MAX_REPORT_BYTES = 1024
#: The longest wait or time on a screen a kiosk may report (a day: beyond, it is a broken clock or counter).
MAX_SECONDS = 86_400
UNREACHABLE_AFTER = timedelta(seconds=60)
HIDDEN_AFTER = timedelta(minutes=30)
DEVICE_ROLE = "device"
_ID = re.compile(r"^[0-9a-f]{32}$")
_LIVE = (HelpState.OPEN.value, HelpState.ACKNOWLEDGED.value)


# -- what a kiosk sends ------------------------------------------------------------------

@dataclass(frozen=True)
class Report:
    id: str
    state: str  # "open" or "closed"
    screen: str
    waiting_s: float
    on_screen_s: float


def _malformed(detail: str) -> ProtocolError:
    return ProtocolError("malformed_help", detail)


def _seconds(value: Any, name: str) -> float:
    # The range test also refuses NaN and the infinities (every comparison with NaN is false).
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_SECONDS:
        raise _malformed(f"{name} is a number of seconds from 0 to {MAX_SECONDS}")
    return float(value)


def _no_constant(name: str):
    raise _malformed(f"{name} is not a number JSON allows")


def parse_report(body: bytes) -> Report:
    """Check a report strictly (exact keys, known screen, bounded finite numbers); raise ProtocolError."""
    try:
        data = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, ProtocolError):
            raise
        raise ProtocolError("malformed_json", "the body is not JSON") from None
    if not isinstance(data, dict):
        raise _malformed("a help request is a JSON object")
    if set(data) != REPORT_KEYS:
        missing, extra = REPORT_KEYS - set(data), set(data) - REPORT_KEYS
        raise _malformed(f"missing {sorted(missing)}, unexpected {sorted(extra)[:5]}")
    if not isinstance(data["id"], str) or not _ID.match(data["id"]):
        raise _malformed("id is 32 lower-case hexadecimal characters")
    if data["state"] not in (HelpState.OPEN.value, HelpState.CLOSED.value):
        raise _malformed("state is 'open' or 'closed'")
    if not isinstance(data["screen"], str) or data["screen"] not in SCREENS:
        raise _malformed(f"screen is one of {', '.join(SCREENS)}")
    return Report(data["id"], data["state"], data["screen"], _seconds(data["waiting_s"], "waiting_s"),
                  _seconds(data["on_screen_s"], "on_screen_s"))


def report(services: Services, device: Device, msg: Report) -> dict[str, Any]:
    """Record a kiosk's report and answer what the kiosk shows: open, acknowledged or closed."""
    try:
        return _report(services, device, msg)
    except IntegrityError:  # the same new id reported through two API processes at once: it exists now
        return _report(services, device, msg)


def _report(services: Services, device: Device, msg: Report) -> dict[str, Any]:
    now = services.now()
    on_screen_since = now - timedelta(seconds=msg.on_screen_s)
    closing = msg.state == HelpState.CLOSED.value
    with services.db() as db, db.begin():
        row = db.get(HelpRequest, msg.id, with_for_update=True)
        if row is not None and row.device_id != device.id:
            raise ProtocolError("conflict", "this help request id belongs to another kiosk")
        if row is None:
            row = HelpRequest(id=msg.id, device_id=device.id, site_id=device.site_id, screen=msg.screen,
                              raised_at=now - timedelta(seconds=msg.waiting_s), screen_since=on_screen_since,
                              state=HelpState.CLOSED.value if closing else HelpState.OPEN.value,
                              closed_at=now if closing else None, updated_at=now)
            db.add(row)
            db.flush()  # the primary key decides between two first reports of one id
            if not closing:
                _supersede(db, device, row.id, now)
            _audit(db, device, "help_closed" if closing else "help_raised", row)
        elif row.state != HelpState.CLOSED.value:  # a closed request stays closed, whatever comes late
            row.updated_at = now
            if msg.screen != row.screen:
                row.screen, row.screen_since = msg.screen, on_screen_since
            if closing:
                row.state, row.closed_at = HelpState.CLOSED.value, now
                _audit(db, device, "help_closed", row)
        return answer(row, now)


def _supersede(db: Session, device: Device, newest: str, now: datetime) -> None:
    """A kiosk serves one citizen at a time: a new request closes the ones its restart left open."""
    stale = list(db.scalars(select(HelpRequest).where(HelpRequest.device_id == device.id, HelpRequest.id != newest,
                                                      HelpRequest.state.in_(_LIVE))))
    for row in stale:
        row.state, row.closed_at = HelpState.CLOSED.value, now
        _audit(db, device, "help_closed", row, "remplacée par une nouvelle demande de la borne")


def _audit(db: Session, device: Device, action: str, row: HelpRequest, note: str = "") -> None:
    detail = f"demande {row.id}, borne {device.kiosk_code}, écran {row.screen}" + (f" ; {note}" if note else "")
    audit.record(db, actor=device.kiosk_code, role=DEVICE_ROLE, action=action, detail=detail)


def answer(row: HelpRequest, now: datetime) -> dict[str, Any]:
    """The kiosk's answer: no agent's name (the kiosk only says "Un agent arrive")."""
    ago = None
    if row.acknowledged_at is not None:
        ago = max(0, int((now - row.acknowledged_at).total_seconds()))
    return {"id": row.id, "state": row.state, "acknowledged_at_s_ago": ago}


# -- what agents see ------------------------------------------------------------------------

@dataclass(frozen=True)
class HelpView:
    """One live request as the banner and the fleet view show it, at ``now``."""

    id: str
    device_id: str
    kiosk_code: str
    site_id: str
    site_name: str
    site_zone: str
    screen: str
    state: str
    raised_at: datetime
    screen_since: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None  # the agent's full name, or their username
    now: datetime

    @property
    def screen_label(self) -> str:
        return SCREENS.get(self.screen, self.screen)

    @property
    def acknowledged(self) -> bool:
        return self.state == HelpState.ACKNOWLEDGED.value

    @property
    def waiting_s(self) -> float:
        return max(0.0, (self.now - self.raised_at).total_seconds())

    @property
    def on_screen_s(self) -> float:
        return max(0.0, (self.now - self.screen_since).total_seconds())

    @property
    def silent_s(self) -> float:
        return max(0.0, (self.now - self.updated_at).total_seconds())

    @property
    def unreachable(self) -> bool:
        return self.now - self.updated_at > UNREACHABLE_AFTER

    def clock(self, at: datetime) -> str:
        """« 10 h 42 » in the mairie's own time zone."""
        local = at.astimezone(time_zone(self.site_zone))  # checked when the mairie's zone was set
        return f"{local.hour} h {local.minute:02d}"

    @property
    def key(self) -> str:
        """What, when it changes, is worth saying again to a screen reader (durations are not)."""
        return ":".join((self.id, self.state, self.screen, "unreachable" if self.unreachable else "live",
                         self.acknowledged_by or ""))


def may_see(account, site_id: str) -> bool:
    """Agents see their own mairie's kiosks, supervisors every mairie's; other roles none."""
    return account.role == Role.SUPERVISOR.value or (account.role == Role.AGENT.value
                                                     and account.site_id is not None and account.site_id == site_id)


def _live(now: datetime) -> Select:
    return (select(HelpRequest, Device.kiosk_code, Site.name, Site.timezone, User.full_name, User.username)
            .join(Device, Device.id == HelpRequest.device_id)
            .join(Site, Site.id == HelpRequest.site_id)
            .outerjoin(User, User.id == HelpRequest.acknowledged_by)
            .where(HelpRequest.state.in_(_LIVE), HelpRequest.updated_at >= now - HIDDEN_AFTER,
                   Device.revoked_at.is_(None))
            .order_by(HelpRequest.raised_at, HelpRequest.id))


def _view(row, now: datetime) -> HelpView:
    request, kiosk_code, site_name, zone, full_name, username = row
    return HelpView(id=request.id, device_id=request.device_id, kiosk_code=kiosk_code, site_id=request.site_id,
                    site_name=site_name, site_zone=zone, screen=request.screen, state=request.state,
                    raised_at=request.raised_at, screen_since=request.screen_since, updated_at=request.updated_at,
                    acknowledged_at=request.acknowledged_at,
                    acknowledged_by=(full_name or username) if request.acknowledged_by is not None else None, now=now)


def visible_to(db: Session, account, now: datetime) -> list[HelpView]:
    """The live requests this account's banner shows, the longest waiting first."""
    if account.role == Role.SUPERVISOR.value:
        q = _live(now)
    elif account.role == Role.AGENT.value and account.site_id:
        q = _live(now).where(HelpRequest.site_id == account.site_id)
    else:
        return []
    return [_view(row, now) for row in db.execute(q)]


def by_device(db: Session, now: datetime) -> dict[str, HelpView]:
    """For the fleet view: each kiosk's live request, the most recent if there were several."""
    return {view.device_id: view for view in (_view(row, now) for row in db.execute(_live(now)))}


class UnknownRequest(LookupError):
    """No such request, or not one this account may see (the same answer for both)."""


def acknowledge(db: Session, account, request_id: str, now: datetime, ip: str = "") -> str:
    """« J'arrive »: ``acknowledged``, or ``taken`` (a colleague answered first), or ``closed``.

    One conditional UPDATE: two agents pressing at once, only one is named.
    """
    row = db.get(HelpRequest, str(request_id)[:32])
    if row is None or not may_see(account, row.site_id):
        raise UnknownRequest(request_id)
    won = db.execute(update(HelpRequest)
                     .where(HelpRequest.id == row.id, HelpRequest.state == HelpState.OPEN.value)
                     .values(state=HelpState.ACKNOWLEDGED.value, acknowledged_at=now, acknowledged_by=account.id)
                     .execution_options(synchronize_session=False)).rowcount == 1
    db.refresh(row)
    if won:
        kiosk_code = db.scalar(select(Device.kiosk_code).where(Device.id == row.device_id))
        audit.record(db, actor=account.username, role=account.role, action="help_acknowledged",
                     detail=f"demande {row.id}, borne {kiosk_code}, écran {row.screen}", ip=ip)
        return "acknowledged"
    return "taken" if row.state == HelpState.ACKNOWLEDGED.value else "closed"
