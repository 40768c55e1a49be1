"""One translation table, French first, English second; every key the core can show exists in both."""

from __future__ import annotations

import inspect
import re
import string

import pytest

from kiosk import errors, session
from kiosk.i18n import LANGUAGES, Translator, euros
from kiosk.messages import MESSAGES
from kiosk.predemande import Motif, Title
from kiosk.rules import AgeBand, SecureDocument, Signer


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
    keys = set(re.findall(r'(?:_say|wipe)\(\s*"([^"]+)"', source))
    assert {"identify.offline", "finger.flagged", "summary.consent_needed", "inactivity.abandoned"} <= keys
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
    assert Translator("fr")("identify.entry.partial", missing=3) == "Encore 3 caractère(s)."
    assert Translator("en")("identify.entry.partial", missing=3) == "3 more character(s)."


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
    assert Translator("en")("doc.fee_consulate", amount=euros(2500, "en")) == "€25 to pay at the consulate"
