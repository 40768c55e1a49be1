"""Capture: photograph each document under the camera, or say the original will be shown at the desk."""

from __future__ import annotations

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty

from kiosk.screens.base import KioskScreen, requirement_condition, requirement_label

#: Preview frames per second while the citizen places the document.
PREVIEW_FPS = 8.0


class CaptureScreen(KioskScreen):
    working = BooleanProperty(False)  # a still is being taken and checked
    document = StringProperty("")
    progress = StringProperty("")

    def __init__(self, kiosk_app, **kw):
        super().__init__(kiosk_app, **kw)
        self._poll_event = None

    # -- preview -------------------------------------------------------------------
    def activate(self) -> None:
        if self._poll_event is None:
            self._poll_event = Clock.schedule_interval(self._poll, 1.0 / PREVIEW_FPS)

    def deactivate(self) -> None:
        if self._poll_event is not None:
            self._poll_event.cancel()
            self._poll_event = None

    def _poll(self, dt) -> None:
        if self.runner.busy:
            return
        self.runner.submit(self.controller.preview_job(), on_done=self._frame_done)

    def _frame_done(self, frame, error) -> None:
        if error is None and frame is not None:
            self.ids.preview.show(frame)

    # -- actions ---------------------------------------------------------------------
    def shoot(self) -> None:
        if self.working:
            return
        self.working = True
        self.on_session(self.session)
        self.runner.submit(self.controller.photo_job(), on_done=self._photo_done)

    def on_working(self, instance, value) -> None:
        self.kiosk_app.navigation_locked = value

    def _photo_done(self, result, error) -> None:
        self.working = False
        self.on_session(self.session)

    def at_desk(self) -> None:
        if not self.working:
            self.session.document_at_desk()

    # -- session -----------------------------------------------------------------------
    def on_page(self, session) -> None:
        req = session.current_requirement
        if req is None:
            return
        t = self.t
        condition = requirement_condition(t, req)
        self.document = requirement_label(t, req) + (f"\n({condition})" if condition else "")
        self.progress = t("capture.progress", index=session.index + 1, count=len(session.photo_requirements))
        self.on_session(session)

    def on_session(self, session) -> None:
        label = self.ids.message
        if self.working:
            label.text, label.level = self.t("capture.working"), "info"
        else:
            self.show_message(label, session, fallback=("capture.hint", "info"))

    def forget(self) -> None:
        self.ids.preview.clear()
