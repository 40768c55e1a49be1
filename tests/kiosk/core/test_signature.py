"""The signature in the dossier is drawn from the recorded strokes, not taken from the screen."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from kiosk.core.signature import SIGNATURE_PNG_WIDTH, demo_strokes, render_signature, signature_png


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"))


def test_strokes_become_black_ink_on_white_at_the_requested_width():
    png = render_signature([[(0.1, 0.5), (0.9, 0.5)]], width=600, aspect=3.0)
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size == (600, 200)
    px = _pixels(png)
    assert px[100, 300] == 0, "the middle of the stroke is inked"
    assert px[10, 10] == 255 and px[190, 590] == 255, "the rest is paper"


def test_kivy_y_axis_points_up_and_the_image_y_axis_down():
    px = _pixels(render_signature([[(0.5, 0.9), (0.55, 0.9)]], width=300, aspect=1.0))
    ink_rows = np.where((px < 128).any(axis=1))[0]
    assert ink_rows.max() < 60, "a stroke near the top of the pad is near the top of the image"


def test_a_tap_leaves_a_dot():
    px = _pixels(render_signature([[(0.5, 0.5)]], width=300, aspect=1.0))
    assert (px < 128).sum() > 5


def test_no_strokes_is_a_blank_page():
    assert (_pixels(render_signature([], width=300)) == 255).all()


def test_a_blank_pad_gives_no_image_and_a_signed_one_the_dossiers_width():
    assert signature_png([], aspect=3.2) == b""
    img = Image.open(io.BytesIO(signature_png(demo_strokes(), aspect=3.0)))
    assert img.size == (SIGNATURE_PNG_WIDTH, SIGNATURE_PNG_WIDTH // 3) and img.mode == "L"
