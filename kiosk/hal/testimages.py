"""Pictures a real device is shown in its self-test: a clean code that any working decoder reads.

A self-test asks a real backend to prove it works end to end, so it needs
an input whose right answer is known. This is it, and nothing more: the
frames that imitate a hard scan (tilt, glare, a phone screen) are the
simulator's (:mod:`kiosk.hal.sim.scenes`), which builds on the same
modules. Importing this loads no simulator.
"""

from __future__ import annotations

import functools

import numpy as np
import qrcode

PAPER = 236  # grey level of white paper under the kiosk light
DESK = 112  # grey level of the desk / background


@functools.lru_cache(maxsize=64)
def qr_modules(payload: str) -> np.ndarray:
    """The code's modules (True = dark), without quiet zone. Cached: the same code is shown frame after frame."""
    qr = qrcode.QRCode(border=0, box_size=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(payload)
    qr.make(fit=True)
    return np.array(qr.get_matrix(), dtype=bool)


def code_frame(payload: str, size: tuple[int, int] = (640, 480), module_px: int = 6) -> np.ndarray:
    """``payload`` as a QR code, square and sharp, on paper in the middle of a desk: an ``(h, w)`` uint8 frame."""
    modules = qr_modules(payload)
    quiet = 4
    code = np.pad(modules, quiet, constant_values=False)
    patch = np.where(np.kron(code, np.ones((module_px, module_px), dtype=bool)), 0, PAPER).astype(np.uint8)
    w, h = size
    if patch.shape[0] > min(w, h):
        raise ValueError(f"a {payload!r} code at {module_px} px a module does not fit {w}x{h}")
    frame = np.full((h, w), DESK, dtype=np.uint8)
    top, left = (h - patch.shape[0]) // 2, (w - patch.shape[1]) // 2
    frame[top:top + patch.shape[0], left:left + patch.shape[1]] = patch
    return frame
