"""What the kiosk says aloud, read straight from the narration: no audio, no Kivy."""

from __future__ import annotations

import pytest

from titres.i18n import Translator
from titres.messages import MESSAGES
from kiosk.core.narration import Narrator, page, spelled
from kiosk.core.session import Step

FR, EN = Translator("fr"), Translator("en")


def keys(prompts) -> list[str]:
    return [p.key for p in prompts]


def texts(prompts) -> str:
    return " ".join(p.text for p in prompts)


def test_each_page_says_where_the_citizen_is_what_it_asks_and_the_buttons_by_their_own_names(walk, adult_loss):
    s = walk.to_confirm(adult_loss)
    said = page(FR, s)
    assert said[0].key == "title.confirm" and said[0].text.startswith("Étape 2 sur ")
    # The button is named as the screen writes it: the sentence takes the button's own message.
    assert f"« {FR('confirm.ok')} »" in texts(said) and texts(page(EN, s)).count(EN("confirm.ok")) == 1
    assert "\u00a0" not in texts(said)  # plain spaces, as the speech engine reads them


def test_the_name_and_numbers_are_personal_and_the_instructions_are_not(walk, adult_loss):
    s = walk.to_confirm(adult_loss)
    by_key = {p.key: p for p in page(FR, s)}
    assert by_key["speech.field.person"].personal and adult_loss.person.surname in by_key["speech.field.person"].text
    assert by_key["speech.field.number"].personal and by_key["speech.field.number"].slow
    assert not by_key["speech.confirm.do"].personal and not by_key["title.confirm"].personal


def test_a_parents_confirm_title_does_not_name_the_child_aloud(walk, child_theft):
    s = walk.to_confirm(child_theft)
    title = page(FR, s)[0]
    assert title.text.endswith(FR("speech.confirm.title.child") + ".")
    assert child_theft.person.given_names.split()[0] not in title.text


def test_a_question_is_read_with_its_explanation_and_every_answer(walk, adult_loss):
    s = walk.to_confirm(adult_loss)
    s.confirm()
    said = page(FR, s)
    assert keys(said)[:3] == ["title.questions", "questions.progress", "question.secure_document"]
    answers = said[-1].text
    for key in ("secure.valid", "secure.none", "common.dont_know"):
        assert FR(key).replace("\u00a0", " ") in answers.replace("\u00a0", " ")


def test_a_photo_accepted_says_the_result_first_then_what_to_do_without_repeating_where(walk, adult_loss, good):
    s = walk.to_checklist(adult_loss)
    n = Narrator()
    s.begin_capture()
    first, interrupt = n.update(FR, s)
    assert interrupt and "capture.document" in keys(first) and "speech.capture.do" in keys(first)
    s.document_captured(b"jpeg", good)
    said, interrupt = n.update(FR, s)
    assert interrupt and keys(said) == ["capture.accepted", "speech.capture.review"]
    assert said[0].sound == "success"


def test_an_error_has_its_sound_and_its_way_out(session):
    n = Narrator()
    session.start()
    n.update(FR, session)
    session.scan_unreadable()
    said, interrupt = n.update(FR, session)
    assert not interrupt and keys(said) == ["identify.error.unreadable"] and said[0].sound == "error"
    assert "tapez le numéro" in said[0].text


def test_each_key_typed_is_echoed_alone_and_privately(session):
    n = Narrator()
    session.start()
    n.update(FR, session)
    session.number_typed("A")
    said, _ = n.update(FR, session)
    assert [(p.key, p.text, p.personal) for p in said] == [("speech.typed.char", "a", True)]
    session.number_typed("A0")
    said, _ = n.update(FR, session)
    assert [p.text for p in said] == ["0"]
    session.number_typed("A")
    said, _ = n.update(FR, session)
    assert keys(said) == ["speech.typed.deleted"]


def test_a_dossier_number_is_spelled_group_by_group():
    assert spelled("K01-00001-H", FR) == "ka, 0, 1. 0, 0, 0, 0, 1. ache"
    assert spelled("K01-00001-H", EN) == "K, 0, 1. 0, 0, 0, 0, 1. H"


def test_nothing_new_says_nothing_and_a_language_switch_reads_the_page_again(session):
    n = Narrator()
    session.start()
    n.update(FR, session)
    session.touch()
    assert n.update(FR, session) == ([], False)
    session.set_language("en")
    said, interrupt = n.update(EN, session)
    assert interrupt and said[0].text == f"{EN('common.step', index=1, count=8)}. {EN('identify.title')}."


def test_the_inactivity_question_interrupts_whatever_was_being_said(session, clock):
    n = Narrator()
    session.start()
    n.update(FR, session)
    clock.advance(session.settings.inactivity_warning_s + 1)
    session.tick()
    said, interrupt = n.update(FR, session)
    assert interrupt and keys(said) == ["inactivity.title", "inactivity.body"]


@pytest.mark.parametrize("step", [Step.LOOKING_UP, Step.SUBMITTING, Step.PRINTING])
def test_a_busy_page_says_only_what_it_is_doing(step, session):
    session.step = step
    assert page(FR, session) == []


def test_every_spoken_sentence_exists_in_both_languages():
    speech = [k for k in MESSAGES if k.startswith(("speech.", "help.", "audio."))]
    assert speech and all(MESSAGES[k].get("fr") and MESSAGES[k].get("en") for k in speech)
