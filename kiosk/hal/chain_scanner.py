"""The kiosk's scanner: zxing-cpp on every frame, ZBar as a second opinion where zxing saw a code it could not read.

Measured on the benchmark's camera-like frames (``bench/bench_decode.py``,
figures in ``bench/README.md``): zxing-cpp alone reads more frames than
ZBar alone, several times faster; yet ZBar reads some codes that zxing
locates and fails to decode, mostly under glare, and reads them better in
a crop around the code than in the whole frame. Running ZBar on every
frame zxing fails on would cost 12 to 15 ms on each frame without a code;
running it only on the regions zxing located costs a few milliseconds,
and only when there is a code there. So a frame with nothing in it costs
one zxing pass, and a frame zxing reads costs nothing more.
"""

from __future__ import annotations

import numpy as np

from kiosk.hal.pyzbar_scanner import PyzbarScanner
from kiosk.hal.scanner import CodeScanner
from kiosk.hal.zxing_scanner import Box, ZxingScanner

#: Around a located code, this much of its size on each side: the quiet zone and the corners a tilt moved.
MARGIN = 0.8
#: Located "codes" smaller than this (pixels) are texture, not a code worth a second decoder.
MIN_SIDE_PX = 20
#: A located code larger than this (pixels) is halved before ZBar reads it: ZBar's time grows with the
#: pixels, it reads a code at 3 to 4 pixels per module, and averaging halves the noise in large modules.
HALVE_ABOVE_PX = 200
#: At most this many located codes get a second opinion per frame (they are taken largest first).
MAX_SECOND_OPINIONS = 2


def _overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box: zxing reports one box per guess at a code's finder patterns."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w * h / max(1, smaller)


def distinct_codes(boxes: list[Box]) -> list[Box]:
    """One box per located code, largest first: boxes that mostly overlap are guesses at the same code."""
    kept: list[Box] = []
    for box in sorted(boxes, key=lambda b: -max(b[2] - b[0], b[3] - b[1])):
        if all(_overlap(box, other) < 0.5 for other in kept):
            kept.append(box)
    return kept


def _crop(shape: tuple[int, int], box: Box, margin: float = MARGIN) -> tuple[slice, slice] | None:
    left, top, right, bottom = box
    side = max(right - left, bottom - top)
    if side < MIN_SIDE_PX:
        return None
    m = margin * side
    h, w = shape
    y0, y1 = max(0, int(top - m)), min(h, int(bottom + m) + 1)
    x0, x1 = max(0, int(left - m)), min(w, int(right + m) + 1)
    if y1 - y0 < MIN_SIDE_PX or x1 - x0 < MIN_SIDE_PX:
        return None
    return slice(y0, y1), slice(x0, x1)


def _half(crop: np.ndarray) -> np.ndarray:
    h, w = crop.shape[0] // 2 * 2, crop.shape[1] // 2 * 2
    blocks = crop[:h, :w].reshape(h // 2, 2, w // 2, 2).astype(np.uint16)
    return ((blocks.sum(axis=(1, 3)) + 2) // 4).astype(np.uint8)


class ChainScanner(CodeScanner):
    """zxing-cpp first, then ZBar on the regions zxing located but could not read. Both libraries must load."""

    backend_name = "chain"

    def __init__(self, hal_config=None, sim_dir=None) -> None:
        super().__init__()
        self.first = ZxingScanner(hal_config, sim_dir)
        self.second = PyzbarScanner(hal_config, sim_dir)

    def _open(self) -> None:
        self.first.open()
        try:
            self.second.open()
        except Exception:
            self.first.close()
            raise

    def _close(self) -> None:
        self.first.close()
        self.second.close()

    def _self_test(self) -> str:
        details = []
        for scanner in (self.first, self.second):
            result = scanner.self_test()
            if not result.ok:
                raise RuntimeError(f"{scanner.backend_name}: {result.detail}")
            details.append(f"{scanner.backend_name} {result.detail}")
        return "; ".join(details)

    def decode(self, luma: np.ndarray) -> list[str]:
        frame = np.ascontiguousarray(luma, dtype=np.uint8)
        scan = self.first.scan(frame)
        if scan.payloads:
            return scan.payloads
        for box in distinct_codes(scan.unread)[:MAX_SECOND_OPINIONS]:
            region = _crop(frame.shape, box)
            if region is None:
                continue
            crop = frame[region]
            if max(box[2] - box[0], box[3] - box[1]) > HALVE_ABOVE_PX:
                crop = _half(crop)
            found = self.second.decode(crop)
            if found:
                return found
        return []
