"""The voice's controls and the call for help: panels over whatever page the citizen is on.

Both are thin: the voice (:mod:`kiosk.speech.voice`) and the help request
(:mod:`kiosk.sync.help`) decide; the panels show their state and send the
citizen's touches. Neither hides the page for good: "Fermer" or
"Reprendre ma demande" goes back to it as it was.
"""

from __future__ import annotations

from kivy.properties import NumericProperty, StringProperty
from kivy.uix.modalview import ModalView

from kiosk.sync.help import MESSAGE_FOR, HelpState


class AssistPanel(ModalView):
    def __init__(self, kiosk_app, **kw):
        self.kiosk_app = kiosk_app
        super().__init__(**kw)

    def show(self) -> None:
        if self.parent is None:
            self.open(animation=False)


class AudioPanel(AssistPanel):
    """Louder, softer, say it again, stop the voice (EN 301 549 5.1.3.4, 5.1.3.11-12)."""

    percent = NumericProperty(80)

    @property
    def voice(self):
        return self.kiosk_app.kiosk.voice

    def show(self) -> None:
        self.percent = int(round(self.voice.audio.volume * 100))
        super().show()

    def louder(self) -> None:
        self.percent = int(round(self.voice.change_volume(self.kiosk_app.session, louder=True) * 100))

    def softer(self) -> None:
        self.percent = int(round(self.voice.change_volume(self.kiosk_app.session, louder=False) * 100))

    def repeat(self) -> None:
        self.dismiss(animation=False)
        self.voice.listen(self.kiosk_app.session)

    def stop_voice(self) -> None:
        self.dismiss(animation=False)
        self.voice.silence(self.kiosk_app.session)


class HelpPanel(AssistPanel):
    """"Un agent arrive", or "go to the front desk" when nobody can be told; and the way back to the page."""

    status_text = StringProperty("")
    level = StringProperty("info")

    def show_state(self, state: HelpState | None) -> None:
        key = MESSAGE_FOR.get(state)
        self.status_text = self.kiosk_app.t(key) if key else ""
        self.level = "error" if state is HelpState.UNREACHABLE else ("ok" if state is HelpState.ACKNOWLEDGED
                                                                     else "info")

    def no_longer_needed(self) -> None:
        self.dismiss(animation=False)
        self.kiosk_app.kiosk.assistance.cancel()
