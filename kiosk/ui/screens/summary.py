"""Summary: exactly what was captured, what is left for the desk, what to bring; the consent; sending.

Every line comes from :mod:`titres.outcomes`, the account the receipt prints
too: a finger that failed three times is "à reprendre au guichet", not
counted as taken.
"""

from __future__ import annotations

from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.screens.widgets import BodyLabel
from titres.wording import summary_lines

class SummaryScreen(KioskScreen):
    def toggle_consent(self) -> None:
        self.session.set_consent(not self.session.consent)

    def send(self) -> None:
        job = self.controller.submit_job()  # None when consent is missing: the session says so
        if job is not None:
            self.runner.submit(job)

    def on_page(self, session) -> None:
        if session.dossier is None:
            return
        box = self.ids.lines
        texts = summary_lines(self.t, session)
        while len(box.children) < len(texts):
            box.add_widget(BodyLabel())
        for label, text in zip(reversed(box.children), texts + [""] * len(box.children)):
            label.text = text
        self.ids.scroll.scroll_y = 1
        self.on_session(session)

    def on_session(self, session) -> None:
        self.ids.consent.active = session.consent
        self.show_message(self.ids.message, session)
