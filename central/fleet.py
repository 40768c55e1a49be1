"""Heartbeats from kiosks, and the fleet as technicians see it.

A heartbeat carries only non-personal facts (queue depth by state, oldest
queued age, software version, self-test summary) plus the numbers and
sealed status stubs of dossiers still waiting on the kiosk, so the citizen's
status page can say "captured" before the upload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from central.context import Services
from central.ingest import note_captured
from central.models import Device, Site
from central.reasons import one_line
from titres.protocol import ProtocolError

OFFLINE_AFTER = timedelta(minutes=15)
MAX_CAPTURED = 500
#: The states of a kiosk's outbox a heartbeat counts (``kiosk.sync.outbox.State``).
STATES = ("queued", "uploading", "acknowledged", "purged", "corrupt")


def _int(value: Any, name: str, high: int = 10**9) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise ProtocolError("malformed_heartbeat", f"{name} must be an integer from 0 to {high}")
    return value


def _text(value: Any, limit: int) -> str:
    """A heartbeat's text as the fleet view shows it: a string or a number, on one line, where a NUL, a lone
    surrogate or a control character becomes a space (a page could not print them), cut to ``limit``. Anything
    else is no text (its printed form could nest deeper than anything prints)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""
    return one_line(str(value))[:limit]


def record_heartbeat(services: Services, device: Device, body: Any) -> None:
    if not isinstance(body, dict):
        raise ProtocolError("malformed_heartbeat", "a heartbeat is a JSON object")
    queue = body.get("queue", {})
    if not isinstance(queue, dict) or not set(queue) <= set(STATES):
        raise ProtocolError("malformed_heartbeat", f"queue counts by state, states among {STATES}")
    clean = {
        "queue": {k: _int(v, f"queue.{k}") for k, v in queue.items()},
        "oldest_queued_age_s": _int(body.get("oldest_queued_age_s", 0), "oldest_queued_age_s"),
        "free_bytes": _int(body.get("free_bytes", 0), "free_bytes", 2**60),
        "corrupt": [_text(x, 36) for x in body.get("corrupt", [])][:50] if isinstance(body.get("corrupt", []), list) else [],
        "last_error": _text(body.get("last_error") or "", 300),
    }
    selftest = body.get("selftest")
    ok = None
    if isinstance(selftest, dict):
        devices = selftest.get("devices", {})
        if isinstance(devices, dict):
            clean["selftest"] = {_text(k, 32): _text(v, 120) for k, v in list(devices.items())[:16]}
        ok = bool(selftest.get("ok"))
    captured = body.get("captured", [])
    if not isinstance(captured, list) or len(captured) > MAX_CAPTURED:
        raise ProtocolError("malformed_heartbeat", f"captured is a list of at most {MAX_CAPTURED}")
    now = datetime.now(timezone.utc)
    with services.db() as db, db.begin():
        row = db.get(Device, device.id)
        row.last_seen_at = now
        row.software_version = _text(body.get("software_version", ""), 40)
        row.heartbeat = clean
        if ok is not None:
            row.selftest_ok, row.selftest_at = ok, now
        for item in captured:
            if isinstance(item, dict) and all(isinstance(item.get(k), str) for k in ("id", "number", "status_stub")):
                note_captured(services, db, device, item["id"][:36], item["number"][:16], item["status_stub"][:1024])


@dataclass(frozen=True)
class KioskView:
    device_id: str
    site: str
    kiosk_code: str
    hostname: str
    last_seen_at: datetime | None
    online: bool
    software_version: str
    queue: dict[str, int]
    oldest_queued_age_s: int
    selftest_ok: bool | None
    selftest_at: datetime | None
    selftest: dict[str, str]
    revoked: bool
    corrupt: list[str]


def fleet(services: Services) -> list[KioskView]:
    now = datetime.now(timezone.utc)
    with services.db() as db:
        rows = db.execute(select(Device, Site.name).join(Site, Site.id == Device.site_id)
                          .order_by(Site.name, Device.kiosk_code)).all()
    out = []
    for device, site_name in rows:
        hb = device.heartbeat or {}
        out.append(KioskView(
            device_id=device.id, site=site_name, kiosk_code=device.kiosk_code, hostname=device.hostname,
            last_seen_at=device.last_seen_at,
            online=device.last_seen_at is not None and now - device.last_seen_at < OFFLINE_AFTER,
            software_version=device.software_version, queue=hb.get("queue", {}),
            oldest_queued_age_s=hb.get("oldest_queued_age_s", 0), selftest_ok=device.selftest_ok,
            selftest_at=device.selftest_at, selftest=hb.get("selftest", {}), revoked=device.revoked_at is not None,
            corrupt=hb.get("corrupt", []),
        ))
    return out
