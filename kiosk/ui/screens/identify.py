"""Identify: the live camera picture while the scanner looks for the QR code, or a keyboard to type the number."""

from __future__ import annotations

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty

from titres.errors import InvalidNumber
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.screens.widgets import BACKSPACE, LETTER_ROWS, OK_KEY

#: Camera frames asked for per second while scanning (each one is also decoded). The same refused code
#: still in view is not looked up again (the controller remembers it), so scanning never pauses: a
#: different code is read at once, and its result replaces the last one's message.
SCAN_FPS = 8.0


class IdentifyScreen(KioskScreen):
    typing = BooleanProperty(False)
    typed = StringProperty("")
    camera_problem = BooleanProperty(False)

    def __init__(self, kiosk_app, **kw):
        super().__init__(kiosk_app, **kw)
        self._poll_event = None
        self._generation: int | None = None
        self.ids.keyboard.on_key = self.key
        self.ids.keyboard.rows_spec = [list(LETTER_ROWS[0]), list(LETTER_ROWS[1]), list(LETTER_ROWS[2]),
                                       list(LETTER_ROWS[3]) + [BACKSPACE, OK_KEY]]

    # -- scanning ------------------------------------------------------------------
    def activate(self) -> None:
        self._update_polling()

    def deactivate(self) -> None:
        self._stop_polling()

    def _update_polling(self) -> None:
        if self.typing or self.manager is None or self.manager.current != self.name:
            self._stop_polling()
        elif self._poll_event is None:
            self._poll_event = Clock.schedule_interval(self._poll, 1.0 / SCAN_FPS)

    def _stop_polling(self) -> None:
        if self._poll_event is not None:
            self._poll_event.cancel()
            self._poll_event = None

    def _poll(self, dt) -> None:
        # One frame at a time: a slow decoder lowers the frame rate instead of building a backlog.
        if self.runner.busy:
            return
        self.runner.submit(self.controller.scan_job(), on_done=self._frame_done)

    def _frame_done(self, result, error) -> None:
        self.camera_problem = error is not None
        if error is None and result is not None:
            frame = result[0] if isinstance(result, tuple) else result
            self.ids.preview.show(frame)
        self._refresh_hint()

    # -- typing ----------------------------------------------------------------------
    def show_keyboard(self) -> None:
        self.typing = True
        self.session.number_typed("")
        self._update_polling()

    def show_scanner(self) -> None:
        self.typing = False
        self.session.number_typed("")
        self._update_polling()

    def key(self, key: str) -> None:
        typed = self.session.typed
        if key == BACKSPACE:
            typed = typed[:-1]
        elif key == OK_KEY:
            try:
                job = self.controller.typed_number_job(typed)
            except InvalidNumber:
                return  # the session now says what is wrong
            self.runner.submit(job)
            return
        elif len(typed) < self.session.settings.number_format.max_len + 4:
            typed += key
        self.session.number_typed(typed)

    # -- session ---------------------------------------------------------------------
    def on_page(self, session) -> None:
        if session.generation != self._generation:  # a new citizen: start with the scanner
            self._generation = session.generation
            self.typing = False
            self.ids.preview.clear()
        self.camera_problem = False
        self.on_session(session)

    def on_session(self, session) -> None:
        self.typed = session.typed_number if self.typing else ""
        kb = self.ids.keyboard
        kb.backspace_label = self.t("keyboard.backspace")
        kb.ok_label = self.t("keyboard.ok")
        self._refresh_hint()

    def _refresh_hint(self) -> None:
        label = self.ids.message_typing if self.typing else self.ids.message_scan
        other = self.ids.message_scan if self.typing else self.ids.message_typing
        other.text = ""
        if self.camera_problem and not self.typing:
            label.text, label.level = self.t("identify.error.camera"), "error"
            return
        self.show_message(label)

    def forget(self) -> None:
        self.ids.preview.clear()
