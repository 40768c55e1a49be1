"""The code scanner on ZBar, through pyzbar's bindings: QR codes only, in a luminance frame.

ZBar is no longer the kiosk's first decoder: on the benchmark's frames
zxing-cpp reads more, several times faster (``bench/bench_decode.py``).
It is the second opinion of :mod:`kiosk.hal.chain_scanner`, on the regions
where zxing-cpp located a code it could not read, and a backend of its own.

``pyzbar.decode()`` is not used: it cannot set ``ZBAR_CFG_BINARY``, and
without it ZBar guesses a character set for a QR code's bytes and often
guesses Shift-JIS for UTF-8 text ("Pré-demande" comes back as "Pr矇-demande").
This module drives the same libzbar functions through pyzbar's ``wrapper``
with that option set, and decodes the bytes itself.
"""

from __future__ import annotations

import threading
from ctypes import c_void_p, cast, string_at

import numpy as np

from titres.errors import BackendUnavailable
from kiosk.hal.scanner import CodeScanner

_CFG_ENABLE = 0
_CFG_BINARY = 4  # zbar.h >= 0.23: "don't convert binary data to text"; pyzbar's enum predates it
_Y800 = ord("Y") | ord("8") << 8 | ord("0") << 16 | ord("0") << 24  # 8-bit grey, one byte per pixel


def payload_text(data: bytes) -> str:
    """A code's bytes as text: UTF-8 as QR codes mostly carry, else Latin-1 (the QR default, which never fails)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class PyzbarScanner(CodeScanner):
    """One ZBar image scanner, opened once and reused for every frame (it is not thread-safe: a lock guards it)."""

    backend_name = "pyzbar"

    def __init__(self, hal_config=None, sim_dir=None) -> None:
        super().__init__()
        self._zbar = None
        self._scanner = None
        self._lock = threading.Lock()
        self.raw_bytes = False  # whether ZBar accepted to hand over the code's bytes untouched

    def _open(self) -> None:
        try:
            from pyzbar import wrapper as zbar  # loads libzbar, or raises ImportError
        except (ImportError, OSError) as exc:
            raise BackendUnavailable(f"libzbar cannot load (install libzbar0): {exc}") from exc
        scanner = zbar.zbar_image_scanner_create()
        zbar.zbar_image_scanner_set_config(scanner, zbar.ZBarSymbol.NONE, _CFG_ENABLE, 0)
        zbar.zbar_image_scanner_set_config(scanner, zbar.ZBarSymbol.QRCODE, _CFG_ENABLE, 1)
        self.raw_bytes = zbar.zbar_image_scanner_set_config(scanner, zbar.ZBarSymbol.QRCODE, _CFG_BINARY, 1) == 0
        self._zbar, self._scanner = zbar, scanner

    def _close(self) -> None:
        with self._lock:
            if self._scanner is not None:
                self._zbar.zbar_image_scanner_destroy(self._scanner)
            self._zbar = self._scanner = None

    def _self_test(self) -> str:
        from kiosk.hal.testimages import code_frame

        payloads = self.decode(code_frame("SELFTEST42"))
        if payloads != ["SELFTEST42"]:
            raise RuntimeError(f"test code read as {payloads!r}")
        return "decoded a rendered test code" + ("" if self.raw_bytes else " (old libzbar: charset guessed)")

    def decode(self, luma: np.ndarray) -> list[str]:
        frame = np.ascontiguousarray(luma, dtype=np.uint8)
        if frame.ndim != 2:
            raise ValueError(f"expected an (h, w) luminance plane, got shape {frame.shape}")
        h, w = frame.shape
        pixels = frame.tobytes()  # kept alive until the scan is over: ZBar reads it in place
        with self._lock:
            zbar = self._zbar
            if zbar is None:
                raise BackendUnavailable("scanner is closed")
            image = zbar.zbar_image_create()
            try:
                zbar.zbar_image_set_format(image, _Y800)
                zbar.zbar_image_set_size(image, w, h)
                zbar.zbar_image_set_data(image, cast(pixels, c_void_p), len(pixels), None)
                if zbar.zbar_scan_image(self._scanner, image) < 0:
                    raise RuntimeError("libzbar refused the frame")
                found = []
                symbol = zbar.zbar_image_first_symbol(image)
                while symbol:
                    data = string_at(zbar.zbar_symbol_get_data(symbol), zbar.zbar_symbol_get_data_length(symbol))
                    found.append(payload_text(data))
                    symbol = zbar.zbar_symbol_next(symbol)
                return found
            finally:
                zbar.zbar_image_destroy(image)
