"""The signature drawn on the touchscreen, turned into a PNG from the recorded strokes.

Rendering from the points (not from a screenshot) gives the same image
whatever the screen, and keeps nothing else of the screen in the dossier.
"""

from __future__ import annotations

import io
from typing import Sequence


Stroke = Sequence[tuple[float, float]]


def render_strokes(strokes: Sequence[Stroke], size: tuple[int, int], line_width: int = 4) -> bytes:
    """Strokes in pixel coordinates with the origin at the *bottom* left (Kivy's), as a 1-bit PNG."""
    from PIL import Image, ImageDraw

    w, h = size
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    for stroke in strokes:
        pts = [(x, h - 1 - y) for x, y in stroke]
        if len(pts) == 1:
            x, y = pts[0]
            draw.ellipse((x - line_width / 2, y - line_width / 2, x + line_width / 2, y + line_width / 2), fill=0)
        elif pts:
            draw.line(pts, fill=0, width=line_width, joint="curve")
    buf = io.BytesIO()
    img.convert("1").save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def demo_strokes(size: tuple[int, int] = (600, 200)) -> list[list[tuple[float, float]]]:
    """A plausible scribble, for scenarios and tests."""
    import math

    w, h = size
    first = [(w * 0.1 + i * 4, h * 0.5 + h * 0.25 * math.sin(i / 5)) for i in range(90)]
    second = [(w * 0.55 + i * 3, h * 0.35 + i * 0.8) for i in range(60)]
    return [first, second]
