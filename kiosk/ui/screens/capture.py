"""Capture: photograph each document under the camera, see it accepted, or say how it will be shown instead.

Once the still is taken and passes the quality check, the page shows it
back ("Photo acceptée") until the citizen goes on or takes it again: a
person who cannot tell what the camera saw is told it worked. A document
that only applies in a case the citizen could not tell also offers "Je
n'ai pas ce document"; every document offers "Je le montrerai au guichet".
"""

from __future__ import annotations

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty

from kiosk.ui.screens.base import KioskScreen
from titres.wording import requirement_condition, requirement_detail, requirement_label

#: Preview frames per second while the citizen places the document.
PREVIEW_FPS = 8.0


class CaptureScreen(KioskScreen):
    working = BooleanProperty(False)  # a still is being taken and checked
    reviewing = BooleanProperty(False)  # the accepted photo is shown
    conditional = BooleanProperty(False)  # the document may not apply: "I don't have it" is offered
    document = StringProperty("")
    detail = StringProperty("")
    condition = StringProperty("")
    progress = StringProperty("")

    def __init__(self, kiosk_app, **kw):
        super().__init__(kiosk_app, **kw)
        self._poll_event = None
        self._thumbnail = None
        self._shown_page = None
        self._shot_for = None

    # -- preview -------------------------------------------------------------------
    def activate(self) -> None:
        if self._poll_event is None:
            self._poll_event = Clock.schedule_interval(self._poll, 1.0 / PREVIEW_FPS)

    def deactivate(self) -> None:
        if self._poll_event is not None:
            self._poll_event.cancel()
            self._poll_event = None

    def _poll(self, dt) -> None:
        if self.runner.busy or self.reviewing:
            return
        self.runner.submit(self.controller.preview_job(), on_done=self._frame_done)

    def _frame_done(self, frame, error) -> None:
        if error is None and frame is not None and not self.reviewing:
            self.ids.preview.show(frame)

    # -- actions ---------------------------------------------------------------------
    def shoot(self) -> None:
        if self.working or self.reviewing:
            return
        self.working = True
        self._shot_for = (self.session.generation, self.session.index)
        self.on_session(self.session)
        self.runner.submit(self.controller.photo_job(), on_done=self._photo_done)

    def on_working(self, instance, value) -> None:
        self.kiosk_app.navigation_locked = value

    def _photo_done(self, result, error) -> None:
        self.working = False
        s = self.session
        # Only the picture of the photo this page shows: not one the session dropped (the citizen gone,
        # the page left meanwhile), which would otherwise wait here for the next citizen.
        if (error is None and result is not None and result[2] is not None and s.reviewing
                and self._shot_for == (s.generation, s.index)):
            self._thumbnail = result[2]
        self.on_session(s)

    def keep(self) -> None:
        if self.session.reviewing:
            self.session.document_kept()

    def retake(self) -> None:
        if self.session.reviewing:
            self.session.retake()

    def at_desk(self) -> None:
        if not self.working:
            self.session.document_at_desk()

    def not_held(self) -> None:
        if not self.working:
            self.session.document_not_held()

    # -- session -----------------------------------------------------------------------
    def on_page(self, session) -> None:
        req = session.current_requirement
        if req is None:
            return
        if self._shown_page != (session.generation, session.index):
            self._shown_page = (session.generation, session.index)
            self._thumbnail = None  # another document: the last one's picture goes
        t = self.t
        self.document = requirement_label(t, req)
        self.detail = requirement_detail(t, req)
        self.condition = requirement_condition(t, req)
        self.conditional = req.conditional
        self.progress = t("capture.progress", index=session.index + 1, count=len(session.photo_requirements))
        self.ids.text_scroll.scroll_y = 1
        self.on_session(session)

    def on_session(self, session) -> None:
        was = self.reviewing
        self.reviewing = bool(session.reviewing)
        if was and not self.reviewing:
            self._thumbnail = None  # taken again, or kept: the camera's picture comes back
        # The session hears of the photo before this screen gets its picture (_photo_done): show it
        # whichever comes last.
        if self.reviewing and self._thumbnail is not None:
            self.ids.preview.show(self._thumbnail)
            self._thumbnail = None
        label = self.ids.message
        if self.working:
            label.text, label.level = self.t("capture.working"), "info"
        else:
            self.show_message(label, session, fallback=("capture.hint", "info"))

    def forget(self) -> None:
        self._thumbnail = None
        self._shown_page = None
        self.ids.preview.clear()
