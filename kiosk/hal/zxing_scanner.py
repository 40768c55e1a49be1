"""The code scanner on zxing-cpp: QR codes only, in a luminance frame.

zxing-cpp reads a 640x480 frame in 1 to 4 ms where ZBar takes 12 to 19,
and reads more of the kiosk's hard frames (tilted, dim, JPEG-worn, on a
phone screen): ``bench/bench_decode.py`` measures both. It binarises each
neighbourhood against its own average, so uneven light and low contrast
cost it little. Its call releases the GIL: decoding on the job worker
does not hold up the UI thread.

Only QR codes are asked for: a proof of address carries a 2D-Doc (a Data
Matrix) whose text can hold ten capitals and digits in a row, and reading
it would offer the pré-demande check a number that is not one.

The payload's bytes are decoded here, as :mod:`kiosk.hal.pyzbar_scanner`
does, rather than taken from zxing's ``text``: both backends then give the
same text for the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from titres.errors import BackendUnavailable
from kiosk.hal.pyzbar_scanner import payload_text
from kiosk.hal.scanner import CodeScanner

#: ``(left, top, right, bottom)`` in pixels of the frame.
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Scan:
    """What zxing made of a frame: the codes it read, and where it saw codes it could not read."""

    payloads: list[str] = field(default_factory=list)
    unread: list[Box] = field(default_factory=list)


def _box(position) -> Box:
    corners = (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
    xs, ys = [p.x for p in corners], [p.y for p in corners]
    return min(xs), min(ys), max(xs), max(ys)


class ZxingScanner(CodeScanner):
    """zxing-cpp holds no state between frames: nothing to open but the library, nothing to lock."""

    backend_name = "zxing"

    def __init__(self, hal_config=None, sim_dir=None) -> None:
        super().__init__()
        self._zxing = None
        self._qr = None

    def _open(self) -> None:
        try:
            import zxingcpp
        except ImportError as exc:
            raise BackendUnavailable(f"zxing-cpp cannot load (pip install zxing-cpp): {exc}") from exc
        self._zxing, self._qr = zxingcpp, zxingcpp.BarcodeFormat.QRCode

    def _close(self) -> None:
        self._zxing = self._qr = None

    def _self_test(self) -> str:
        from kiosk.hal.testimages import code_frame

        payloads = self.decode(code_frame("SELFTEST42"))
        if payloads != ["SELFTEST42"]:
            raise RuntimeError(f"test code read as {payloads!r}")
        return "decoded a rendered test code"

    def decode(self, luma: np.ndarray) -> list[str]:
        return self.scan(luma).payloads

    def scan(self, luma: np.ndarray) -> Scan:
        """Codes read in an ``(h, w)`` uint8 frame, and the boxes of those zxing found but could not decode.

        A code zxing locates (its three finder patterns) but cannot read
        (too few pixels per module, glare over some modules) is where a
        second decoder, or a closer look, is worth its time; a frame where
        nothing was located is not.
        """
        zxing = self._zxing
        if zxing is None:
            raise BackendUnavailable("scanner is closed")
        frame = np.ascontiguousarray(luma, dtype=np.uint8)
        if frame.ndim != 2:
            raise ValueError(f"expected an (h, w) luminance plane, got shape {frame.shape}")
        payloads, unread = [], []
        for code in zxing.read_barcodes(frame, formats=self._qr, return_errors=True):
            if code.valid:
                payloads.append(payload_text(code.bytes))
            else:
                unread.append(_box(code.position))
        return Scan(payloads, unread)
