"""The colours of the screens keep text readable (WCAG 2.1 AA: 4.5:1 for body text)."""

from __future__ import annotations

import pytest

from kiosk.screens import theme

#: (text, background) pairs the .kv files use.
PAIRS = {
    "body text": (theme.INK, theme.WHITE),
    "secondary text": (theme.MUTED, theme.WHITE),
    "header and primary buttons": (theme.WHITE, theme.BLUE),
    "pressed primary button": (theme.WHITE, theme.BLUE_DOWN),
    "headings, secondary buttons": (theme.BLUE, theme.WHITE),
    "unselected answers and keys": (theme.BLUE, theme.PALE),
    "pressed answers": (theme.BLUE, theme.PALE_DOWN),
    "keys": (theme.INK, theme.PALE),
    "error message": (theme.ERROR, theme.ERROR_BG),
    "error text on white": (theme.ERROR, theme.WHITE),
    "confirmation": (theme.OK, theme.WHITE),
    "card text": (theme.INK, theme.SURFACE),
    "disabled button": (theme.DISABLED_INK, theme.DISABLED_BG),
    "disabled header button": (theme.HEADER_DISABLED, theme.BLUE),
    "step counter and conditions on cards": (theme.MUTED, theme.SURFACE),
    "offline notice": (theme.BLUE, theme.PALE),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_text_contrast_meets_wcag_aa(name):
    fg, bg = PAIRS[name]
    assert theme.contrast(fg, bg) >= 4.5, f"{name}: {theme.contrast(fg, bg):.2f}:1"


def test_contrast_formula_matches_known_values():
    assert theme.contrast((0, 0, 0, 1), (1, 1, 1, 1)) == pytest.approx(21.0)
    assert theme.contrast((1, 1, 1, 1), (1, 1, 1, 1)) == pytest.approx(1.0)
