"""The camera facade: a low-resolution stream to scan and preview, full-resolution stills of documents."""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from kiosk.hal.base import Device


class Camera(Device):
    """Backends: ``sim`` (kiosk.hal.sim.camera), ``picamera2`` and ``opencv`` (issue "hardware backends").

    Errors: :class:`kiosk.errors.CameraUnavailable`.
    """

    device_name = "camera"

    @abstractmethod
    def preview_frame(self) -> np.ndarray:
        """The next low-resolution frame as an ``(h, w)`` uint8 luminance plane (what the decoder reads)."""

    @abstractmethod
    def capture_still(self) -> np.ndarray:
        """A full-resolution ``(h, w, 3)`` uint8 RGB still of what is under the camera."""
