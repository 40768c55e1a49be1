"""How the answers to each question are laid out as buttons, and which one is ticked.

The answers themselves (what each says and what it sends to the session)
are :data:`kiosk.core.interview.CHOICES`, which the voice reads too.
Kivy-free, so that the tests can check every layout without a display.
"""

from __future__ import annotations

from kiosk.core.interview import Question
from titres.predemande import Title

#: Columns of answer buttons per question (long answers get fewer, wider buttons).
COLUMNS = {Question.TITLES: 1, Question.MOTIF: 2, Question.AGE_BAND: 2, Question.SECURE_DOCUMENT: 1,
           Question.BIRTHPLACE_DEMATERIALISED: 1, Question.BORN_ABROAD_PARENTS_ABROAD: 1, Question.HOSTED: 1,
           Question.ALTERNATING_RESIDENCE: 1}


def is_selected(question: Question, value, answers: dict) -> bool:
    if question not in answers:
        return False
    answer = answers[question]
    if question is Question.TITLES:
        return answer == frozenset(Title(v) for v in value)
    if value is None or isinstance(value, bool):
        return answer is value
    return answer == value
