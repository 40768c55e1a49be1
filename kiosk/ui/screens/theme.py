"""The colours of the kiosk's screens, as two palettes: the usual one, and high contrast.

A :class:`Palette` names colours by their *role*, and the names are those of
the usual palette's look: ``WHITE`` is the page's background and the text on
``BLUE``, ``BLUE`` the header, the primary buttons and the headings, ``PALE``
the unselected answers and keys. The app holds the palette in use
(``app.theme``); the kv rules read ``app.theme.BLUE``, so a change of palette
re-colours every screen at once, without rebuilding anything.

:data:`NORMAL`: dark text on white, white on dark blue (the French State's
"bleu France", #000091). Contrast ratios against their background (WCAG 2.1;
AA needs 4.5:1 for text, 3:1 for a control's edge): INK on WHITE 18.1:1,
WHITE on BLUE 14.9:1, WHITE on BLUE_DOWN 16.9:1, BLUE on WHITE 14.9:1,
BLUE on PALE 11.8:1, BLUE on PALE_DOWN 9.5:1, INK on PALE 14.4:1,
INK on PALE_DOWN 11.5:1, MUTED on WHITE 11.4:1, INK on SURFACE 16.8:1,
MUTED on SURFACE 10.6:1, ERROR on WHITE 5.8:1, ERROR on ERROR_BG 5.0:1,
WHITE on ERROR 5.8:1, WHITE on ERROR_DOWN 8.9:1, OK on WHITE 5.8:1,
DISABLED_INK on DISABLED_BG 4.6:1, HEADER_DISABLED on BLUE 7.6:1,
WHITE on SHADE 18.4:1; edges and marks: CURRENT on WHITE 4.4:1,
DISABLED_INK on WHITE 5.7:1, OK on SURFACE 5.3:1.

:data:`HIGH_CONTRAST`: white text on black, and what was blue is yellow
with black text on it (the header, the primary buttons, a chosen answer);
errors in light red, confirmations in light green. Every text pair reaches
7:1 but one: INK on WHITE 21.0:1, WHITE on BLUE 19.6:1, WHITE on BLUE_DOWN
11.6:1, BLUE on WHITE 19.6:1, BLUE on PALE 14.5:1, BLUE on PALE_DOWN 9.7:1,
INK on PALE 15.5:1, INK on PALE_DOWN 10.4:1, MUTED on WHITE 13.1:1,
INK on SURFACE 17.4:1, MUTED on SURFACE 10.8:1, ERROR on WHITE 7.8:1,
ERROR on ERROR_BG 7.1:1, WHITE on ERROR 7.8:1, WHITE on ERROR_DOWN 6.3:1
(the erase button while pressed, for an instant), OK on WHITE 16.1:1,
DISABLED_INK on DISABLED_BG 7.5:1, HEADER_DISABLED on BLUE 7.9:1,
WHITE on SHADE 17.5:1 (the inactivity question: black on yellow); edges
and marks: CURRENT on WHITE 16.7:1, DISABLED_INK on WHITE 12.5:1,
OK on SURFACE 13.4:1.

``LINE`` (separators, the progress bar's steps still to come) is decorative:
"Étape N sur M" says the same in words. Every control's edge is ``BLUE``
(or ``WHITE`` on the header), far above 3:1 in both palettes.
:func:`contrast` computes the ratios; ``tests/kiosk/ui/test_theme.py`` checks
every pair the screens draw, in both palettes, and that the figures above
are the computed ones.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

RGBA = tuple[float, float, float, float]


def _hex(code: str, alpha: float = 1.0) -> RGBA:
    code = code.lstrip("#")
    r, g, b = (int(code[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return (round(r, 3), round(g, 3), round(b, 3), alpha)


@dataclass(frozen=True)
class Palette:
    """Every colour a screen draws, by role. Frozen: a palette is chosen, never edited in place."""

    name: str
    WHITE: RGBA  # the page's background; text on BLUE and on ERROR
    INK: RGBA  # body text
    MUTED: RGBA  # secondary text (details, counters), the idle scroll bar
    BLUE: RGBA  # the header, primary buttons, headings, controls' edges
    BLUE_DOWN: RGBA  # a primary button pressed
    PALE: RGBA  # unselected answers, keys, the offline notice
    PALE_DOWN: RGBA  # an answer or key pressed
    LINE: RGBA  # separators, the progress bar's steps to come (decorative)
    CURRENT: RGBA  # the progress bar's segment of the current step
    SURFACE: RGBA  # cards
    ERROR: RGBA  # what went wrong; the "erase everything" button
    ERROR_DOWN: RGBA  # that button pressed
    ERROR_BG: RGBA  # behind an error message
    OK: RGBA  # what worked
    DISABLED_BG: RGBA
    DISABLED_INK: RGBA
    HEADER_DISABLED: RGBA  # a header button waiting (dimmer than its neighbours, still readable)
    GUIDE: RGBA  # the framing guide over the camera picture
    SHADE: RGBA  # behind the inactivity question (text on it: WHITE)

    def colour_names(self) -> list[str]:
        return [f.name for f in fields(self) if f.name != "name"]


NORMAL = Palette(
    name="normal",
    WHITE=(1, 1, 1, 1),
    INK=_hex("161616"),
    MUTED=_hex("3A3A3A"),
    BLUE=_hex("000091"),
    BLUE_DOWN=_hex("121255"),
    PALE=_hex("E3E3FD"),
    PALE_DOWN=_hex("CACAFB"),
    LINE=_hex("CECECE"),
    CURRENT=_hex("6B6BD9"),
    SURFACE=_hex("F6F6F6"),
    ERROR=_hex("CE0500"),
    ERROR_DOWN=_hex("990000"),
    ERROR_BG=_hex("FFE9E9"),
    OK=_hex("18753C"),
    DISABLED_BG=_hex("E5E5E5"),
    DISABLED_INK=_hex("666666"),
    HEADER_DISABLED=_hex("B5B5E8"),
    GUIDE=_hex("FFD900"),
    SHADE=(0.0, 0.0, 0.2, 0.95),
)

HIGH_CONTRAST = Palette(
    name="high_contrast",
    WHITE=_hex("000000"),
    INK=_hex("FFFFFF"),
    MUTED=_hex("CCCCCC"),
    BLUE=_hex("FFFF00"),
    BLUE_DOWN=_hex("C7C700"),
    PALE=_hex("242424"),
    PALE_DOWN=_hex("404040"),
    LINE=_hex("8A8A8A"),
    CURRENT=_hex("00FFFF"),
    SURFACE=_hex("1A1A1A"),
    ERROR=_hex("FF7070"),
    ERROR_DOWN=_hex("F05A5A"),
    ERROR_BG=_hex("2B0000"),
    OK=_hex("5CFF8A"),
    DISABLED_BG=_hex("333333"),
    DISABLED_INK=_hex("C8C8C8"),
    HEADER_DISABLED=_hex("4D4D4D"),
    GUIDE=_hex("FFD900"),
    SHADE=(1.0, 1.0, 0.0, 0.95),
)


def palette(high_contrast: bool) -> Palette:
    return HIGH_CONTRAST if high_contrast else NORMAL


def hex_of(rgba) -> str:
    """``(1, 0, 0, 1)`` → ``"FF0000"``: a colour for Kivy's ``[color=…]`` markup."""
    return "".join(f"{round(c * 255):02X}" for c in rgba[:3])


def relative_luminance(rgb) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg, bg) -> float:
    """WCAG contrast ratio between two colours (1 to 21)."""
    a, b = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)
