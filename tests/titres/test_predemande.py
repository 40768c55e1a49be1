"""The pré-demande number: its configurable format, checking as typed, and finding it in a QR payload."""

from __future__ import annotations

from datetime import date

import pytest

from titres.errors import ConfigError, InvalidNumber, NotAPredemande
from titres.predemande import Entry, Motif, NumberFormat, Person, PreDemande, Status, Title, age_on

AGENCY = NumberFormat.from_pattern("[A-Z0-9]{10}")  # REFERENCE: "10 characters `[A-Z0-9]{10}`"
DIGITS = NumberFormat.from_pattern("[0-9]{8,12}")


# -- the pattern ---------------------------------------------------------------------
def test_agency_pattern_is_ten_letters_or_digits():
    assert (AGENCY.char_class, AGENCY.min_len, AGENCY.max_len) == ("A-Z0-9", 10, 10)


def test_a_pattern_may_give_a_length_range():
    assert (DIGITS.char_class, DIGITS.min_len, DIGITS.max_len) == ("0-9", 8, 12)


@pytest.mark.parametrize("pattern", [
    "",
    "[A-Z0-9]",  # no length
    "A-Z0-9{10}",  # no brackets
    "[A-Z0-9]{10",  # unclosed
    "[A-Z0-9]+",  # a general regular expression, not a class and a length
    "^[A-Z0-9]{10}$",
    "[A-Z0-9]{0}",  # empty numbers
    "[A-Z0-9]{12,8}",  # min above max
    "[A-Z0-9]{65}",  # absurdly long
    "[Z-A]{10}",  # a class that does not compile
    "[]{10}",
    "[A-Z]{10}[0-9]{2}",  # two classes
])
def test_malformed_patterns_are_refused_at_configuration(pattern):
    with pytest.raises(ConfigError):
        NumberFormat.from_pattern(pattern)


# -- as typed ------------------------------------------------------------------------
@pytest.mark.parametrize("typed, entry", [
    ("", Entry.EMPTY),
    ("   ", Entry.EMPTY),
    ("A", Entry.PARTIAL),
    ("AB12CD34E", Entry.PARTIAL),
    ("AB12CD34EF", Entry.COMPLETE),
    ("ab12cd34ef", Entry.COMPLETE),  # lower case is upper-cased
    ("AB12 CD34 EF", Entry.COMPLETE),  # spaces people type while reading aloud
    ("ab-12-cd-34-ef", Entry.COMPLETE),
    ("AB12CD34EF1", Entry.INVALID),  # too long
    ("AB12CD34É", Entry.INVALID),  # a character outside the class
    ("AB_2", Entry.INVALID),
])
def test_check_as_typed(typed, entry):
    assert AGENCY.check(typed) is entry


@pytest.mark.parametrize("typed, entry", [
    ("1234567", Entry.PARTIAL), ("12345678", Entry.COMPLETE), ("123456789012", Entry.COMPLETE),
    ("1234567890123", Entry.INVALID), ("1234A", Entry.INVALID),
])
def test_check_as_typed_with_a_length_range(typed, entry):
    assert DIGITS.check(typed) is entry


def test_validate_returns_the_normalised_number():
    assert AGENCY.validate(" ab12 cd34-ef ") == "AB12CD34EF"


@pytest.mark.parametrize("typed", ["", "AB12", "AB12CD34EF9", "AB12CD34E!"])
def test_validate_refuses_anything_but_a_complete_number(typed):
    with pytest.raises(InvalidNumber) as info:
        AGENCY.validate(typed)
    assert info.value.message_key == "identify.error.format"


# -- QR payloads ---------------------------------------------------------------------
@pytest.mark.parametrize("payload, number", [
    ("AB12CD34EF", "AB12CD34EF"),  # exactly the number
    ("  AB12CD34EF\n", "AB12CD34EF"),
    ("https://predemande-cni.ants.gouv.fr/recap?numero=AB12CD34EF", "AB12CD34EF"),  # a query's value
    ("https://ants.gouv.fr/predemandes/AB12CD34EF/recapitulatif", "AB12CD34EF"),  # a segment of the path
    ("https://passeport.ants.gouv.fr/AB12CD34EF?lang=fr#recap", "AB12CD34EF"),
    ("https://ants.gouv.fr/recap?lang=fr&numero=AB12CD34EF&v=2", "AB12CD34EF"),
    ("HTTPS://PREDEMANDE-CNI.ANTS.GOUV.FR/AB12CD34EF", "AB12CD34EF"),  # QR's alphanumeric mode is upper case
    ("https://ants.gouv.fr:443/r/0123456789", "0123456789"),
    ("https://ants.gouv.fr/r/AB12CD34EF/AB12CD34EF", "AB12CD34EF"),  # the same number twice is one
])
def test_number_from_qr_finds_the_number(payload, number):
    assert AGENCY.number_from_qr(payload) == number


