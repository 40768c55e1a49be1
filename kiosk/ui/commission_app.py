"""The app a blank kiosk runs: the commissioning screen, and nothing of the citizen's.

``kiosk run`` starts it instead of :class:`kiosk.ui.app.KioskApp` while the
kiosk is not provisioned: without the service's keys there is no outbox to
seal dossiers into, so the citizen's screens must not exist yet. Only the
camera and the scanner are opened (to read the enrollment QR code); a
camera that will not open leaves typing the code as the way through.

Once enrolled it stops with ``restart_requested``; ``kiosk run`` then
starts again, now as the citizen's app (on the appliance systemd does it,
and ``kiosk-firstboot.service`` starts the sync worker).
"""

from __future__ import annotations

import logging
from typing import Callable

from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import ObjectProperty

from kiosk.ui.app import TouchApp
from kiosk.technician.commissioning import Commissioning
from kiosk.config import KioskConfig
from kiosk.ui.jobs import JobRunner

log = logging.getLogger("kiosk.technician.commissioning")

KV = ("widgets.kv", "maintenance.kv", "commissioning.kv")


def open_reader(config: KioskConfig):
    """(camera, scanner) for reading the code, either None when it cannot be opened (logged, not fatal)."""
    from kiosk.hal import load_backend

    opened = []
    for device in ("camera", "scanner"):
        try:
            dev = load_backend(device, config.hal.backend_for(device))(config.hal, config.sim_dir)
            dev.open()
            opened.append(dev)
        except Exception as exc:
            log.warning("commissioning: device unavailable", extra={"device": device, "error": repr(exc)})
            for dev in opened:
                dev.close()
            return None, None
    return opened[0], opened[1]


class CommissioningApp(TouchApp):
    camera = ObjectProperty(None, allownone=True)

    def __init__(self, config: KioskConfig, camera=None, scanner=None, **kw):
        super().__init__(config.session.default_language, **kw)
        self.kiosk_config = config  # not ``config``: that is Kivy's own settings object
        self.camera, self.scanner = camera, scanner
        self.flow = Commissioning(config.directory.central_url, config.directory.allowed_central_urls)
        self.runner: JobRunner | None = None
        self.view = None

    def build(self):
        import kiosk.ui.screens.maintenance  # noqa: F401  (PinPad, for the kv rules)
        import kiosk.ui.screens.widgets  # noqa: F401  (the shared widget classes, for the kv rules)
        from kiosk.ui.screens.commissioning import CommissioningView

        self.title = self.t("commission.title")
        self.load_screens_kv(KV)
        self.runner = JobRunner(None, post=lambda fn: Clock.schedule_once(lambda dt: fn()))
        root = Builder.load_string("CommissioningRoot:")
        self.view = CommissioningView(self, self.flow)
        root.add_widget(self.view)
        if self.camera is None:
            self.flow.type_instead()
        self._events.append(Clock.schedule_interval(lambda dt: self.beat(), 1.0))
        return root

    def toggle_language(self) -> None:
        self.t = self.t.other()
        self.title = self.t("commission.title")
        if self.view is not None:
            self.view.relabel()

    def on_stop(self):
        super().on_stop()
        if self.view is not None:
            self.view.stop()
        if self.runner is not None:
            self.runner.close(wait=True)


def run_commissioning(config: KioskConfig, fullscreen: bool = False, size: tuple[int, int] = (800, 480),
                      on_heartbeat: Callable[[], None] | None = None) -> bool:
    """Show the commissioning screen until the kiosk is enrolled (True: start again as the citizen's app)."""
    from kiosk.ui.app import configure_kivy

    configure_kivy(fullscreen, size)
    camera, scanner = open_reader(config)
    try:
        app = CommissioningApp(config, camera, scanner)
        if on_heartbeat is not None:
            app.on_heartbeat = on_heartbeat
        app.run()
    finally:
        for dev in (camera, scanner):
            if dev is not None:
                dev.close()
    return app.restart_requested
