"""Colours of the kiosk's screens: dark text on white, white on dark blue.

Contrast ratios against their background (WCAG 2.1, AA needs 4.5:1 for body
text): INK on WHITE 18.1:1, WHITE on BLUE 14.9:1, BLUE on PALE 11.8:1,
ERROR on WHITE 5.8:1 (5.0:1 on ERROR_BG), OK on WHITE 5.8:1, MUTED on WHITE
11.4:1 (:func:`contrast` computes them; ``tests/ui`` checks them).
The blue is the French State's "bleu France" (#000091).
"""

WHITE = (1, 1, 1, 1)
INK = (0.086, 0.086, 0.086, 1)  # #161616
MUTED = (0.227, 0.227, 0.227, 1)  # #3A3A3A
BLUE = (0.0, 0.0, 0.569, 1)  # #000091
BLUE_DOWN = (0.071, 0.071, 0.333, 1)  # #121255, pressed
PALE = (0.890, 0.890, 0.992, 1)  # #E3E3FD, unselected choices
PALE_DOWN = (0.792, 0.792, 0.984, 1)  # #CACAFB
LINE = (0.808, 0.808, 0.808, 1)  # #CECECE, separators
CURRENT = (0.42, 0.42, 0.85, 1)  # the progress bar's segment of the current step
SURFACE = (0.965, 0.965, 0.965, 1)  # #F6F6F6, cards
ERROR = (0.808, 0.020, 0.0, 1)  # #CE0500
ERROR_BG = (1.0, 0.914, 0.914, 1)  # #FFE9E9
OK = (0.094, 0.459, 0.235, 1)  # #18753C
DISABLED_BG = (0.898, 0.898, 0.898, 1)  # #E5E5E5
DISABLED_INK = (0.400, 0.400, 0.400, 1)  # #666666 (4.6:1 on DISABLED_BG)
HEADER_DISABLED = (0.710, 0.710, 0.910, 1)  # #B5B5E8: a header button waiting (8.8:1 on BLUE, dimmer than white)
GUIDE = (1.0, 0.851, 0.0, 1)  # the framing guide over the camera picture
SHADE = (0.0, 0.0, 0.2, 0.95)  # behind the inactivity question


def relative_luminance(rgb) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg, bg) -> float:
    """WCAG contrast ratio between two colours (1 to 21)."""
    a, b = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)