@pytest.mark.parametrize("payload", [
    "https://example.org/tickets/AZB2U0PO8A",  # a number's shape in someone else's address
    "https://ants.gouv.fr.example.com/AB12CD34EF",  # an address that only contains the agency's
    "https://example.com/?next=https://ants.gouv.fr/AB12CD34EF",
    "https://user@ants.gouv.fr@example.com/AB12CD34EF",
    "ftp://ants.gouv.fr/AB12CD34EF",
    "numero=AB12CD34EF;date=2025-03-01",  # a number in a text that is no recap's
    "type:PREDEMANDE|num:0123456789",
    "AB12CD34EF https://ants.gouv.fr/AB12CD34EF",
    "https://ants.gouv.fr/recap?numero=AB12CD34EF&autre=ZZ98YY76XX",  # two different candidates: ambiguous
    "https://ants.gouv.fr/AB12CD34EF/ZZ98YY76XX",
    "https://ants.gouv.fr/ab12cd34ef",  # not the number's characters
    "https://ants.gouv.fr/AB12CD34EFX",  # part of a longer segment
    "https://ants.gouv.fr/PREDEMANDE",  # the agency's, but no number
    "https://www.example.com/PREDEMANDE",
    "Bonjour, voici CARCASSONNE et ADMINISTRE",
    "Hello world",
    "WIFI:S:Mairie;T:WPA;P:motdepasse;;",
    "AB12CD34EF9",  # one character too many
    "XAB12CD34EF",
    "",
])
def test_number_from_qr_refuses_what_is_not_a_predemande(payload):
    with pytest.raises(NotAPredemande) as info:
        AGENCY.number_from_qr(payload)
    assert info.value.message_key == "identify.error.not_predemande"


def test_number_from_qr_with_a_length_range_takes_a_whole_segment():
    assert DIGITS.number_from_qr("https://ants.gouv.fr/d?n=123456789012") == "123456789012"
    with pytest.raises(NotAPredemande):
        DIGITS.number_from_qr("https://ants.gouv.fr/d?n=1234567890123")  # 13 digits: no number


def test_a_mairie_can_add_the_recap_format_of_its_own_documents():
    fmt = NumberFormat.from_pattern("[A-Z0-9]{10}", recap_formats=(r"PREDEMANDE:{number}",))
    assert fmt.number_from_qr("PREDEMANDE:AB12CD34EF") == "AB12CD34EF"
    with pytest.raises(NotAPredemande):
        fmt.number_from_qr("https://ants.gouv.fr/AB12CD34EF")  # the formats replace the defaults


@pytest.mark.parametrize("formats", [("https://ants.gouv.fr/",), ("{number}/{number}",), ("(unclosed{number}",)])
def test_a_recap_format_without_its_number_or_that_is_no_expression_is_refused(formats):
    with pytest.raises(ConfigError):
        NumberFormat.from_pattern("[A-Z0-9]{10}", recap_formats=formats)


# -- the pré-demande itself ------------------------------------------------------------
def test_predemande_round_trips_through_its_dict():
    pd = PreDemande(
        number="AB12CD34EF",
        titles=frozenset({Title.CNI, Title.PASSPORT}),
        motif=Motif.THEFT,
        person=Person("DUPONT", "Jérôme Émile", date(2012, 2, 29), "Cayenne", "France", "M", "DUPONT-MARTIN"),
        status=Status.VALIDATED,
        address="3 avenue Jean Jaurès, 97300 Cayenne",
        hosted=None,
        born_abroad_parents_abroad=True,
        extra={"phone": "0600000000"},
    )
    d = pd.to_dict()
    assert d["titles"] == ["cni", "passport"]
    assert d["person"]["birth_date"] == "2012-02-29"
    assert PreDemande.from_dict(d) == pd


def test_predemande_from_a_minimal_dict_takes_the_defaults():
    pd = PreDemande.from_dict({
        "number": "AB12CD34EF", "titles": ["cni"], "motif": "renewal",
        "person": {"surname": "MARTIN", "given_names": "Élise", "birth_date": "1985-03-14"},
    })
    assert pd.status is Status.VALIDATED
    assert pd.hosted is None and pd.born_abroad_parents_abroad is None  # unknown, not "no"
    assert pd.person.birth_country == "France"


@pytest.mark.parametrize("birth, today, age", [
    (date(2010, 6, 1), date(2025, 5, 31), 14),
    (date(2010, 6, 1), date(2025, 6, 1), 15),  # the birthday itself
    (date(2007, 3, 10), date(2025, 3, 10), 18),
    (date(2007, 3, 11), date(2025, 3, 10), 17),
    (date(2012, 2, 29), date(2024, 2, 28), 11),
    (date(2012, 2, 29), date(2024, 2, 29), 12),
    (date(2012, 2, 29), date(2025, 2, 28), 12),  # no 29 February: not yet 13
    (date(2012, 2, 29), date(2025, 3, 1), 13),
])
def test_age_on(birth, today, age):
    assert age_on(birth, today) == age


def test_motifs_that_replace_a_lost_document():
    assert {m for m in Motif if m.replaces_lost_document} == {Motif.LOSS, Motif.THEFT}
