"""Stamp: the 16 digits of a dematerialised fiscal stamp on a keypad, or a paper stamp shown at the desk."""

from __future__ import annotations

from kivy.properties import StringProperty

from titres.i18n import euros
from kiosk.ui.screens.base import KioskScreen
from titres.wording import requirement_label
from kiosk.ui.screens.widgets import BACKSPACE, OK_KEY
from kiosk.core.session import STAMP_DIGITS

KEYPAD = [["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"], [BACKSPACE, "0", OK_KEY]]


class StampScreen(KioskScreen):
    digits = StringProperty("")
    document = StringProperty("")
    hint = StringProperty("")

    def __init__(self, kiosk_app, **kw):
        super().__init__(kiosk_app, **kw)
        pad = self.ids.keypad
        pad.wide_specials = False
        pad.on_key = self.key
        pad.rows_spec = KEYPAD

    def key(self, key: str) -> None:
        before = self.digits
        if key == BACKSPACE:
            self.digits = self.digits[:-1]
            self.session.touch()
        elif key == OK_KEY:
            self.session.stamp_entered(self.digits)  # on success the next page clears the digits
        elif len(self.digits) < STAMP_DIGITS:
            self.digits += key
            self.session.touch()
        if self.digits != before:
            self.kiosk_app.kiosk.voice.echo(self.session, before, self.digits)  # the digit, heard

    def paper(self) -> None:
        self.session.stamp_paper()

    def on_page(self, session) -> None:
        self.digits = ""
        self.on_language(session)

    def on_language(self, session) -> None:
        req = session.current_requirement
        if req is None:
            return
        t = self.t
        self.document = requirement_label(t, req)
        amount = euros(req.amount_cents or 0, t.lang)
        self.hint = t("stamp.hint", amount=amount)
        self.on_session(session)

    def on_session(self, session) -> None:
        pad = self.ids.keypad
        pad.backspace_label = self.t("keyboard.backspace")
        pad.ok_label = self.t("keyboard.ok")
        self.show_message(self.ids.message, session)
