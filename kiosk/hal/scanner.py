"""The code scanner facade: find 2D codes in a luminance frame and return their payloads."""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from kiosk.hal.base import Device


class CodeScanner(Device):
    """Backends: ``chain`` (zxing-cpp, then ZBar on what it located: the default of ``sim`` and ``pi``), ``zxing``, ``pyzbar``.

    A decoder is software, but it sits behind a facade like a device because
    which one runs is a per-unit choice, measured in ``bench/``.
    """

    device_name = "scanner"

    @abstractmethod
    def decode(self, luma: np.ndarray) -> list[str]:
        """Payloads of the QR codes found in an ``(h, w)`` uint8 frame, as text; empty when none."""
