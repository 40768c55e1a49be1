"""Maintenance: what a technician checks and does at the kiosk, behind a hidden gesture and the PIN.

Reached only from the welcome screen (no citizen's data is ever on screen
behind it): hold the top-left corner for ``maintenance.hold_s``, then type
the technician PIN (:class:`PinDialog`). The screen is a thin view over
:mod:`kiosk.technician.maintenance` (what it does) and
:mod:`kiosk.technician.report` (what it shows, worded there); everything
that touches the devices, the queue or the network runs as a job on the
app's single worker, like the citizen's jobs, so a device is never used by
two threads.
"""

from __future__ import annotations

import logging

from kivy.properties import ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.modalview import ModalView

from titres.errors import KioskError
from kiosk.technician.maintenance import ServiceControl, check_central
from kiosk.technician.report import REPORT_SECTIONS, StatusReport, section_text, status_report
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.screens.widgets import BACKSPACE, OK_KEY, SecondaryButton
from kiosk.technician.selftest import save_summary, selftest_devices
from kiosk.technician.pin import MAX_DIGITS, MIN_DIGITS, PinGuard, Verdict

log = logging.getLogger("kiosk.technician.maintenance")

SECTIONS = ("devices", "queue", "network", "problems", "about", "reprint")
DIGIT_ROWS = [["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"], [BACKSPACE, "0", OK_KEY]]


class PinPad(BoxLayout):
    """Digits shown as dots, a message line and a keypad; ``on_pin(pin)`` when OK is touched."""

    entered = StringProperty("")
    hint = StringProperty("")
    message = StringProperty("")
    level = StringProperty("info")

    def __init__(self, **kw):
        self.on_pin = lambda pin: None
        super().__init__(**kw)

    def on_kv_post(self, base_widget) -> None:
        # Built as a child of another rule, its own ids exist only once its rule is applied.
        self.ids.keypad.on_key = self.key
        self.ids.keypad.rows_spec = DIGIT_ROWS

    def key(self, key: str) -> None:
        if key == BACKSPACE:
            self.entered = self.entered[:-1]
        elif key == OK_KEY:
            pin, self.entered = self.entered, ""
            self.on_pin(pin)
        elif len(self.entered) < MAX_DIGITS:
            self.entered += key

    def reset(self, hint: str, message: str = "", level: str = "info") -> None:
        self.entered, self.hint, self.message, self.level = "", hint, message, level


class PinDialog(ModalView):
    """The technician PIN, over the welcome screen. Checked on the worker (scrypt takes a moment)."""

    def __init__(self, kiosk_app, guard: PinGuard, **kw):
        super().__init__(**kw)
        self.kiosk_app = kiosk_app
        self.guard = guard
        self.ids.pad.on_pin = self.submit

    def ask(self) -> None:
        """Show the pad at once; whether a PIN is set or locked is read from the card on the worker."""
        self.ids.pad.reset(self.kiosk_app.t("pin.hint"))
        self.open(animation=False)
        guard = self.guard
        self.kiosk_app.run_task("pin-state", lambda: (guard.is_set(), guard.locked_for()), self._state_read)

    def _state_read(self, state, error) -> None:
        if error is not None or self.parent is None:
            return
        is_set, locked = state
        t, pad = self.kiosk_app.t, self.ids.pad
        if not is_set:
            pad.message, pad.level = t("pin.not_set"), "error"
        elif locked > 0:
            pad.message, pad.level = t("pin.locked", minutes=max(1, round(locked / 60))), "error"

    def submit(self, pin: str) -> None:
        """Only a PIN that could be right is checked: an empty or short one (a double tap on OK) costs no try."""
        t = self.kiosk_app.t
        if self.kiosk_app.runner.pending("pin"):
            return
        if len(pin) < MIN_DIGITS:
            self.ids.pad.message, self.ids.pad.level = t("pin.error.format"), "error"
            return
        self.ids.pad.message, self.ids.pad.level = t("pin.checking"), "info"
        self.kiosk_app.run_task("pin", lambda: self.guard.check(pin), self._checked)

    def on_dismiss(self) -> None:
        self.kiosk_app.access.pad_closed()

    def _checked(self, check, error) -> None:
        if self.kiosk_app.access.state != "asking":
            return  # the pad was closed (Quitter, or left alone) while the PIN was checked: nothing opens
        t, pad = self.kiosk_app.t, self.ids.pad
        if error is not None:
            pad.message, pad.level = t("maintenance.failed", detail=getattr(error, "detail", str(error))), "error"
            return
        if check.verdict is Verdict.OK:
            log.info("maintenance opened")  # every entry and action is in the journal (kiosk.technician.maintenance)
            self.dismiss(animation=False)
            self.kiosk_app.open_maintenance()
            return
        log.warning("maintenance: PIN refused", extra={"verdict": check.verdict.value})
        if check.verdict is Verdict.WRONG:
            pad.message, pad.level = t("pin.wrong", tries=check.tries_left), "error"
        elif check.verdict is Verdict.LOCKED:
            pad.message, pad.level = t("pin.locked", minutes=max(1, round(check.locked_s / 60))), "error"
        else:
            pad.message, pad.level = t("pin.not_set"), "error"


