"""Summary: what was captured, the consent, and the button that seals the application into the queue."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.dossier import DocumentStatus, FingerStatus, StampMode
from kiosk.screens.base import KioskScreen

FINGER_TAKEN = (FingerStatus.CAPTURED, FingerStatus.LOW_QUALITY)


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
        d = session.dossier
        if d is None:
            return
        captured = sum(1 for x in d.documents if x.status is DocumentStatus.CAPTURED)
        desk = sum(1 for x in d.documents if x.status is DocumentStatus.ORIGINAL_AT_DESK)
        self.documents = t("summary.documents", captured=captured, desk=desk)
        if d.stamps:
            typed = sum(1 for s in d.stamps if s.mode is StampMode.DEMATERIALISED)
            self.stamps = t("summary.stamps", typed=typed, paper=len(d.stamps) - typed)
        else:
            self.stamps = ""
        if session.fingers:
            done = sum(1 for f in d.fingerprints if f.status in FINGER_TAKEN)
            self.fingers = t("summary.fingers", done=done, count=len(session.fingers))
        else:
            self.fingers = ""
        self.on_session(session)

    def on_session(self, session) -> None:
        self.ids.consent.active = session.consent
        self.show_message(self.ids.message, session)
