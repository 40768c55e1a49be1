"""What the kiosk asks before the checklist: only what a document depends on and nobody has said yet."""

from __future__ import annotations

from datetime import date

import pytest

from kiosk.core.interview import (
    FORM_QUESTIONS, MAY_NOT_KNOW, Question, case_from, from_predemande, parse, questions, serialised,
)
from titres.predemande import Motif, Title
from titres.rules import AgeBand, Region, SecureDocument

from .conftest import make_predemande

Q = Question
TODAY = date(2026, 11, 22)
METROPOLE = Region.METROPOLE


def form(**kw):
    return from_predemande(make_predemande(**kw), TODAY)


def test_the_pre_demande_tells_the_title_the_motif_the_age_and_what_it_knows_of_the_facts():
    known = form(hosted=True, born_abroad_parents_abroad=None, birth=date(2016, 1, 1), motif=Motif.RENEWAL)
    assert known[Q.TITLES] == frozenset({Title.CNI}) and known[Q.MOTIF] is Motif.RENEWAL
    assert known[Q.AGE_BAND] is AgeBand.UNDER_12
    assert known[Q.HOSTED] is True
    assert Q.BORN_ABROAD_PARENTS_ABROAD not in known  # the form did not say: the citizen will be asked
    assert from_predemande(None, TODAY) == {}


def test_offline_the_form_questions_come_first_then_every_fact_that_may_matter():
    assert questions({}, {}, METROPOLE)[:3] == list(FORM_QUESTIONS)


def test_an_adult_online_is_asked_the_title_held_then_what_it_leaves_open():
    known = form()  # neither hosted nor born abroad, says the form
    assert questions(known, {}, METROPOLE) == [Q.SECURE_DOCUMENT, Q.BIRTHPLACE_DEMATERIALISED]
    assert questions(known, {Q.SECURE_DOCUMENT: SecureDocument.VALID}, METROPOLE) == [Q.SECURE_DOCUMENT]
    assert questions(known, {Q.SECURE_DOCUMENT: None}, METROPOLE) == [Q.SECURE_DOCUMENT, Q.BIRTHPLACE_DEMATERIALISED]


def test_a_child_is_asked_about_alternating_residence_and_an_adult_never():
    child = form(birth=date(2016, 4, 18))
    assert Q.ALTERNATING_RESIDENCE in questions(child, {Q.SECURE_DOCUMENT: SecureDocument.VALID}, METROPOLE)
    adult = form()
    assert Q.ALTERNATING_RESIDENCE not in questions(adult, {Q.SECURE_DOCUMENT: None}, METROPOLE)
    offline_adult = {Q.TITLES: frozenset({Title.CNI}), Q.MOTIF: Motif.FIRST, Q.AGE_BAND: AgeBand.ADULT}
    assert Q.ALTERNATING_RESIDENCE not in questions({}, offline_adult, METROPOLE)


def test_the_pre_demandes_answers_are_never_asked_again():
    known = form(hosted=None, born_abroad_parents_abroad=True, alternating_residence=False, birth=date(2012, 1, 1))
    asked = questions(known, {Q.SECURE_DOCUMENT: SecureDocument.NONE}, METROPOLE)
    assert Q.HOSTED in asked
    assert Q.BORN_ABROAD_PARENTS_ABROAD not in asked and Q.ALTERNATING_RESIDENCE not in asked


@pytest.mark.parametrize("answer", [None, SecureDocument.VALID, SecureDocument.NONE, True, False])
def test_a_questions_place_depends_only_on_the_answers_before_it(answer):
    # Whatever is answered, and however it rules later questions out, the questions up to the one on
    # screen stay where they were: "Question 2 sur 4" never moves under the citizen's finger.
    known = {}
    answers = {}
    for i in range(8):
        asked = questions(known, answers, METROPOLE)
        if i >= len(asked):
            break
        q = asked[i]
        value = {Q.TITLES: frozenset({Title.CNI}), Q.MOTIF: Motif.FIRST, Q.AGE_BAND: AgeBand.TWELVE}.get(q)
        if value is None:
            fits = isinstance(answer, SecureDocument) if q is Q.SECURE_DOCUMENT else isinstance(answer, bool)
            value = answer if fits else None
        answers[q] = value
        after = questions(known, answers, METROPOLE)
        assert after[:i + 1] == asked[:i + 1], (q, value)


def test_answers_are_parsed_and_checked():
    assert parse(Q.TITLES, ["cni", "passport"]) == frozenset({Title.CNI, Title.PASSPORT})
    assert parse(Q.TITLES, "cni") == frozenset({Title.CNI})
    assert parse(Q.SECURE_DOCUMENT, "expired_under_5y") is SecureDocument.EXPIRED_UNDER_5Y
    assert parse(Q.HOSTED, None) is None and parse(Q.HOSTED, False) is False
    for q, bad in [(Q.TITLES, []), (Q.MOTIF, None), (Q.AGE_BAND, "old"), (Q.HOSTED, "yes"), (Q.HOSTED, 1)]:
        with pytest.raises(ValueError):
            parse(q, bad)


def test_i_dont_know_is_offered_for_the_facts_not_for_what_is_applied_for():
    assert MAY_NOT_KNOW == {Q.SECURE_DOCUMENT, Q.BIRTHPLACE_DEMATERIALISED, Q.BORN_ABROAD_PARENTS_ABROAD, Q.HOSTED,
                            Q.ALTERNATING_RESIDENCE}
    assert not MAY_NOT_KNOW & set(FORM_QUESTIONS)


def test_the_case_is_built_from_what_is_known_and_unknown_stays_unknown():
    c = case_from({Q.TITLES: frozenset({Title.PASSPORT}), Q.MOTIF: Motif.FIRST, Q.AGE_BAND: AgeBand.TWELVE,
                   Q.SECURE_DOCUMENT: None}, METROPOLE)
    assert c.secure_document is None and c.hosted is None and c.alternating_residence is None
    adult = case_from({Q.TITLES: frozenset({Title.CNI}), Q.MOTIF: Motif.FIRST, Q.AGE_BAND: AgeBand.ADULT}, METROPOLE)
    assert adult.alternating_residence is False
    assert case_from({Q.TITLES: frozenset({Title.CNI})}, METROPOLE) is None


def test_answers_are_stored_as_plain_json_values():
    assert serialised(frozenset({Title.PASSPORT, Title.CNI})) == ["cni", "passport"]
    assert serialised(SecureDocument.VALID) == "valid" and serialised(None) is None and serialised(True) is True