class MaintenanceScreen(KioskScreen):
    section = StringProperty("devices")
    body = StringProperty("")
    note = StringProperty("")
    note_level = StringProperty("info")
    #: (number, label) of the dossiers that can be reprinted, newest first.
    reprintable = ListProperty()

    def __init__(self, kiosk_app, **kw):
        super().__init__(kiosk_app, **kw)
        self.report: StatusReport | None = None
        #: (number, created at, state) of the queue's newest dossiers, read with the report.
        self.recent: list[tuple[str, str, str]] = []
        self.selftest_rows = None
        self.services = ServiceControl.from_config(kiosk_app.kiosk.config)

    @property
    def config(self):
        return self.kiosk_app.kiosk.config

    # -- showing -----------------------------------------------------------------------
    def activate(self) -> None:
        self.note = ""
        self.selftest_rows = None
        self.show_section("devices")

    def show_section(self, name: str) -> None:
        self.section = name
        self.note = ""
        self.render()  # at once, from what is known; the fresh figures follow
        self.refresh()

    def refresh(self) -> None:
        app = self.kiosk_app
        self._task("status", lambda: self._gather(app), self._gathered)

    def _gather(self, app) -> tuple[StatusReport, list[tuple[str, str, str]]]:
        report = status_report(self.config, app.kiosk.outbox, app.problems)
        return report, [(q.number, q.created_at, q.state.name.lower()) for q in app.kiosk.outbox.recent(10)]

    def _gathered(self, result, error) -> None:
        if error is not None:
            self._say("maintenance.failed", "error", detail=getattr(error, "detail", str(error)))
            return
        self.report, self.recent = result
        self.render()

    def render(self) -> None:
        t, r = self.t, self.report
        if r is None:
            return
        self.reprintable = []
        if self.section == "devices":
            if self.selftest_rows is None:
                self.body = t("maintenance.devices.never")
            else:
                rows = self.selftest_rows
                failed = sum(not row.ok for row in rows)
                lines = [t("maintenance.devices.row", result=t("selftest.result.ok" if row.ok else "selftest.result.fail"),
                           device=t(f"selftest.device.{row.device}"), backend=row.backend, detail=row.detail(t))
                         for row in rows]
                verdict = (t("selftest.summary.ok", total=len(rows)) if not failed
                           else t("selftest.summary.failed", failed=failed, total=len(rows)))
                self.body = "\n".join([verdict, "", *lines])
        elif self.section in REPORT_SECTIONS:
            self.body = section_text(r, self.section, t)
        elif self.section == "reprint":
            self.reprintable = [(n, f"{n}   {created[:16].replace('T', ' ')}   {t(f'maintenance.state.{state}')}")
                                for n, created, state in self.recent]
            self.body = t("maintenance.reprint.hint") if self.reprintable else t("maintenance.reprint.none")
        self._fill_reprint_list()

    def _fill_reprint_list(self) -> None:
        box = self.ids.reprint_list
        if [getattr(b, "label", None) for b in reversed(box.children)] == [label for _, label in self.reprintable]:
            return  # the same list: keep the buttons (one may be under a finger)
        box.clear_widgets()
        for number, label in self.reprintable:
            button = SecondaryButton(text=label, size_hint_y=None, height=self.kiosk_app.u * 60,
                                     font_size=self.kiosk_app.u * 20)
            button.number, button.label = number, label
            button.bind(on_release=lambda b: self.reprint(b.number))
            box.add_widget(button)

    def main_action(self) -> None:
        """The section's first button (what it does is named in the .kv's label for the same section)."""
        action = {"devices": lambda: self.run_selftest(False), "queue": self.retry_queue,
                  "network": self.check_network, "about": lambda: self.restart("ui")}.get(self.section)
        if action is not None:  # a touch landing as the section changes does nothing
            action()

    def other_action(self) -> None:
        action = {"devices": lambda: self.run_selftest(True), "network": lambda: self.restart("sync")}.get(self.section)
        if action is not None:
            action()

    def _task(self, name: str, work, on_done) -> None:
        """Run ``work`` on the app's worker; its result is shown only if the screen is still open.

        A result arriving after the technician left (a refresh, a slow
        connection test) must not fill the closed screen again.
        """
        def deliver(result, error) -> None:
            if self.kiosk_app.access.is_open:
                on_done(result, error)

        self.kiosk_app.run_task(name, work, deliver)

    def _say(self, key: str, level: str = "info", **params) -> None:
        self.note, self.note_level = self.t(key, **params), level

    # -- actions -------------------------------------------------------------------------
    def run_selftest(self, print_page: bool = False) -> None:
        self._say("maintenance.busy")
        devices, config = self.kiosk_app.kiosk.devices, self.config

        def work():
            rows = selftest_devices(devices, print_test_page=print_page)
            save_summary(config, rows)  # the fleet view shows it with the next heartbeat
            return rows

        self._task("selftest", work, self._selftest_done)

    def _selftest_done(self, rows, error) -> None:
        if error is not None:
            self._say("maintenance.failed", "error", detail=getattr(error, "detail", str(error)))
            return
        self.selftest_rows = rows
        log.info("maintenance: self-test", extra={"ok": all(r.ok for r in rows)})
        self.note = ""
        self.section = "devices"
        self.render()

    def retry_queue(self) -> None:
        log.info("maintenance: queue retried")
        outbox = self.kiosk_app.kiosk.outbox
        self._task("retry", outbox.retry_now,
                                lambda n, e: self._done(e, "maintenance.queue.retried", count=n))

    def check_network(self) -> None:
        from kiosk.sync.client import central_client

        self._say("maintenance.busy")
        log.info("maintenance: connection test")
        config = self.config
        self._task("network", lambda: check_central(lambda: central_client(config, timeout_s=5.0)),
                                self._network_checked)

    def _network_checked(self, check, error) -> None:
        if error is not None:
            self._say("maintenance.network.unreachable", "error", error=getattr(error, "detail", str(error)))
        elif check.reachable:
            self._say("maintenance.network.reachable", ms=round(check.latency_ms),
                      version=check.service_version or "?")
        else:
            self._say("maintenance.network.unreachable", "error", error=check.error)

    def restart(self, which: str) -> None:
        if which == "ui" and self.services.manager == "none":
            log.info("maintenance: app restart asked")
            self.kiosk_app.request_restart()  # no systemd here: the app starts itself again
            return
        self._task("restart", lambda: self.services.restart(which),
                                lambda unit, e: self._done(e, "maintenance.restart.asked", unit=unit))

    def reprint(self, number: str) -> None:
        self._say("maintenance.busy")
        log.info("maintenance: receipt reprinted", extra={"number": number})
        self._task("reprint", lambda: self.controller.reprint(number),
                                lambda receipt, e: self._done(e, "maintenance.reprint.done", number=number,
                                                              failed_key="maintenance.reprint.failed"))

    def _done(self, error, key: str, failed_key: str | None = None, **params) -> None:
        if error is None:
            self._say(key, **params)
        elif isinstance(error, KioskError) and error.message_key == "maintenance.restart.unavailable":
            self._say("maintenance.restart.unavailable", "error", detail=error.detail)
        else:
            self._say(failed_key or "maintenance.failed", "error", detail=getattr(error, "detail", str(error)))
        if error is None:
            self.refresh()

    def quit(self) -> None:
        self.kiosk_app.close_maintenance()

    def forget(self) -> None:
        self.report, self.recent, self.selftest_rows, self.body = None, [], None, ""
