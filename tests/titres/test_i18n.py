"""One translation table, French first, English second; every key the core can show exists in both."""

from __future__ import annotations

import inspect
import re
import string

import pytest

from titres import errors

from kiosk.core import session
from titres.i18n import LANGUAGES, Translator, euros
from titres.messages import MESSAGES
from titres.predemande import Motif, Title
from titres.rules import AgeBand, SecureDocument, Signer


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_has_french_and_english_with_the_same_placeholders(key):
    entry = MESSAGES[key]
    assert set(entry) == set(LANGUAGES), key
    fr, en = entry["fr"], entry["en"]
    assert fr.strip() and en.strip()
    assert placeholders(fr) == placeholders(en), key


def test_placeholders_are_plain_names():
    for key, entry in MESSAGES.items():
        for text in entry.values():
            for name in placeholders(text):
                assert re.fullmatch(r"[a-z_]+", name), (key, name)


def test_every_error_the_kiosk_raises_has_a_message():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.KioskError)]
    assert len(classes) > 10
    for cls in classes:
        assert cls.message_key in MESSAGES, cls


def test_every_message_key_the_session_names_exists():
    source = inspect.getsource(session)
    keys = set(re.findall(r'(?:_say\(|wipe\(|then=)\s*"([^"]+)"', source))
    assert {"finger.flagged", "summary.consent_needed", "inactivity.abandoned"} <= keys
    # A key said with a count has its two forms; one built from a prefix ("identify.entry.partial" + …)
    # has every variant the session can add.
    def known(key):
        return key in MESSAGES or {f"{key}.one", f"{key}.other"} <= set(MESSAGES)

    assert sorted(k for k in keys if not known(k)) == []
    for prefix in ("identify.entry.partial", "identify.entry.complete"):
        for suffix in ("", ".lookalike"):
            assert known(prefix + suffix), prefix + suffix


def test_every_error_a_person_may_see_has_its_message():
    """The session says an error's own key (``error.message_key``): every error class's, and each agency status's."""
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    keys = {cls.message_key for cls in subclasses(errors.KioskError)} | set(errors.PredemandeUnusable.KEYS.values())
    assert {"identify.offline", "identify.not_held", "identify.error.consumed"} <= keys
    assert sorted(k for k in keys if k not in MESSAGES) == []


@pytest.mark.parametrize("feedback", ["no_finger", "too_light", "too_wet", "too_dry", "moved"])
def test_every_finger_feedback_has_a_message(feedback):
    assert f"finger.feedback.{feedback}" in MESSAGES


@pytest.mark.parametrize("prefix, values", [
    ("motif", [m.value for m in Motif]),
    ("title", [t.value for t in Title]),
    ("age", [b.value for b in AgeBand]),
    ("secure", [s.value for s in SecureDocument]),
    ("signature.hint", [s.value for s in Signer]),
    ("finger", list(session.SessionSettings().fingers)),
])
def test_every_choice_on_screen_has_a_label(prefix, values):
    for value in values:
        assert f"{prefix}.{value}" in MESSAGES


def test_translator_speaks_each_language_and_fills_placeholders():
    assert Translator("fr")("common.back") == "Retour"
    assert Translator("en")("common.back") == "Back"
    assert Translator("fr")("identify.entry.partial.other", count=3) == "Encore 3 caractères."
    assert Translator("en")("identify.entry.partial.other", count=3) == "3 more characters."


@pytest.mark.parametrize("lang, count, text", [
    ("fr", 0, "0 chiffre sur 16"), ("fr", 1, "1 chiffre sur 16"), ("fr", 2, "2 chiffres sur 16"),
    ("en", 0, "0 digits of 16"), ("en", 1, "1 digit of 16"), ("en", 16, "16 digits of 16"),
])
def test_a_count_chooses_singular_or_plural_by_the_languages_rule(lang, count, text):
    # French puts 0 and 1 in the singular, English only 1: never "chiffre(s)".
    assert Translator(lang).plural("stamp.count", count, total=16) == text


