"""The camera facade: a low-resolution stream to scan and preview, full-resolution stills of documents."""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from kiosk.hal.base import Device


class Camera(Device):
    """Backends: ``sim`` (kiosk.hal.sim.camera), ``picamera2`` and ``opencv`` (issue "hardware backends").

    Errors: :class:`titres.errors.CameraUnavailable`.
    """

    device_name = "camera"

    @abstractmethod
    def preview_frame(self) -> np.ndarray:
        """The next low-resolution frame as an ``(h, w)`` uint8 luminance plane (what the decoder reads)."""

    @abstractmethod
    def capture_still(self) -> np.ndarray:
        """A full-resolution ``(h, w, 3)`` uint8 RGB still of what is under the camera."""


#: A covered lens or a dead sensor gives a frame with less spread than this (grey levels).
UNIFORM_STD = 2.0


def frame_spread(luma: np.ndarray) -> float:
    """How much a self-test frame varies; raises when it is flat, as through a covered lens or from a dead sensor."""
    spread = float(luma.std())
    if spread < UNIFORM_STD:
        h, w = luma.shape[:2]
        raise RuntimeError(f"uniform {w}x{h} frame (level {luma.mean():.0f}): lens covered or sensor dead")
    return spread
