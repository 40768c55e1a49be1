"""The answers offered to each question, as buttons: what each says and what it sends to the session.

Kivy-free, so that the tests can check every text without a display.
"""

from __future__ import annotations

from kiosk.interview import MAY_NOT_KNOW, Question
from kiosk.predemande import Motif, Title
from kiosk.rules import AgeBand, SecureDocument

_YES_NO = [("common.yes", True), ("common.no", False)]
_DONT_KNOW = ("common.dont_know", None)

#: Each question's answers: (message key, value sent to ``Session.answer``), in the order shown.
CHOICES: dict[Question, list[tuple[str, object]]] = {
    Question.TITLES: [("title.cni", (Title.CNI.value,)), ("title.passport", (Title.PASSPORT.value,)),
                      ("title.both", (Title.CNI.value, Title.PASSPORT.value))],
    Question.MOTIF: [(f"motif.{m.value}", m.value) for m in Motif],
    Question.AGE_BAND: [(f"age.{b.value}", b.value) for b in (
        AgeBand.ADULT, AgeBand.FIFTEEN_SEVENTEEN, AgeBand.THIRTEEN_FOURTEEN, AgeBand.TWELVE, AgeBand.UNDER_12)],
    Question.SECURE_DOCUMENT: [(f"secure.{s.value}", s.value) for s in SecureDocument],
    Question.BIRTHPLACE_DEMATERIALISED: list(_YES_NO),
    Question.BORN_ABROAD_PARENTS_ABROAD: list(_YES_NO),
    Question.HOSTED: list(_YES_NO),
    Question.ALTERNATING_RESIDENCE: list(_YES_NO),
}
for _q in MAY_NOT_KNOW:
    CHOICES[_q].append(_DONT_KNOW)  # the agent decides at the desk

#: Columns of answer buttons per question (long answers get fewer, wider buttons).
COLUMNS = {Question.TITLES: 1, Question.MOTIF: 2, Question.AGE_BAND: 2, Question.SECURE_DOCUMENT: 1,
           Question.BIRTHPLACE_DEMATERIALISED: 1, Question.BORN_ABROAD_PARENTS_ABROAD: 1, Question.HOSTED: 1,
           Question.ALTERNATING_RESIDENCE: 1}


def prompt_key(question: Question) -> str:
    """The question's wording (``.child`` for a parent speaking for their child, ``.detail`` beneath)."""
    return f"question.{question.value}"


def is_selected(question: Question, value, answers: dict) -> bool:
    if question not in answers:
        return False
    answer = answers[question]
    if question is Question.TITLES:
        return answer == frozenset(Title(v) for v in value)
    if value is None or isinstance(value, bool):
        return answer is value
    return answer == value
