"""The kiosk's screens: thin Kivy views over :class:`kiosk.core.session.Session`.

Layout is in the ``.kv`` file beside each module, behaviour in the module.
:data:`SCREENS` maps each screen's name to its class; :data:`SCREEN_FOR`
says which screen shows each step of the session (the three steps where
the kiosk is working share one). The header's title for each step is
:func:`kiosk.core.journey.header_title`, which the voice reads too.
"""

from __future__ import annotations

from pathlib import Path

from kiosk.core.session import Step

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

def screen_classes() -> dict[str, type]:
    """Name → class of every screen (imports Kivy: call once the window is configured)."""
    from kiosk.ui.screens.capture import CaptureScreen
    from kiosk.ui.screens.checklist import ChecklistScreen
    from kiosk.ui.screens.confirm import ConfirmScreen, QuestionsScreen
    from kiosk.ui.screens.fingerprints import FingerprintsScreen
    from kiosk.ui.screens.identify import IdentifyScreen
    from kiosk.ui.screens.outcome import BusyScreen, EndScreen, ReceiptFailedScreen
    from kiosk.ui.screens.signature import SignatureScreen
    from kiosk.ui.screens.stamp import StampScreen
    from kiosk.ui.screens.summary import SummaryScreen
    from kiosk.ui.screens.maintenance import MaintenanceScreen
    from kiosk.ui.screens.welcome import WelcomeScreen

    return {
        "welcome": WelcomeScreen, "identify": IdentifyScreen, "busy": BusyScreen, "confirm": ConfirmScreen,
        "questions": QuestionsScreen, "checklist": ChecklistScreen, "capture": CaptureScreen,
        "stamp": StampScreen, "fingerprints": FingerprintsScreen, "signature": SignatureScreen,
        "summary": SummaryScreen, "receipt_failed": ReceiptFailedScreen, "end": EndScreen,
        "maintenance": MaintenanceScreen,  # no step shows it: the app opens it (gesture + PIN)
    }
