"""A larger text and high contrast: one touch each, for the session they were chosen in only."""

from __future__ import annotations

from titres.i18n import Translator
from kiosk.core.legibility import TEXT_SCALES, Legibility, text_size_label


def test_text_size_cycles_100_125_150_then_back_to_100():
    seen = []
    choice = Legibility()
    for _ in range(4):
        seen.append(choice.text_scale)
        choice = choice.larger_text()
    assert seen == [1.0, 1.25, 1.5, 1.0]
    assert TEXT_SCALES == (1.0, 1.25, 1.5)


def test_contrast_switches_on_and_off_and_leaves_the_text_size_alone():
    choice = Legibility().larger_text().contrast_switched()
    assert (choice.text_scale, choice.high_contrast) == (1.25, True)
    assert choice.contrast_switched().high_contrast is False
    assert choice.contrast_switched().text_scale == 1.25


def test_a_choice_lasts_for_its_session():
    choice = Legibility(generation=4).larger_text().contrast_switched()
    assert choice.for_session(4) is choice


def test_the_next_session_starts_with_the_usual_text_and_colours():
    choice = Legibility(generation=4).larger_text().larger_text().contrast_switched()
    nxt = choice.for_session(5)
    assert nxt.is_default and nxt.generation == 5
    assert not choice.is_default


def test_a_choice_made_after_a_session_ended_starts_from_the_usual_size():
    """The app resets on the generation it sees; a touch that comes first still starts from 100 %."""
    stale = Legibility(generation=1).larger_text().larger_text()
    assert stale.for_session(2).larger_text().text_scale == 1.25


def test_an_unknown_size_cycles_back_to_the_first():
    assert Legibility(text_scale=3.0).larger_text().text_scale == 1.0


def test_the_button_says_what_it_does_then_the_size_it_is_at():
    fr, en = Translator("fr", typography=True), Translator("en")
    assert text_size_label(fr, 1.0) == "Texte plus grand"
    assert text_size_label(fr, 1.25) == "Texte 125\u00a0%"  # no line starts with a lone per cent sign
    assert text_size_label(en, 1.5) == "Text 150%"
    assert text_size_label(en, 1.0) == "Larger text"
