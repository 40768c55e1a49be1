"""What every screen shares: access to the session, the translator and the job runner.

A screen is a thin view. The app calls, on the UI thread:

* :meth:`KioskScreen.activate` when the screen becomes the current one and
  :meth:`KioskScreen.deactivate` when it stops being (start and stop camera
  polling there);
* :meth:`KioskScreen.on_page` when the page changes (a new step, the next
  document, another citizen, another language): rebuild what depends on it;
* :meth:`KioskScreen.on_language` when only the language changed;
* :meth:`KioskScreen.on_session` after every change of the session (a touch
  resets the inactivity timer, an answer is recorded): update in place,
  cheaply, without replacing widgets, since the change may come from the
  very touch that is still being dispatched.

Screens send the session events and submit the controller's jobs; they
decide nothing about the application itself.
"""

from __future__ import annotations

from kivy.uix.screenmanager import Screen

from titres.i18n import Translator
from titres.wording import message_text


class KioskScreen(Screen):
    def __init__(self, kiosk_app, **kw):
        self.kiosk_app = kiosk_app
        super().__init__(**kw)

    # -- what screens use ----------------------------------------------------------
    @property
    def session(self):
        return self.kiosk_app.session

    @property
    def controller(self):
        return self.kiosk_app.controller

    @property
    def runner(self):
        return self.kiosk_app.runner

    @property
    def t(self) -> Translator:
        return self.kiosk_app.t

    def show_message(self, label, session=None, fallback: tuple[str, str] | None = None) -> None:
        """Put the session's message (or ``fallback`` = (key, level) when there is none) in ``label``."""
        session = session or self.session
        msg = session.message
        if msg is not None:
            label.text = message_text(self.t, msg, session.audience)
            label.level = msg.level if msg.level in ("info", "error", "ok") else "info"
        elif fallback is not None:
            label.text = self.t(fallback[0])
            label.level = fallback[1]
        else:
            label.text = ""
            label.level = "info"

    # -- called by the app ------------------------------------------------------------
    def activate(self) -> None:
        pass

    def deactivate(self) -> None:
        pass

    def on_page(self, session) -> None:
        pass

    def on_session(self, session) -> None:
        pass

    def on_language(self, session) -> None:
        """The citizen switched language on this page: re-word it (by default, as a new page; a screen
        holding what the citizen did, strokes or digits, keeps it)."""
        self.on_page(session)

    def forget(self) -> None:
        """The citizen is gone: drop whatever of theirs this screen still shows (names, pictures, strokes)."""
