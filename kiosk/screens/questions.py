"""The answers offered to each question, as buttons: what each says and what it sends to the session.

Kivy-free, so that the tests can check every text without a display.
"""

from __future__ import annotations

from kiosk.predemande import Motif, Title
from kiosk.rules import AgeBand, SecureDocument
from kiosk.session import Question

#: Each question's answers: (message key, value sent to ``Session.answer``), in the order shown.
CHOICES: dict[Question, list[tuple[str, object]]] = {
    Question.TITLES: [("title.cni", (Title.CNI.value,)), ("title.passport", (Title.PASSPORT.value,)),
                      ("title.both", (Title.CNI.value, Title.PASSPORT.value))],
    Question.MOTIF: [(f"motif.{m.value}", m.value) for m in Motif],
    Question.AGE_BAND: [(f"age.{b.value}", b.value) for b in (
        AgeBand.ADULT, AgeBand.FIFTEEN_SEVENTEEN, AgeBand.THIRTEEN_FOURTEEN, AgeBand.TWELVE, AgeBand.UNDER_12)],
    Question.SECURE_DOCUMENT: [(f"secure.{s.value}", s.value) for s in SecureDocument],
    Question.BIRTHPLACE_DEMATERIALISED: [("common.yes", True), ("common.no", False), ("common.dont_know", None)],
}

#: Columns of answer buttons per question (long answers get fewer, wider buttons).
COLUMNS = {Question.TITLES: 3, Question.MOTIF: 3, Question.AGE_BAND: 3, Question.SECURE_DOCUMENT: 2,
           Question.BIRTHPLACE_DEMATERIALISED: 3}

#: The question's wording: on Confirm the citizen speaks for themself, offline it may be for a child.
PROMPTS_CONFIRM = {Question.SECURE_DOCUMENT: "confirm.secure_document",
                   Question.BIRTHPLACE_DEMATERIALISED: "confirm.birthplace"}
PROMPTS_QUESTIONS = {Question.TITLES: "questions.titles", Question.MOTIF: "questions.motif",
                     Question.AGE_BAND: "questions.age", Question.SECURE_DOCUMENT: "questions.secure_document",
                     Question.BIRTHPLACE_DEMATERIALISED: "questions.birthplace"}


def is_selected(question: Question, value, answers: dict) -> bool:
    if question not in answers:
        return False
    answer = answers[question]
    if question is Question.TITLES:
        return answer == frozenset(Title(v) for v in value)
    if question is Question.BIRTHPLACE_DEMATERIALISED:
        return answer is value
    return answer == value
