"""Video files recorded from the simulator's scenes, written by the real OpenCV encoder, for the ``opencv`` camera to play."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np


def write_video(path: Path, frames: Iterable[np.ndarray], fps: float = 10.0) -> Path:
    """``frames`` (RGB ``(h, w, 3)`` or grey ``(h, w)``, all one size) as an MJPG ``.avi``, as a USB webcam streams."""
    import cv2

    writer = None
    try:
        for frame in frames:
            bgr = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
            if writer is None:
                h, w = bgr.shape[:2]
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
                assert writer.isOpened(), "this OpenCV build cannot write MJPG"
            writer.write(bgr)
    finally:
        if writer is not None:
            writer.release()
    return Path(path)


def record_scene(path: Path, camera, size: tuple[int, int], count: int = 4) -> Path:
    """``count`` frames of what the simulated ``camera`` shows, at ``size``, as a video file."""
    return write_video(path, (camera.picture(size) for _ in range(count)))
