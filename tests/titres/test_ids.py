"""Identifiers: the UUIDv7 idempotency key and the human dossier number read aloud at the desk."""

from __future__ import annotations

import re
import uuid

import pytest

from titres.ids import (
    ALPHABET, check_char, dossier_number, encode, is_valid_number, normalise_kiosk_code, normalise_number, uuid7,
)

NUMBER = re.compile(r"^[0-9A-HJKMNP-TV-Z]{2,4}-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]$")


# -- UUIDv7 ----------------------------------------------------------------------------
def test_uuid7_has_version_7_and_the_rfc_variant():
    for _ in range(200):
        u = uuid7()
        assert u.version == 7
        assert u.variant == uuid.RFC_4122


def test_uuid7_carries_the_millisecond_timestamp_in_its_first_48_bits():
    u = uuid7(now_ms=0x0123_4567_89AB)
    assert u.int >> 80 == 0x0123_4567_89AB
    assert str(u).startswith("01234567-89ab-7")


def test_uuid7_sorts_by_time():
    made = [uuid7(now_ms=1_700_000_000_000 + i) for i in range(0, 5000, 7)]
    assert sorted(made) == made
    assert sorted(str(u) for u in made) == [str(u) for u in made]  # as text too: the outbox sorts strings


def test_uuid7_is_random_within_one_millisecond():
    assert len({uuid7(now_ms=1_700_000_000_000) for _ in range(1000)}) == 1000


# -- the dossier number ---------------------------------------------------------------
def test_dossier_number_is_kiosk_code_counter_and_check_char():
    n = dossier_number("K01", 42)
    assert NUMBER.match(n)
    code, counter, check = n.split("-")
    assert code == "K01"
    assert counter == "0001A"  # 42 = 1 * 32 + 10, in Crockford's base 32
    assert check == check_char("K01" + counter)
    assert is_valid_number(n)


def test_dossier_numbers_are_distinct_and_valid_per_counter():
    numbers = [dossier_number("MX2", c) for c in range(2000)]
    assert len(set(numbers)) == 2000
    assert all(NUMBER.match(n) and is_valid_number(n) for n in numbers)


def test_counter_must_fit_five_characters():
    assert dossier_number("K01", 32**5 - 1).split("-")[1] == "ZZZZZ"
    with pytest.raises(ValueError):
        dossier_number("K01", 32**5)


def test_encode_is_base_32_in_the_crockford_alphabet():
    assert encode(0, 3) == "000"
    assert encode(31, 2) == "0Z"
    assert encode(32, 2) == "10"
    assert "I" not in ALPHABET and "L" not in ALPHABET and "O" not in ALPHABET and "U" not in ALPHABET
    assert len(set(ALPHABET)) == 32


SAMPLES = [
    dossier_number("K01", 0),
    dossier_number("K01", 31),  # 0000Z: the swap 0 <-> Z that Luhn mod 32 misses
    dossier_number("K01", 42),
    dossier_number("ZZ", 1024),
    dossier_number("A0Z9", 32**5 - 1),
    dossier_number("0Z", 33_000),
]


@pytest.mark.parametrize("number", SAMPLES)
def test_every_single_character_substitution_is_caught(number):
    chars = normalise_number(number)
    assert is_valid_number(chars)
    for i, original in enumerate(chars):
        for replacement in ALPHABET:
            if replacement != original:
                wrong = chars[:i] + replacement + chars[i + 1:]
                assert not is_valid_number(wrong), (number, wrong)


@pytest.mark.parametrize("number", SAMPLES)
def test_every_adjacent_transposition_is_caught(number):
    chars = normalise_number(number)
    for i in range(len(chars) - 1):
        swapped = chars[:i] + chars[i + 1] + chars[i] + chars[i + 2:]
        if swapped != chars:
            assert not is_valid_number(swapped), (number, swapped)


def test_every_adjacent_transposition_of_every_pair_of_symbols_is_caught():
    """Exhaustive over the alphabet: any pair x != y, swapped anywhere in a 9-character body + check."""
    for x in ALPHABET:
        for y in ALPHABET:
            if x == y:
                continue
            for prefix in ("K01", "K010000", ""):
                body = (prefix + x + y).ljust(8, "0")
                chars = body + check_char(body)
                i = len(prefix)
                swapped = chars[:i] + y + x + chars[i + 2:]
                assert not is_valid_number(swapped), (chars, swapped)


def test_a_swap_with_the_check_character_is_caught():
    for counter in range(0, 32**2, 3):
        chars = normalise_number(dossier_number("K01", counter))
        swapped = chars[:-2] + chars[-1] + chars[-2]
        if swapped != chars:
            assert not is_valid_number(swapped), chars


def test_check_chars_use_the_whole_alphabet():
    assert {check_char(f"K01{encode(c, 5)}") for c in range(4096)} == set(ALPHABET)


# -- reading a number back ------------------------------------------------------------
def test_dashes_spaces_and_lower_case_are_ignored():
    n = dossier_number("K01", 42)
    assert is_valid_number(n.lower())
    assert is_valid_number(n.replace("-", " "))
    assert is_valid_number(n.replace("-", ""))


@pytest.mark.parametrize("typed, canonical", [("O", "0"), ("o", "0"), ("I", "1"), ("i", "1"), ("L", "1"), ("l", "1")])
def test_confusable_letters_read_as_digits(typed, canonical):
    assert normalise_number(typed) == canonical


def test_a_number_read_with_confusable_letters_is_still_valid():
    n = dossier_number("K10", 1)  # K10-00001-?
    assert "0" in n and "1" in n
    misread = n.replace("0", "O").replace("1", "l")
    assert misread != n
    assert is_valid_number(misread)


@pytest.mark.parametrize("text", ["", "K", "K0", "K01-0001A-", "K01-0001A-#", "€€€€"])
def test_short_or_foreign_text_is_not_a_number(text):
    assert not is_valid_number(text)


# -- kiosk codes -----------------------------------------------------------------------
@pytest.mark.parametrize("code, canonical", [("K01", "K01"), (" k01 ", "K01"), ("ab", "AB"), ("Z9Z9", "Z9Z9")])
def test_valid_kiosk_codes(code, canonical):
    assert normalise_kiosk_code(code) == canonical


@pytest.mark.parametrize("code", ["", "K", "K0123", "KO1", "KI1", "KL1", "KU1", "K-1", "K 1"])
def test_invalid_kiosk_codes_are_refused(code):
    with pytest.raises(ValueError):
        normalise_kiosk_code(code)
    with pytest.raises(ValueError):
        dossier_number(code, 1)
