"""The colours of the screens keep text readable in both palettes (WCAG 2.1 AA: 4.5:1 for text, 3:1 for a
control's edge), and the pairs checked are the ones the screens draw: every colour the kv files (and the
screens' Python) use for a text, a background or an edge is in one of the tables below."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk.ui.screens import theme

SCREENS = Path(__file__).resolve().parents[3] / "kiosk" / "ui" / "screens"
PALETTES = {p.name: p for p in (theme.NORMAL, theme.HIGH_CONTRAST)}

#: (text, background), by role: what the kv files draw text on.
TEXT_PAIRS = {
    "body text": ("INK", "WHITE"),
    "secondary text, counters": ("MUTED", "WHITE"),
    "header, primary buttons, a chosen answer, the start button": ("WHITE", "BLUE"),
    "pressed primary button and header button": ("WHITE", "BLUE_DOWN"),
    "headings, titles, secondary buttons, messages, a switch that is on": ("BLUE", "WHITE"),
    "unselected answers, pressed secondary button, offline notice": ("BLUE", "PALE"),
    "pressed answers": ("BLUE", "PALE_DOWN"),
    "keys": ("INK", "PALE"),
    "pressed keys": ("INK", "PALE_DOWN"),
    "error message": ("ERROR", "ERROR_BG"),
    "error text on the page": ("ERROR", "WHITE"),
    "the erase-everything button": ("WHITE", "ERROR"),
    "the erase-everything button pressed": ("WHITE", "ERROR_DOWN"),
    "confirmation": ("OK", "WHITE"),
    "cards, typed digits, the consent's sentence": ("INK", "SURFACE"),
    "field names on the card, the digits' placeholder": ("MUTED", "SURFACE"),
    "disabled button": ("DISABLED_INK", "DISABLED_BG"),
    "disabled header button": ("HEADER_DISABLED", "BLUE"),
    "the inactivity question": ("WHITE", "SHADE"),
}
#: (mark, what is around it): a control's edge, a tick, a drawing that carries meaning. 3:1.
NON_TEXT_PAIRS = {
    "edges of buttons, answers, keys, boxes; a tick box; the busy spinner": ("BLUE", "WHITE"),
    "edges of the header's buttons, the tick of a chosen answer": ("WHITE", "BLUE"),
    "the progress bar's steps done": ("BLUE", "WHITE"),
    "the progress bar's current step": ("CURRENT", "WHITE"),
    "a disabled button's edge": ("DISABLED_INK", "WHITE"),
    "a disabled header button's edge": ("HEADER_DISABLED", "BLUE"),
    "the idle scroll bar": ("MUTED", "WHITE"),
    "the tick box and the sensor drawn on a card": ("BLUE", "SURFACE"),
    "the sensor drawn while reading": ("OK", "SURFACE"),
    "the sensor's body": ("MUTED", "SURFACE"),
    "the signature's ink": ("INK", "WHITE"),
}
#: Colours that carry no meaning of their own (said otherwise), with why.
DECORATIVE = {
    "LINE": "separators, and the progress bar's steps to come: 'Étape N sur M' says it in words",
    "GUIDE": "the framing guide, drawn over the camera's picture with a dark shadow",
    "PALE": "the busy spinner's track (the turning arc is BLUE)",
}


def _over(fg, bg):
    """``fg`` (with its alpha) drawn over the opaque ``bg``."""
    a = fg[3]
    return tuple(a * f + (1 - a) * b for f, b in zip(fg[:3], bg[:3])) + (1.0,)


def ratio(palette, fg: str, bg: str) -> float:
    back = getattr(palette, bg)
    if back[3] < 1:  # a shade over the page
        back = _over(back, palette.WHITE)
    return theme.contrast(getattr(palette, fg), back)


@pytest.mark.parametrize("palette", sorted(PALETTES))
@pytest.mark.parametrize("name", sorted(TEXT_PAIRS))
def test_text_contrast_meets_wcag_aa_in_both_palettes(palette, name):
    fg, bg = TEXT_PAIRS[name]
    assert ratio(PALETTES[palette], fg, bg) >= 4.5, f"{name}: {ratio(PALETTES[palette], fg, bg):.2f}:1"


def test_high_contrast_text_reaches_7_to_1_but_for_a_pressed_button():
    low = {name: round(ratio(theme.HIGH_CONTRAST, *pair), 2) for name, pair in TEXT_PAIRS.items()
           if ratio(theme.HIGH_CONTRAST, *pair) < 7}
    assert set(low) <= {"the erase-everything button pressed"}, low


@pytest.mark.parametrize("palette", sorted(PALETTES))
@pytest.mark.parametrize("name", sorted(NON_TEXT_PAIRS))
def test_edges_and_marks_reach_3_to_1_in_both_palettes(palette, name):
    fg, bg = NON_TEXT_PAIRS[name]
    assert ratio(PALETTES[palette], fg, bg) >= 3, f"{name}: {ratio(PALETTES[palette], fg, bg):.2f}:1"


def _kv_uses() -> dict[str, set[str]]:
    """Palette names the kv files use, by how: as a text's colour, behind something, or as a line or mark."""
    uses: dict[str, set[str]] = {"text": set(), "background": set(), "mark": set()}
    for path in SCREENS.glob("*.kv"):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            names = set(re.findall(r"app\.theme\.([A-Z_]+)", line))
            if not names:
                continue
            key = line.strip().split(":", 1)[0]
            if key in ("color", "disabled_color"):
                uses["text"] |= names
            elif key in ("fill", "background_color"):
                uses["background"] |= names
            elif key in ("border_rgba", "bar_color", "bar_inactive_color"):
                uses["mark"] |= names
            elif key == "rgba":
                drawn = next((x.strip() for x in lines[i + 1:] if x.strip()), "")
                uses["background" if drawn in ("Rectangle:", "RoundedRectangle:") else "mark"] |= names
            else:
                raise AssertionError(f"{path.name}:{i + 1}: a palette colour in {key!r}: which table is it for?")
    return uses


