"""Summary: what was captured, the consent, and the button that seals the application into the queue."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.screens.base import KioskScreen



class SummaryScreen(KioskScreen):
    documents = StringProperty("")
    stamps = StringProperty("")
    fingers = StringProperty("")

    def toggle_consent(self) -> None:
        self.session.set_consent(not self.session.consent)

    def send(self) -> None:
        job = self.controller.submit_job()  # None when consent is missing: the session says so
        if job is not None:
            self.runner.submit(job)

    def on_page(self, session) -> None:
        t = self.t
        if session.dossier is None:
            return
        p = session.progress()
        self.documents = t("summary.documents", captured=p.documents_captured, desk=p.documents_at_desk)
        stamps = p.stamps_typed + p.stamps_paper
        self.stamps = t("summary.stamps", typed=p.stamps_typed, paper=p.stamps_paper) if stamps else ""
        self.fingers = t("summary.fingers", done=p.fingers_taken, count=p.fingers_asked) if p.fingers_asked else ""
        self.on_session(session)

    def on_session(self, session) -> None:
        self.ids.consent.active = session.consent
        self.show_message(self.ids.message, session)
