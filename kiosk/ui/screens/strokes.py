"""A signature's strokes, rendered to the PNG that goes into the dossier.

Kept apart from the Kivy widget that records them so that it can be tested
without a display: what the agent sees is drawn here from the recorded
points, never taken from a screenshot.
"""

from __future__ import annotations

import io
from typing import Sequence

from PIL import Image, ImageDraw

Stroke = Sequence[tuple[float, float]]


def render_signature(strokes: Sequence[Stroke], width: int = 900, aspect: float = 3.0) -> bytes:
    """Render relative strokes (0..1, origin bottom-left) to a greyscale PNG."""
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
