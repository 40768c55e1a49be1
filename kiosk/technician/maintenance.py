"""What the maintenance screen and ``kiosk status`` tell a technician, and the actions they offer.

Everything here is plain Python over the configuration, the outbox and the
files the sync worker leaves, so the screen is a thin view and the same
facts come out of ``kiosk status`` over SSH. Each fact is gathered on its
own: a queue that cannot be read does not hide the version or the network.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from kiosk import __version__
from kiosk.config import KioskConfig
from titres.errors import KioskError
from kiosk.technician.selftest import load_summary
from kiosk.sync.status import read_status

log = logging.getLogger("kiosk.technician.maintenance")


class RecentProblems(logging.Handler):
    """The app's last warnings and errors, kept in memory for the maintenance screen.

    The journal is in RAM and read by root; the technician in front of the
    kiosk has neither a shell nor a keyboard. Only the message and a few
    safe fields are kept: logs never carry personal data (``titres.logs``).
    """

    def __init__(self, size: int = 30) -> None:
        super().__init__(level=logging.WARNING)
        self.records: deque[dict[str, Any]] = deque(maxlen=size)

    def emit(self, record: logging.LogRecord) -> None:
        # Handler.handle() holds self.lock around emit(): read under the same lock.
        detail = getattr(record, "error", None) or getattr(record, "detail", None) or ""
        self.records.append({"at": record.created, "level": record.levelname.lower(), "logger": record.name,
                             "msg": record.getMessage(), "detail": str(detail)[:300]})

    def newest_first(self) -> list[dict[str, Any]]:
        with self.lock:  # the worker reads while the UI thread logs
            return list(reversed(self.records))


def duration(seconds: float, lang: str = "fr") -> str:
    """A duration as a technician reads it: 45 s, 12 min, 26 h, 3 j (3 d in English)."""
    s = int(seconds)
    return (f"{s} s" if s < 120 else f"{s // 60} min" if s < 7200 else f"{s // 3600} h" if s < 172800
            else f"{s // 86400} {'j' if lang == 'fr' else 'd'}")


def size_text(n: int, lang: str = "fr") -> str:
    """Free space as a technician reads it: 81.6 Go, 950 Mo (GB, MB in English)."""
    g, m = ("Go", "Mo") if lang == "fr" else ("GB", "MB")
    return f"{n / 1e9:.1f} {g}" if n >= 1e9 else f"{n / 1e6:.0f} {m}"


def release_name(prefix: str = sys.prefix) -> str:
    """The installed release (``kiosk-update``'s ``releases/<version>/venv``), or ``development``."""
    venv = Path(prefix).resolve()
    return venv.parent.name if venv.parent.parent.name == "releases" else "development"


def _safely(what: str, gather: Callable[[], Any]) -> Any:
    try:
        return gather()
    except Exception as exc:  # one unreadable fact must not hide the others
        log.warning("maintenance: could not read", extra={"what": what, "error": repr(exc)})
        return {"error": f"{type(exc).__name__}: {exc}"}


def queue_facts(outbox) -> dict[str, Any]:
    counts = outbox.counts()
    return {"counts": counts, "waiting": counts["queued"] + counts["uploading"],
            "oldest_waiting_age_s": int(outbox.oldest_waiting_age_s()), "free_bytes": outbox.free_bytes(),
            "accepting": outbox.accepting()}


def status_report(config: KioskConfig, outbox=None, problems: RecentProblems | None = None) -> dict[str, Any]:
    """Every fact the technician needs, as JSON-able data with English keys."""
    sync = read_status(config.data_dir)
    report: dict[str, Any] = {
        "version": __version__, "release": release_name(),
        "kiosk_code": config.site.kiosk_code, "site": config.site.name, "site_id": config.site.site_id,
        "device_id": config.sync.device_id, "provisioned": config.sync.provisioned,
        "central_url": config.directory.central_url,
        "sync": None if sync is None else vars(sync).copy(),
        "selftest": load_summary(config),
        "disk": _safely("disk", lambda: {"free_bytes": shutil.disk_usage(config.data_dir).free}),
    }
    if outbox is not None:
        report["queue"] = _safely("queue", lambda: queue_facts(outbox))
    problems_list = problems.newest_first() if problems is not None else []
    if sync is not None and sync.last_error:
        problems_list = [{"at": sync.last_error_at, "level": "warning", "logger": "kiosk.sync",
                          "msg": "sync", "detail": sync.last_error}, *problems_list]
    report["problems"] = sorted(problems_list, key=lambda p: p["at"], reverse=True)
    return report


@dataclass(frozen=True)
class CentralCheck:
    reachable: bool
    latency_ms: float = 0.0
    error: str = ""
    service_version: str = ""


def check_central(client_factory: Callable[[], Any], clock: Callable[[], float] = time.monotonic) -> CentralCheck:
    """One unsigned request to the service: can this kiosk reach it right now, and how fast."""
    started = clock()
    try:
        info = client_factory().service_info()
    except (KioskError, OSError) as exc:
        return CentralCheck(False, error=getattr(exc, "detail", "") or str(exc))
    return CentralCheck(True, latency_ms=(clock() - started) * 1000, service_version=str(info.get("version", "")))


class MaintenanceAccess:
    """When the technician's side may open, and when it closes by itself. The app asks, then shows.

    ``closed`` (the citizens' screens), ``asking`` (the PIN pad over the
    welcome screen) or ``open`` (the maintenance screen). Only from the
    welcome screen: nothing of a citizen is ever behind either. Left alone,
    the pad goes away after ``pin_idle_s`` and the screen closes after
    ``idle_exit_s``: a technician who walks away leaves a locked kiosk.
    """

    def __init__(self, settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self.state = "closed"
        self._last_touch = clock()

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    def touched(self) -> None:
        self._last_touch = self.clock()

    def may_ask(self, at_welcome: bool) -> bool:
        """May the corner gesture start, or, held long enough, bring the PIN pad (not over the pad itself)."""
        return at_welcome and self.state == "closed"

    def ask(self, at_welcome: bool) -> bool:
        if not self.may_ask(at_welcome):
            return False
        self.state = "asking"
        self.touched()
        return True

    def pad_closed(self) -> None:
        if self.state == "asking":
            self.state = "closed"

    def open(self, at_welcome: bool) -> bool:
        if not at_welcome or self.state == "open":
            return False
        self.state = "open"
        self.touched()
        return True

    def close(self) -> bool:
        if self.state != "open":
            return False
        self.state = "closed"
        return True

    def expired(self) -> str | None:
        """``"screen"`` or ``"pad"`` when it has been left alone too long, else None."""
        idle = self.clock() - self._last_touch
        if self.state == "open" and idle > self.settings.idle_exit_s:
            return "screen"
        if self.state == "asking" and idle > self.settings.pin_idle_s:
            return "pad"
        return None


class ServiceUnavailable(KioskError):
    message_key = "maintenance.restart.unavailable"


@dataclass
class ServiceControl:
    """Restarting the kiosk's services through systemd (``--no-block``: the UI may be restarting itself).

    On the appliance the kiosk user may restart its two units and nothing
    else (``systemd/polkit/50-kiosk-technician.rules``). Where no systemd
    manages the kiosk (``service_manager = "none"``: a PC, the demo), every
    restart is refused plainly rather than pretending.
    """

    manager: str = "systemctl"
    units: dict[str, str] = field(default_factory=lambda: {"sync": "kiosk-sync.service", "ui": "kiosk-ui.service"})
    run: Callable[..., subprocess.CompletedProcess] = subprocess.run
    timeout_s: float = 10.0

    @classmethod
    def from_config(cls, config: KioskConfig, **kw) -> "ServiceControl":
        m = config.maintenance
        return cls(m.service_manager, {"sync": m.sync_unit, "ui": m.ui_unit}, **kw)

    def restart(self, which: str) -> str:
        """Ask systemd to restart ``which`` (``sync`` or ``ui``); returns the unit. Raises ServiceUnavailable."""
        unit = self.units[which]
        if self.manager == "none":
            raise ServiceUnavailable(f"no service manager here: restart {unit} by hand")
        try:
            done = self.run(["systemctl", "--no-block", "restart", unit], capture_output=True, text=True,
                            timeout=self.timeout_s)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ServiceUnavailable(f"systemctl failed: {exc}") from exc
        if done.returncode != 0:
            raise ServiceUnavailable(f"systemctl restart {unit}: {(done.stderr or '').strip()[:200]}")
        log.info("maintenance: service restart asked", extra={"unit": unit})
        return unit
