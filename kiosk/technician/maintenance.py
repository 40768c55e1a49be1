"""What the maintenance screen lets a technician do: when it opens and closes, the connection test,
the services' restarts.

Plain Python, so the screen is a thin view; what it shows (the same facts
``kiosk status`` prints) is :mod:`kiosk.technician.report`.
"""

from __future__ import annotations

import logging
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from kiosk.config import KioskConfig
from titres.errors import KioskError

log = logging.getLogger("kiosk.technician.maintenance")


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
