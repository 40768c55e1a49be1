"""Signature: the citizen signs with a finger; the strokes are rendered to a PNG for the dossier."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.screens.base import KioskScreen


class SignatureScreen(KioskScreen):
    hint = StringProperty("")

    def __init__(self, kiosk_app, **kw):
        super().__init__(kiosk_app, **kw)
        self.ids.pad.bind(stroke_count=lambda *_: self.on_session(self.session))

    def clear(self) -> None:
        self.ids.pad.clear()
        self.session.touch()

    def done(self) -> None:
        pad = self.ids.pad
        self.session.signature_done(pad.to_png(), pad.stroke_count)

    def on_page(self, session) -> None:
        self.ids.pad.clear()
        self.on_language(session)

    def on_language(self, session) -> None:
        signer = session.dossier.signer if session.dossier is not None else "applicant"
        self.hint = self.t(f"signature.hint.{signer}")
        self.on_session(session)

    def on_session(self, session) -> None:
        msg = session.message
        if msg is not None and msg.key == "signature.empty" and self.ids.pad.stroke_count:
            self.ids.message.text = ""  # "the box is empty" no longer is
            return
        self.show_message(self.ids.message, session)

    def forget(self) -> None:
        self.ids.pad.clear()
