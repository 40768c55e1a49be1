"""From a camera frame to a pré-demande number: the decode pipeline, shared by the live scanner and ``kiosk decode``.

A frame is first decoded as it is. Only when nothing is found, two cheap
second chances follow, each aimed at a common failure at the kiosk: a
contrast stretch for a code shown on a dim phone screen or a grey
photocopy, and a 2x enlarged, sharpened centre crop for a code held too far
away and slightly out of focus. A large picture (a still, a phone photo)
is also tried at half size: ZBar misses codes whose modules are tens of
pixels wide when the sensor noise breaks their flat areas into edges. The pipeline stops at the first attempt that
finds a code, so a good frame costs one decode. (ZBar binarises locally and
already reads most low-contrast frames as they are; the stretch is for
decoders that do not, and costs nothing when the first attempt succeeds.)

A code alone is not a number: its payload must hold a pré-demande number
(:meth:`kiosk.predemande.NumberFormat.number_from_qr`). The live scanner
also waits for the same number on two frames (:class:`Debouncer`) before
acting, so that a misread never opens someone else's pré-demande.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from kiosk.errors import NotAPredemande

UNREADABLE = "identify.error.unreadable"
NOT_PREDEMANDE = "identify.error.not_predemande"
LARGE_FRAME_PX = 1000  # wider than this (a still, a phone photo), a half-size attempt is added

#: Short English reasons for ``kiosk decode``, by message key.
REASONS = {UNREADABLE: "no code found", NOT_PREDEMANDE: "not a pré-demande number"}


@dataclass(frozen=True)
class DecodeResult:
    """``number`` when a code held a pré-demande number; else ``error``, a message key for the screen."""

    number: str | None
    error: str | None
    payloads: list[str] = field(default_factory=list)
    ms: float = 0.0


def stretch_contrast(luma: np.ndarray, low: float = 2.0, high: float = 98.0) -> np.ndarray:
    """Map the ``low``..``high`` percentiles to 0..255: a flat, grey code gets black modules and white paper again."""
    lo, hi = np.percentile(luma, (low, high))
    if hi - lo < 1.0:
        return luma
    out = (luma.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(out, 0, 255).astype(np.uint8)


def enlarge_centre(luma: np.ndarray, factor: int = 2) -> np.ndarray:
    """The middle ``1/factor`` of the frame enlarged ``factor`` times, then sharpened: a small, far code gets bigger modules.

    Bicubic enlargement alone adds nothing ZBar can use; followed by an
    unsharp mask it restores the module edges that a slightly out-of-focus,
    small code had lost (a 40 px code under a 0.8 px blur goes from never
    read to read, on the simulator's frames).
    """
    h, w = luma.shape
    ch, cw = h // factor, w // factor
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = Image.fromarray(np.ascontiguousarray(luma[top:top + ch, left:left + cw], dtype=np.uint8))
    enlarged = crop.resize((cw * factor, ch * factor), Image.BICUBIC)
    return np.asarray(enlarged.filter(ImageFilter.UnsharpMask(radius=2, percent=150, threshold=0)))


def reduce_half(luma: np.ndarray) -> np.ndarray:
    """Half size by averaging 2x2 blocks: halves the sensor noise that makes ZBar miss very large modules."""
    h, w = luma.shape[0] // 2 * 2, luma.shape[1] // 2 * 2
    blocks = luma[:h, :w].reshape(h // 2, 2, w // 2, 2).astype(np.uint16)
    return ((blocks.sum(axis=(1, 3)) + 2) // 4).astype(np.uint8)


def _attempts(luma: np.ndarray):
    yield luma
    if luma.shape[1] > LARGE_FRAME_PX:
        yield reduce_half(luma)
    yield stretch_contrast(luma)
    yield enlarge_centre(luma)


def decode_number(luma: np.ndarray, scanner, number_format, *, second_chances: bool = True,
                  clock: Callable[[], float] = time.perf_counter) -> DecodeResult:
    """Find a pré-demande number in an ``(h, w)`` uint8 frame with ``scanner`` (a :class:`CodeScanner`).

    A frame with no code costs all three attempts (about 70 ms on a PC, several
    times that on a Pi 4): a live loop short of time can pass
    ``second_chances=False`` on some of its frames.
    """
    start = clock()
    payloads: list[str] = []
    for frame in (_attempts(luma) if second_chances else (luma,)):
        payloads = scanner.decode(frame)
        if payloads:
            break
    number = None
    for payload in payloads:
        try:
            number = number_format.number_from_qr(payload)
            break
        except NotAPredemande:
            continue
    ms = (clock() - start) * 1000.0
    if number is not None:
        return DecodeResult(number, None, payloads, ms)
    return DecodeResult(None, NOT_PREDEMANDE if payloads else UNREADABLE, payloads, ms)


def read_luma(path: Path) -> np.ndarray:
    """An image file's luminance plane; ``OSError`` (or PIL's subclass of it) when it cannot be read."""
    with Image.open(path) as img:
        img = ImageOps.exif_transpose(img)
        return np.asarray(img.convert("L"))


def decode_image_file(path: Path | str, scanner, number_format) -> dict:
    """The pipeline on a picture file, as one JSON-ready line of ``kiosk decode``'s report.

    ``ms`` is the decode time alone (reading a large JPEG can take longer
    than decoding it, and is not what a benchmark of the scanner measures).
    """
    start = time.perf_counter()
    try:
        luma = read_luma(Path(path))
    except (OSError, ValueError) as exc:  # PIL.UnidentifiedImageError is an OSError
        ms = (time.perf_counter() - start) * 1000.0
        return {"file": str(path), "number": None, "error": f"cannot read image: {exc}", "ms": round(ms, 1)}
    result = decode_number(luma, scanner, number_format)
    return {
        "file": str(path),
        "number": result.number,
        "error": None if result.error is None else REASONS.get(result.error, result.error),
        "ms": round(result.ms, 1),
    }


class Debouncer:
    """Accept a number only once it has been read ``confirmations`` times within ``window_s`` seconds.

    Frames without a number do not break the run (a code is often missed on
    a frame or two while it moves); a different number starts a new run.
    Once a number is accepted the run starts again, so holding the code up
    longer does not fire twice in a row.
    """

    def __init__(self, confirmations: int = 2, window_s: float = 1.5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if confirmations < 1:
            raise ValueError("confirmations must be at least 1")
        self.confirmations = confirmations
        self.window_s = window_s
        self._clock = clock
        self._candidate: str | None = None
        self._seen: list[float] = []

    def reset(self) -> None:
        self._candidate = None
        self._seen = []

    def feed(self, number: str | None) -> str | None:
        """The number, on the frame where it is confirmed; ``None`` otherwise."""
        if number is None:
            return None
        now = self._clock()
        if number != self._candidate:
            self._candidate = number
            self._seen = []
        self._seen = [t for t in self._seen if now - t <= self.window_s] + [now]
        if len(self._seen) >= self.confirmations:
            self.reset()
            return number
        return None
