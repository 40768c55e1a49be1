"""The fingerprint sensor facade: one attempt per call, with feedback for the citizen."""

from __future__ import annotations

from abc import abstractmethod

from kiosk.hal.base import Device
from kiosk.core.readings import FingerReading


class FingerprintSensor(Device):
    """Backends: ``sim`` (kiosk.hal.sim.fingerprint); ``r503`` over adafruit_fingerprint (issue "hardware backends").

    Errors: :class:`titres.errors.SensorUnavailable`, :class:`titres.errors.SensorTimeout`.
    """

    device_name = "fingerprint"

    @abstractmethod
    def read(self, timeout_s: float = 10.0) -> FingerReading:
        """Wait for a finger, capture, assess. A poor image is a reading with ``ok=False``, not an error."""

    def guide(self, mode: str) -> None:
        """Light guidance on sensors that have it (``idle``, ``place``, ``ok``, ``retry``); a no-op otherwise."""