def test_a_parent_is_spoken_to_about_their_child():
    t = Translator("fr")
    assert t.worded("question.hosted", "self").startswith("Habitez-vous")
    assert t.worded("question.hosted", "child").startswith("Votre enfant et vous")
    assert t.worded("question.motif", "child") == t("question.motif")  # no child form: the same words
    assert Translator("en").worded("confirm.ok", "child") == "Yes, that's my child"


PARENTHESISED_ENDINGS = re.compile(r"\w\((?:s|e|es|x|ies|ne|le)\)", re.IGNORECASE)


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_no_text_writes_two_words_in_one_with_brackets(key):
    # "caractère(s)", "périmé(e)", "Né(e)": plain language says one thing at a time.
    for lang, text in MESSAGES[key].items():
        assert not PARENTHESISED_ENDINGS.search(text), (key, lang, text)


def test_the_kiosks_receipt_has_one_name_everywhere():
    from pathlib import Path

    from central.texts import TEXTS

    for key, entry in MESSAGES.items():
        assert "récépissé" not in entry["fr"].lower(), key
    assert not [k for k, v in TEXTS.items() if "récépissé" in v["fr"].lower()]
    central = Path(__file__).resolve().parents[2] / "central"
    assert not [p.name for p in central.glob("*/templates/*.html") if "récépissé" in p.read_text(encoding="utf-8").lower()]


@pytest.mark.parametrize("raw, typeset", [
    ("touchez « Prendre la photo ».", "touchez «\u00a0Prendre la photo\u00a0»."),
    ("Motif : Perte ; vol ? oui !", "Motif\u00a0: Perte\u00a0; vol\u00a0? oui\u00a0!"),
    ("https://example.fr/a:b", "https://example.fr/a:b"),  # no space before it: an address is left alone
    ("Texte 150 %", "Texte 150\u00a0%"),
])
def test_french_spacing_makes_the_spaces_around_punctuation_unbreakable(raw, typeset):
    from titres.messages import french_spacing

    assert french_spacing(raw) == typeset


def test_every_french_text_is_typeset_and_a_screen_keeps_it_while_a_terminal_does_not():
    from titres.messages import _TABLE, NBSP, french_spacing

    assert {k: v["fr"] for k, v in MESSAGES.items()} == {k: french_spacing(v["fr"]) for k, v in _TABLE.items()}
    assert all(NBSP not in v["en"] for v in MESSAGES.values())
    assert Translator("fr", typography=True)("confirm.not_me").count(NBSP) == 3  # « Retour » and the "?"
    assert NBSP not in Translator("fr")("confirm.not_me")


def test_translator_shows_a_missing_key_loudly_rather_than_crash():
    assert Translator("fr")("no.such.key") == "⟨no.such.key⟩"


def test_translator_falls_back_to_french():
    table = {"only.fr": {"fr": "Bonjour"}}
    assert Translator("en", table)("only.fr") == "Bonjour"


def test_other_language_toggles():
    assert Translator("fr").other().lang == "en"
    assert Translator("en").other().lang == "fr"


@pytest.mark.parametrize("cents, fr, en", [
    (2500, "25 €", "€25"),
    (1250, "12,50 €", "€12.50"),
    (8600, "86 €", "€86"),
    (4200, "42 €", "€42"),
    (1700, "17 €", "€17"),
    (11100, "111 €", "€111"),
    (5, "0,05 €", "€0.05"),
    (0, "0 €", "€0"),
])
def test_euros(cents, fr, en):
    assert euros(cents) == fr
    assert euros(cents, "fr") == fr
    assert euros(cents, "en") == en


def test_a_stamp_label_reads_with_its_amount():
    assert Translator("fr")("doc.fiscal_stamp_cni", amount=euros(1250)) == "Timbre fiscal carte d'identité : 12,50 €"
    # On a screen, the space before the colon does not break.
    assert Translator("fr", typography=True)("doc.fiscal_stamp_cni", amount="25 €").endswith("identité\u00a0: 25 €")
    assert Translator("en")("doc.fee_consulate", amount=euros(2500, "en")) == "€25 to pay at the consulate"
