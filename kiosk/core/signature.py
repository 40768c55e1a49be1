"""The signature drawn on the touchscreen, turned into the PNG the dossier holds, from the recorded strokes.

Rendering from the points (not from a screenshot) gives the same image
whatever the screen, and keeps nothing else of the screen in the dossier.
The signature pad and the scenario runner both go through
:func:`signature_png`, so a scripted session's dossier holds the image a
real one would.
"""

from __future__ import annotations

import io
import math
from typing import Sequence

#: Points relative to the pad, 0..1 both ways, origin at the *bottom* left (Kivy's).
Stroke = Sequence[tuple[float, float]]

#: Width of the signature image put in the dossier (its height follows the pad's proportions).
SIGNATURE_PNG_WIDTH = 900


def render_signature(strokes: Sequence[Stroke], width: int = SIGNATURE_PNG_WIDTH, aspect: float = 3.0) -> bytes:
    """Render relative strokes to a greyscale PNG ``width`` pixels wide and ``width / aspect`` high."""
    from PIL import Image, ImageDraw  # not at import: the core loads no imaging library

    height = max(1, int(round(width / max(0.1, aspect))))
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    pen = max(3, width // 180)

    def px(p):
        return (p[0] * (width - 1), (1.0 - p[1]) * (height - 1))

    for stroke in strokes:
        pts = [px(p) for p in stroke]
        if len(pts) == 1:
            x, y = pts[0]
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=0)
        else:
            draw.line(pts, fill=0, width=pen, joint="curve")
            for x, y in (pts[0], pts[-1]):  # round caps
                draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=0)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def signature_png(strokes: Sequence[Stroke], aspect: float = 3.0) -> bytes:
    """What :meth:`~kiosk.core.session.Session.signature_done` is given: the dossier's image of the
    strokes on a pad ``aspect`` times as wide as high, or nothing when the pad is blank."""
    return render_signature(strokes, SIGNATURE_PNG_WIDTH, aspect) if strokes else b""


def demo_strokes() -> list[list[tuple[float, float]]]:
    """A plausible scribble on a pad three times as wide as high, for scenarios and tests."""
    first = [(0.1 + i * 4 / 600, 0.5 + 0.25 * math.sin(i / 5)) for i in range(90)]
    second = [(0.55 + i * 3 / 600, 0.35 + i * 0.8 / 200) for i in range(60)]
    return [first, second]
