"""The console's enrollment QR code: what it holds, and what a kiosk refuses before any request."""

from __future__ import annotations

import pytest

from titres.enrollment_code import EnrollmentCode, EnrollmentCodeError, format_code, parse_code

TOKEN = "Zq3-_abcdefghijklmnopq"


def test_a_code_carries_the_service_and_the_token_both_ways():
    text = format_code("https://titres.example.fr/central/", TOKEN)
    assert text.startswith("kiosque:enrol?v=1&")
    assert "https://" not in text, "the URL is percent-encoded, so a phone does not offer to open it"
    assert parse_code(text) == EnrollmentCode("https://titres.example.fr/central", TOKEN)


def test_a_bare_token_takes_the_configured_service():
    assert parse_code(f"  {TOKEN}\n", "http://127.0.0.1:8080/") == EnrollmentCode("http://127.0.0.1:8080", TOKEN)


@pytest.mark.parametrize("text, default, reason", [
    ("A1B2C3D4E5", "https://c.example", "not_enrollment"),  # a pré-demande's QR code
    ("https://ants.gouv.fr/", "https://c.example", "not_enrollment"),
    (f"kiosque:enrol?v=2&central=https%3A%2F%2Fc.example&token={TOKEN}", "", "version"),
    (f"kiosque:enrol?v=1&central=ftp%3A%2F%2Fc.example&token={TOKEN}", "", "bad_url"),
    (f"kiosque:enrol?v=1&central=https%3A%2F%2Fc.example%3Fx%3D1&token={TOKEN}", "", "bad_url"),
    ("kiosque:enrol?v=1&central=https%3A%2F%2Fc.example&token=short", "", "bad_token"),
    ("kiosque:enrol?v=1&central=https%3A%2F%2Fc.example&token=has%20space1234", "", "bad_token"),
    (TOKEN, "", "no_central"),
])
def test_what_cannot_be_used_is_refused_with_a_reason(text, default, reason):
    with pytest.raises(EnrollmentCodeError) as caught:
        parse_code(text, default)
    assert caught.value.reason == reason


def test_formatting_refuses_what_parsing_would():
    with pytest.raises(EnrollmentCodeError):
        format_code("not a url", TOKEN)
    with pytest.raises(EnrollmentCodeError):
        format_code("https://c.example", "-")
