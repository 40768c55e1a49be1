"""Commissioning ("mise en service"): what a blank kiosk shows until a technician enrolls it.

A thin view over :class:`kiosk.technician.commissioning.Commissioning`: the camera's
picture while the scanner looks for the console's enrollment QR code, or
two text fields for a USB keyboard; the enrollment running; the mairie as
the service knows it, to confirm; the PIN pad, twice; then a restart into
the citizen's app.
"""

from __future__ import annotations

import logging

from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout

from kiosk.technician.commissioning import RESTART_AFTER_S, Commissioning, Stage
from kiosk.ui.jobs import Task

log = logging.getLogger("kiosk.technician.commissioning")

SCAN_FPS = 6.0


class CommissioningView(FloatLayout):
    stage = StringProperty(Stage.SCANNING.value)
    message = StringProperty("")
    level = StringProperty("info")
    camera_problem = BooleanProperty(False)
    summary = StringProperty("")
    seconds_left = NumericProperty(RESTART_AFTER_S)

    def __init__(self, kiosk_app, flow: Commissioning, **kw):
        self.kiosk_app = kiosk_app
        self.flow = flow
        super().__init__(**kw)
        self._poll_event = None
        self._countdown = None
        self._busy = False
        self._enrollment = None
        self.ids.pad.on_pin = self._pin
        flow.subscribe(self._changed)
        self._changed(flow)

    # -- the flow drives the view ------------------------------------------------------------
    def _changed(self, flow) -> None:
        t = self.kiosk_app.t
        self.stage = flow.stage.value
        notice = flow.notice
        self.message = t(notice.key, **dict(notice.params)) if notice else ""
        self.level = notice.level if notice else "info"
        if flow.stage in (Stage.CHOOSE_PIN, Stage.REPEAT_PIN):
            hint = t("commission.pin.choose" if flow.stage is Stage.CHOOSE_PIN else "commission.pin.repeat")
            self.ids.pad.reset(hint, self.message, self.level)
        if flow.stage is Stage.TYPING and not self.ids.url.text:
            self.ids.url.text = flow.default_central_url
        self._update_polling()
        if flow.answer is not None:
            self._show_site(flow.answer)
        if flow.stage is Stage.ENROLLING and not self._busy:
            self._enroll()
        elif flow.stage is Stage.SAVING and not self._busy:
            self._save()
        elif flow.stage is Stage.DONE:
            self._start_countdown()

    def relabel(self) -> None:
        """The language changed: say the same things in the other one."""
        self._changed(self.flow)

    # -- scanning --------------------------------------------------------------------------------
    def _update_polling(self) -> None:
        scanning = self.flow.stage is Stage.SCANNING and self.kiosk_app.camera is not None
        if scanning and self._poll_event is None:
            self._poll_event = Clock.schedule_interval(self._poll, 1.0 / SCAN_FPS)
        elif not scanning and self._poll_event is not None:
            self._poll_event.cancel()
            self._poll_event = None

    def _poll(self, dt) -> None:
        runner = self.kiosk_app.runner
        if runner.busy:
            return
        camera, scanner = self.kiosk_app.camera, self.kiosk_app.scanner

        def work():
            frame = camera.preview_frame()
            return frame, scanner.decode(frame)

        runner.submit(Task("scan", work), on_done=self._scanned)

    def _scanned(self, result, error) -> None:
        self.camera_problem = error is not None
        if error is not None or self.flow.stage is not Stage.SCANNING:
            return
        frame, texts = result
        self.ids.preview.show(frame)
        for text in texts:
            if self.flow.code_read(text):
                log.info("enrollment code read")
                break

    # -- typing and the PIN -------------------------------------------------------------------------
    # A second touch on a button that is going away (the stage already moved on) does nothing.
    def type_instead(self) -> None:
        if self.flow.stage is Stage.SCANNING:
            self.flow.type_instead()

    def scan_instead(self) -> None:
        if self.flow.stage is Stage.TYPING:
            self.flow.scan_instead()

    def submit_typed(self) -> None:
        if self.flow.stage is Stage.TYPING:
            self.flow.code_typed(self.ids.url.text, self.ids.token.text)

    def _pin(self, pin: str) -> None:
        if self.flow.stage in (Stage.CHOOSE_PIN, Stage.REPEAT_PIN):
            self.flow.pin_entered(pin)

    # -- enrolling, confirming, saving -----------------------------------------------------------
    def _enroll(self) -> None:
        from kiosk.technician.provision import enroll

        code = self.flow.code
        self._busy = True
        self.ids.token.text = ""  # a used or refused token has no business staying on screen
        self.ids.token._undo, self.ids.token._redo = [], []
        self.kiosk_app.runner.submit(Task("enroll", lambda: enroll(code.central_url, code.token)),
                                     on_done=self._enrolled)

    def _enrolled(self, enrollment, error) -> None:
        self._busy = False
        if self.flow.stage is not Stage.ENROLLING:
            return
        if error is not None:
            log.warning("enrollment failed", extra={"error": getattr(error, "detail", str(error))})
            self.flow.enrollment_failed(error)
            return
        log.info("enrolled, waiting for the technician's confirmation",
                 extra={"kiosk_code": enrollment.answer.get("kiosk_code"), "site": enrollment.answer["site"].get("id")})
        self._enrollment = enrollment  # the device key stays in memory until the technician confirms
        self.flow.enrolled(enrollment.answer)

    def confirm_site(self) -> None:
        if self.flow.stage is Stage.CONFIRM_SITE:
            self.flow.site_confirmed()

    def refuse_site(self) -> None:
        if self.flow.stage is Stage.CONFIRM_SITE:
            log.warning("enrollment refused by the technician: wrong mairie",
                        extra={"kiosk_code": (self.flow.answer or {}).get("kiosk_code")})
            self._enrollment = None
            self.flow.site_refused()

    def _save(self) -> None:
        from kiosk.technician.provision import save_enrollment

        enrollment, pin, config = self._enrollment, self.flow.take_pin(), self.kiosk_app.kiosk_config
        self._busy = True
        self.kiosk_app.runner.submit(Task("save", lambda: save_enrollment(config, enrollment, pin)),
                                     on_done=self._saved)

    def _saved(self, result, error) -> None:
        self._busy = False
        if error is not None:
            log.error("commissioning could not be saved", extra={"error": getattr(error, "detail", str(error))})
            self.flow.save_failed(error)
            return
        self._enrollment = None
        log.warning("kiosk commissioned", extra={"kiosk_code": (self.flow.answer or {}).get("kiosk_code")})
        self.flow.saved()

    def _show_site(self, answer) -> None:
        t, site = self.kiosk_app.t, answer["site"]
        self.summary = t("commission.done.body", site=site.get("name", ""), address=site.get("address") or "-",
                         hours=site.get("opening_hours") or "-", kiosk=answer.get("kiosk_code", ""))

    def _start_countdown(self) -> None:
        if self._countdown is None:
            self.seconds_left = RESTART_AFTER_S
            self._countdown = Clock.schedule_interval(self._tick, 1.0)

    def _tick(self, dt) -> None:
        self.seconds_left -= 1
        if self.seconds_left <= 0:
            self.restart_now()

    def restart_now(self) -> None:
        if self.flow.stage is not Stage.DONE:
            return
        if self._countdown is not None:
            self._countdown.cancel()
        self.kiosk_app.request_restart()

    def stop(self) -> None:
        for event in (self._poll_event, self._countdown):
            if event is not None:
                event.cancel()
        self._enrollment = None
