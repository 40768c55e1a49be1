"""What the kiosk asks the citizen before the checklist, and why.

The checklist rests on facts the agent used to ask across the desk: which
title, for what reason, how old (only when the pré-demande could not be
fetched), then whether the applicant holds a secure title, whether the
birthplace registry is dematerialised, whether they were born abroad of
parents born abroad, whether they are hosted, whether a child lives in
alternating residence. A fact is asked only when a document depends on it
(:func:`titres.rules.open_facts`) and the pré-demande does not already say it.

Questions come one per screen, in a fixed order in which each question's
relevance depends only on the answers before it (a valid passport spares
the birthplace question, which comes after it): the list up to the question
on screen never changes while the citizen answers it, so "Question 2 of 4"
keeps its place, and the total can only shrink as answers rule questions out.

Pure: no Kivy, no I/O. :class:`kiosk.core.session.Session` keeps the answers.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, Mapping

from titres.predemande import Motif, PreDemande, Title
from titres.rules import FACT_ORDER, AgeBand, Case, Fact, Region, SecureDocument, open_facts


class Question(StrEnum):
    TITLES = "titles"
    MOTIF = "motif"
    AGE_BAND = "age_band"
    SECURE_DOCUMENT = "secure_document"
    BIRTHPLACE_DEMATERIALISED = "birthplace_dematerialised"
    BORN_ABROAD_PARENTS_ABROAD = "born_abroad_parents_abroad"
    HOSTED = "hosted"
    ALTERNATING_RESIDENCE = "alternating_residence"


#: What the online form always says: asked only when it could not be fetched.
FORM_QUESTIONS = (Question.TITLES, Question.MOTIF, Question.AGE_BAND)

#: The question that tells each fact.
QUESTION_FOR: dict[Fact, Question] = {
    Fact.SECURE_TITLE: Question.SECURE_DOCUMENT,
    Fact.BIRTHPLACE_DEMATERIALISED: Question.BIRTHPLACE_DEMATERIALISED,
    Fact.BORN_ABROAD_PARENTS_ABROAD: Question.BORN_ABROAD_PARENTS_ABROAD,
    Fact.HOSTED: Question.HOSTED,
    Fact.ALTERNATING_RESIDENCE: Question.ALTERNATING_RESIDENCE,
}

#: Questions "I don't know" may answer: the item stays conditional and the agent decides at the desk.
#: What the citizen applies for, why and for whom, they know.
MAY_NOT_KNOW = frozenset(QUESTION_FOR.values())


def parse(question: Question, value: Any) -> Any:
    """An answer as the rules take it; ``ValueError`` if it is not one of the question's answers."""
    if value is None:
        if question not in MAY_NOT_KNOW:
            raise ValueError(f"{question.value} needs an answer")
        return None
    if question is Question.TITLES:
        values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
        titles = frozenset(Title(v) for v in values)
        if not titles:
            raise ValueError("at least one title")
        return titles
    if question is Question.MOTIF:
        return Motif(value)
    if question is Question.AGE_BAND:
        return AgeBand(value)
    if question is Question.SECURE_DOCUMENT:
        return SecureDocument(value)
    if not isinstance(value, bool):
        raise ValueError(f"{question.value} takes true, false or null, not {value!r}")
    return value


def serialised(value: Any) -> Any:
    """An answer as the dossier's JSON holds it."""
    if isinstance(value, frozenset):
        return sorted(v.value for v in value)
    if isinstance(value, StrEnum):
        return value.value
    return value


def from_predemande(pd: PreDemande | None, today: date) -> dict[Question, Any]:
    """What the fetched pré-demande already says (nothing offline): never asked again."""
    if pd is None:
        return {}
    known: dict[Question, Any] = {
        Question.TITLES: pd.titles, Question.MOTIF: pd.motif, Question.AGE_BAND: AgeBand.of(pd.age(today)),
    }
    for question, value in ((Question.HOSTED, pd.hosted),
                            (Question.BORN_ABROAD_PARENTS_ABROAD, pd.born_abroad_parents_abroad),
                            (Question.ALTERNATING_RESIDENCE, pd.alternating_residence)):
        if value is not None:
            known[question] = value
    return known


def case_from(known: Mapping[Question, Any], region: Region, age: int | None = None) -> Case | None:
    """The case the rules see from what is known so far; ``None`` until the title, motif and age are."""
    if any(known.get(q) is None for q in FORM_QUESTIONS):
        return None
    band: AgeBand = known[Question.AGE_BAND]
    return Case(
        titles=known[Question.TITLES], motif=known[Question.MOTIF], age_band=band,
        secure_document=known.get(Question.SECURE_DOCUMENT),
        birthplace_dematerialised=known.get(Question.BIRTHPLACE_DEMATERIALISED),
        born_abroad_parents_abroad=known.get(Question.BORN_ABROAD_PARENTS_ABROAD),
        hosted=known.get(Question.HOSTED),
        # Only a child can live in alternating residence: for an adult the fact is settled.
        alternating_residence=known.get(Question.ALTERNATING_RESIDENCE) if band.minor else False,
        region=region, age=age,
    )


def questions(from_form: Mapping[Question, Any], answers: Mapping[Question, Any], region: Region,
              age: int | None = None) -> list[Question]:
    """The questions to ask, in order: each one relevant given the answers to the ones before it.

    A question after one not yet answered is counted as long as it may
    still matter (the total is an upper bound that only shrinks).
    """
    out = [q for q in FORM_QUESTIONS if q not in from_form]
    known: dict[Question, Any] = dict(from_form)
    known.update({q: answers[q] for q in out if q in answers})
    for fact in FACT_ORDER:
        question = QUESTION_FOR[fact]
        if question in from_form:
            continue
        case = case_from(known, region, age)
        if case is None:
            band = known.get(Question.AGE_BAND)
            relevant = question is not Question.ALTERNATING_RESIDENCE or band is None or band.minor
        else:
            relevant = fact in open_facts(case)
        if relevant:
            out.append(question)
            if question in answers:
                known[question] = answers[question]
    return out


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


def prompt_key(question: Question) -> str:
    """The question's wording (``.child`` for a parent speaking for their child, ``.detail`` beneath)."""
    return f"question.{question.value}"