def _python_uses() -> set[str]:
    """Palette names the screens' Python draws with (``palette.X``, ``theme.X`` of a palette in hand)."""
    names = set()
    for path in SCREENS.glob("*.py"):
        if path.name != "theme.py":
            names |= set(re.findall(r"\b(?:palette|theme)\.([A-Z][A-Z_]+)\b", path.read_text(encoding="utf-8")))
    return names


def test_the_tables_hold_every_colour_the_screens_draw():
    uses = _kv_uses()
    assert len(uses["text"]) >= 8 and len(uses["background"]) >= 8, uses  # the parser finds them
    text_fg = {fg for fg, _ in TEXT_PAIRS.values()}
    text_bg = {bg for _, bg in TEXT_PAIRS.values()}
    marks = {fg for fg, _ in NON_TEXT_PAIRS.values()}
    surrounds = {bg for _, bg in NON_TEXT_PAIRS.values()}
    assert uses["text"] <= text_fg, f"text colours without a pair: {sorted(uses['text'] - text_fg)}"
    loose = uses["background"] - text_bg - surrounds - marks - set(DECORATIVE)  # a filled shape may be a mark
    assert not loose, f"backgrounds without a pair: {sorted(loose)}"
    loose = uses["mark"] - marks - text_bg - set(DECORATIVE)  # an edge drawn in its fill's colour is the fill
    assert not loose, f"edges and marks without a pair: {sorted(loose)}"
    loose = _python_uses() - text_fg - text_bg - marks - surrounds - set(DECORATIVE)
    assert not loose, f"colours drawn from Python without a pair: {sorted(loose)}"


def test_every_role_has_a_colour_in_both_palettes_and_they_differ():
    names = theme.NORMAL.colour_names()
    assert names == theme.HIGH_CONTRAST.colour_names()
    changed = [n for n in names if getattr(theme.NORMAL, n) != getattr(theme.HIGH_CONTRAST, n)]
    assert set(names) - set(changed) <= {"GUIDE"}, "high contrast leaves a role as it was"


def _documented(palette_name: str) -> list[tuple[str, str, float]]:
    """The "X on Y n:1" figures of ``palette_name``'s paragraph in the theme module's docstring."""
    doc = theme.__doc__
    start = doc.index(f":data:`{palette_name}`")
    end = min(i for i in (doc.find(":data:`", start + 1), doc.find("``LINE``", start)) if i > 0)
    paragraph = " ".join(doc[start:end].split())
    return [(a, b, float(r)) for a, b, r in re.findall(r"\b([A-Z_]+) on ([A-Z_]+) (\d+\.\d):1", paragraph)]


@pytest.mark.parametrize("palette_name, palette", [("NORMAL", theme.NORMAL), ("HIGH_CONTRAST", theme.HIGH_CONTRAST)])
def test_the_docstring_gives_the_ratios_the_palette_has(palette_name, palette):
    figures = _documented(palette_name)
    documented = {(a, b) for a, b, _ in figures}
    assert set(TEXT_PAIRS.values()) <= documented, sorted(set(TEXT_PAIRS.values()) - documented)
    for fg, bg, figure in figures:
        assert round(ratio(palette, fg, bg), 1) == figure, (fg, bg, round(ratio(palette, fg, bg), 2), figure)


def test_contrast_formula_matches_known_values():
    assert theme.contrast((0, 0, 0, 1), (1, 1, 1, 1)) == pytest.approx(21.0)
    assert theme.contrast((1, 1, 1, 1), (1, 1, 1, 1)) == pytest.approx(1.0)
    assert theme.hex_of(theme.NORMAL.BLUE) == "000091"
