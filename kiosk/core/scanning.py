"""From a camera frame to a pré-demande number: the decode pipeline, shared by the live scanner and ``kiosk decode``.

A frame is first decoded as it is. Only when nothing is found do second
chances follow, each aimed at a failure the benchmark (``bench/bench_decode.py``)
measured and each kept because it reads frames the others do not:

* the region of interest, the preview's framing guide in the middle of the
  frame, enlarged twice (bicubic): a code held far away (70 to 100 px)
  or tilted gets two pixels per module where it had one;
* the same enlargement sharpened, for a code held too far (40 to 70 px)
  that is also a little out of focus (the v2 camera's fixed focus, a hand
  that moves): it reads no more of the benchmark's 70 to 300 px codes,
  but some of these, which nothing else reads;
* for a large picture (a still, a phone photo), a half-size copy instead:
  ZBar misses codes whose modules are tens of pixels wide when sensor
  noise breaks their flat areas into edges.

The pipeline stops at the first attempt that finds a code, so a good frame
costs one decode. A whole-frame contrast stretch was measured too and read
no frame the others missed with the default scanner (zxing-cpp binarises
each neighbourhood against its own average, and the ``chain`` scanner asks
ZBar for a second opinion where zxing located a code); it is kept as a
function (:func:`stretch_contrast`) for ``bench/`` and for decoders that
binarise globally, not as an attempt.

Codes on a phone screen (low contrast, moiré, glare) need nothing more in
the frame: the scanner's local binarisation reads them, and a code lost
under a reflection is read on a later frame, once the hand has moved.
That is the other half of robustness, across frames: the live loop
decodes every preview frame, and :class:`Debouncer` lets frames without a
number pass without breaking the run, so one good frame in a few is
enough.

A code alone is not a number: its payload must hold a pré-demande number
(:meth:`titres.predemande.NumberFormat.number_from_qr`). The live scanner
also waits for the same number on two frames (:class:`Debouncer`) before
acting, so that a misread never opens someone else's pré-demande.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from titres.errors import NotAPredemande

if TYPE_CHECKING:
    import numpy as np

UNREADABLE = "identify.error.unreadable"
NOT_PREDEMANDE = "identify.error.not_predemande"
LARGE_FRAME_PX = 1000  # wider than this (a still, a phone photo), a half-size attempt replaces the enlargements
#: Share of the frame's width and height the enlarged region of interest keeps: about the preview's
#: framing guide (a square 0.62 of the height, :class:`kiosk.ui.screens.widgets.CameraPreview`). 0.65 and
#: 0.7 read no more benchmark frames and cost 3 to 5 ms more on a frame without a code.
GUIDE_SHARE = 0.6

#: Short English reasons for ``kiosk decode``, by message key.
REASONS = {UNREADABLE: "no code found", NOT_PREDEMANDE: "not a pré-demande number"}

#: Given a frame, the frames to decode in turn until one holds a code.
Attempts = Callable[["np.ndarray"], Iterable["np.ndarray"]]


@dataclass(frozen=True)
class DecodeResult:
    """``number`` when a code held a pré-demande number; else ``error``, a message key for the screen."""

    number: str | None
    error: str | None
    payloads: list[str] = field(default_factory=list)
    ms: float = 0.0


def stretch_contrast(luma: np.ndarray, low: float = 2.0, high: float = 98.0) -> np.ndarray:
    """Map the ``low``..``high`` percentiles to 0..255: a flat, grey code gets black modules and white paper again."""
    import numpy as np

    lo, hi = np.percentile(luma, (low, high))
    if hi - lo < 1.0:
        return luma
    out = (luma.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(out, 0, 255).astype(np.uint8)


def enlarge_centre(luma: np.ndarray, factor: int = 2, share: float = GUIDE_SHARE) -> np.ndarray:
    """The middle ``share`` of the frame (the framing guide) enlarged ``factor`` times, bicubic.

    Bicubic rather than bilinear: on the benchmark it reads a few more
    small, tilted codes. Not sharpened: sharpening amplifies the sensor
    noise and the moiré of phone screens, and loses more frames than it
    gains; :func:`sharpen` is a separate, later attempt.
    """
    import numpy as np
    from PIL import Image

    h, w = luma.shape
    ch, cw = max(1, int(h * share)), max(1, int(w * share))
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = Image.fromarray(np.ascontiguousarray(luma[top:top + ch, left:left + cw], dtype=np.uint8))
    return np.asarray(crop.resize((cw * factor, ch * factor), Image.BICUBIC))


def sharpen(luma: np.ndarray) -> np.ndarray:
    """A 3x3 sharpening of an enlarged frame: restores the module edges a small, slightly soft code had lost.

    A 40 px code under a 0.8 px blur goes from never read to read (ZBar and
    zxing alike). The 3x3 kernel costs half what an unsharp mask of the
    same effect does (5 ms against 12 on a 768x576 frame here).
    """
    import numpy as np
    from PIL import Image, ImageFilter

    return np.asarray(Image.fromarray(np.ascontiguousarray(luma, dtype=np.uint8)).filter(ImageFilter.SHARPEN))


def reduce_half(luma: np.ndarray) -> np.ndarray:
    """Half size by averaging 2x2 blocks: halves the sensor noise that makes ZBar miss very large modules."""
    import numpy as np

    h, w = luma.shape[0] // 2 * 2, luma.shape[1] // 2 * 2
    blocks = luma[:h, :w].reshape(h // 2, 2, w // 2, 2).astype(np.uint16)
    return ((blocks.sum(axis=(1, 3)) + 2) // 4).astype(np.uint8)


def frame_attempts(luma: np.ndarray) -> Iterator[np.ndarray]:
    """The pipeline's attempts, computed only when the one before found nothing."""
    yield luma
    if luma.shape[1] > LARGE_FRAME_PX:
        yield reduce_half(luma)
        return
    enlarged = enlarge_centre(luma)
    yield enlarged
    yield sharpen(enlarged)


def decode_number(luma: np.ndarray, scanner, number_format, *, second_chances: bool = True,
                  attempts: Attempts = frame_attempts,
                  clock: Callable[[], float] = time.perf_counter) -> DecodeResult:
    """Find a pré-demande number in an ``(h, w)`` uint8 frame with ``scanner`` (a :class:`CodeScanner`).

    A 640x480 frame with no code costs every attempt: about 10 ms with the
    ``chain`` scanner on the 2-core development machine, 40 to 70 ms with
    ``pyzbar`` alone. A live loop short of time can pass
    ``second_chances=False`` on some of its frames; ``attempts`` replaces
    the pipeline (the benchmark compares variants with it).
    """
    start = clock()
    payloads: list[str] = []
    for frame in (attempts(luma) if second_chances else (luma,)):
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
    import numpy as np
    from PIL import Image, ImageOps

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
