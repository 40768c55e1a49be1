"""The kiosk's screens: thin Kivy views over :class:`kiosk.session.Session`.

Layout is in the ``.kv`` file beside each module, behaviour in the module.
:data:`SCREENS` maps each screen's name to its class; :data:`SCREEN_FOR`
says which screen shows each step of the session (the three steps where
the kiosk is working share one).
"""

from __future__ import annotations

from pathlib import Path

from kiosk.session import Step

KV_DIR = Path(__file__).parent
#: Loaded in this order: shared widget styles first.
KV_FILES = ("widgets.kv", "root.kv", "welcome.kv", "identify.kv", "confirm.kv", "checklist.kv", "capture.kv",
            "stamp.kv", "fingerprints.kv", "signature.kv", "summary.kv", "outcome.kv", "maintenance.kv",
            "assist.kv")

SCREEN_FOR: dict[Step, str] = {
    Step.WELCOME: "welcome",
    Step.IDENTIFY: "identify",
    Step.LOOKING_UP: "busy",
    Step.CONFIRM: "confirm",
    Step.QUESTIONS: "questions",
    Step.CHECKLIST: "checklist",
    Step.CAPTURE: "capture",
    Step.STAMP: "stamp",
    Step.FINGERPRINTS: "fingerprints",
    Step.SIGNATURE: "signature",
    Step.SUMMARY: "summary",
    Step.SUBMITTING: "busy",
    Step.PRINTING: "busy",
    Step.RECEIPT_FAILED: "receipt_failed",
    Step.END: "end",
}

#: The header's title for each step (message keys).
TITLE_FOR: dict[Step, str] = {
    Step.WELCOME: "app.title",
    Step.IDENTIFY: "identify.title",
    Step.LOOKING_UP: "identify.title",
    Step.CONFIRM: "confirm.title",
    Step.QUESTIONS: "questions.title",
    Step.CHECKLIST: "checklist.title",
    Step.CAPTURE: "capture.step_title",
    Step.STAMP: "stamp.title",
    Step.FINGERPRINTS: "finger.title",
    Step.SIGNATURE: "signature.title",
    Step.SUMMARY: "summary.title",
    Step.SUBMITTING: "summary.title",
    Step.PRINTING: "receipt.title",
    Step.RECEIPT_FAILED: "receipt.title",
    Step.END: "end.title",
}

def header_title(t, session) -> str:
    """The header's title for the session's step, worded for who is in front of the screen:
    "Vérifiez la demande de Léa" to a parent, "Vérifiez votre pré-demande" to an adult."""
    key = TITLE_FOR[session.step]
    pd = session.predemande
    if session.step is Step.CONFIRM and session.audience == "child" and pd is not None:
        first = (pd.person.given_names.split() or [pd.person.surname])[0]
        return t("confirm.title.child", name=first)
    return t(key)


def screen_classes() -> dict[str, type]:
    """Name → class of every screen (imports Kivy: call once the window is configured)."""
    from kiosk.screens.capture import CaptureScreen
    from kiosk.screens.checklist import ChecklistScreen
    from kiosk.screens.confirm import ConfirmScreen, QuestionsScreen
    from kiosk.screens.fingerprints import FingerprintsScreen
    from kiosk.screens.identify import IdentifyScreen
    from kiosk.screens.outcome import BusyScreen, EndScreen, ReceiptFailedScreen
    from kiosk.screens.signature import SignatureScreen
    from kiosk.screens.stamp import StampScreen
    from kiosk.screens.summary import SummaryScreen
    from kiosk.screens.maintenance import MaintenanceScreen
    from kiosk.screens.welcome import WelcomeScreen

    return {
        "welcome": WelcomeScreen, "identify": IdentifyScreen, "busy": BusyScreen, "confirm": ConfirmScreen,
        "questions": QuestionsScreen, "checklist": ChecklistScreen, "capture": CaptureScreen,
        "stamp": StampScreen, "fingerprints": FingerprintsScreen, "signature": SignatureScreen,
        "summary": SummaryScreen, "receipt_failed": ReceiptFailedScreen, "end": EndScreen,
        "maintenance": MaintenanceScreen,  # no step shows it: the app opens it (gesture + PIN)
    }
