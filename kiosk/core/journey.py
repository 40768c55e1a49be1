"""Where the citizen is in the whole procedure: "Étape 3 sur 7", in words, beside the progress bar.

The stages are the ones this citizen goes through: no stamp stage when
nothing is paid, no fingerprint stage for a child under 12. Before the case
is known (offline, before the questions), a stage is counted while it may
still apply, so the total only ever shrinks.
"""

from __future__ import annotations

from enum import StrEnum

from titres.rules import Capture, checklist, fingerprints_required
from kiosk.core.session import Session, Step


class Stage(StrEnum):
    IDENTIFY = "identify"
    QUESTIONS = "questions"
    DOCUMENTS = "documents"
    STAMP = "stamp"
    FINGERPRINTS = "fingerprints"
    SIGNATURE = "signature"
    SUMMARY = "summary"
    RECEIPT = "receipt"


STAGE_OF: dict[Step, Stage] = {
    Step.IDENTIFY: Stage.IDENTIFY, Step.LOOKING_UP: Stage.IDENTIFY,
    Step.CONFIRM: Stage.QUESTIONS, Step.QUESTIONS: Stage.QUESTIONS,
    Step.CHECKLIST: Stage.DOCUMENTS, Step.CAPTURE: Stage.DOCUMENTS,
    Step.STAMP: Stage.STAMP, Step.FINGERPRINTS: Stage.FINGERPRINTS, Step.SIGNATURE: Stage.SIGNATURE,
    Step.SUMMARY: Stage.SUMMARY, Step.SUBMITTING: Stage.SUMMARY,
    Step.PRINTING: Stage.RECEIPT, Step.RECEIPT_FAILED: Stage.RECEIPT, Step.END: Stage.RECEIPT,
}


def stages(session: Session) -> tuple[Stage, ...]:
    """This citizen's stages, as far as their case is known."""
    case = session.known_case()
    skip: set[Stage] = set()
    if case is not None:
        items = session.checklist if session.case is not None else checklist(case)
        if not any(r.capture is Capture.STAMP for r in items):
            skip.add(Stage.STAMP)
        if not fingerprints_required(case, session.settings.fingerprint_min_age):
            skip.add(Stage.FINGERPRINTS)
    return tuple(s for s in Stage if s not in skip)


def position(session: Session) -> tuple[int, int] | None:
    """(stage number from 1, number of stages), or ``None`` on the welcome screen."""
    stage = STAGE_OF.get(session.step)
    if stage is None:
        return None
    todo = stages(session)
    return todo.index(stage) + 1, len(todo)


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
