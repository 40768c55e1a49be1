"""The camera on OpenCV's ``VideoCapture``: a USB webcam (V4L2) on a PC or a Pi, or a recorded video.

``hal.camera_device`` names the source: an index (``"0"`` is
``/dev/video0``) or a ``/dev/video*`` path opens the device through V4L2;
any other path is a video file, played in a loop, which is how a recording
of a real camera can stand in for it (and how the tests drive this backend
through the real library without a webcam).

A webcam is not a Pi camera: it has one stream, so the preview runs at
``camera_preview_size`` and a still switches the device to
``camera_still_size`` for one frame and back. V4L2 gives the nearest size
the device supports; the still is whatever it gave, never enlarged. The
preview is cropped to the configured aspect ratio and scaled to the
configured size, so the decoder and the screen always see the same frame.

A device that is absent, or stops delivering (the cable pulled), raises
:class:`CameraUnavailable`; the next call opens it again, so plugging the
cable back in is enough.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from titres.errors import BackendUnavailable, CameraUnavailable
from kiosk.hal.camera import Camera, frame_spread

#: Frames read and dropped after switching the device's size: the first ones come from the old
#: mode's buffers or before the exposure settled.
SETTLE_FRAMES = 2


def _import_cv2():
    try:
        import cv2
    except ImportError as exc:
        raise BackendUnavailable(
            "OpenCV cannot load (pip install kiosque-titres[opencv], or apt install python3-opencv on the Pi): "
            f"{exc}") from exc
    return cv2


def _fit(frame: np.ndarray, size: tuple[int, int], cv2) -> np.ndarray:
    """``frame`` cropped to the aspect ratio of ``size`` (centred) and scaled to it: nothing stretched."""
    w, h = size
    fh, fw = frame.shape[:2]
    if (fw, fh) == (w, h):
        return frame
    if fw * h > fh * w:  # wider than asked: crop the sides
        cw = max(1, round(fh * w / h))
        left = (fw - cw) // 2
        frame = frame[:, left:left + cw]
    elif fw * h < fh * w:  # taller: crop top and bottom
        ch = max(1, round(fw * h / w))
        top = (fh - ch) // 2
        frame = frame[top:top + ch]
    shrink = frame.shape[1] > w
    return cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


class OpenCVCamera(Camera):
    """One ``VideoCapture``, opened at :meth:`open` and again after any failure."""

    backend_name = "opencv"

    def __init__(self, hal_config, sim_dir=None) -> None:
        super().__init__()
        self.device = str(hal_config.camera_device).strip()
        self.preview_size: tuple[int, int] = tuple(hal_config.camera_preview_size)
        self.still_size: tuple[int, int] = tuple(hal_config.camera_still_size)
        self._cv2 = None
        self._capture = None
        self._lock = threading.Lock()  # the worker takes frames; a self-test may come from another thread

    # --- the source -------------------------------------------------------
    @property
    def is_file(self) -> bool:
        return not self.device.isdigit() and not self.device.startswith("/dev/")

    def _connect(self) -> None:
        cv2 = self._cv2
        if self.device.isdigit():
            node = Path(f"/dev/video{int(self.device)}")
        else:
            node = Path(self.device)
        if not node.exists():
            raise CameraUnavailable(f"no camera at {node}")
        try:
            if self.is_file:
                capture = cv2.VideoCapture(str(node))
            else:
                capture = cv2.VideoCapture(str(node), cv2.CAP_V4L2)
            if not capture.isOpened():
                capture.release()
                raise CameraUnavailable(f"OpenCV cannot open {node}")
            if not self.is_file:
                # MJPG lets a USB 2 webcam give large frames at a usable rate; one buffer keeps the
                # preview current instead of a queue of stale frames behind a slow decoder.
                capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
                capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
                self._set_size(capture, self.preview_size)
        except cv2.error as exc:
            raise CameraUnavailable(f"OpenCV cannot open {node}: {exc}") from exc
        self._capture = capture

    def _set_size(self, capture, size: tuple[int, int]) -> None:
        cv2 = self._cv2
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])

    def _drop(self) -> None:
        if self._capture is not None:
            try:
                self._capture.release()
            except Exception:  # releasing a capture whose device vanished may fail too; it is gone either way
                pass
            self._capture = None

    def _read(self) -> np.ndarray:
        """The next frame as the device gives it (BGR or grey), reopening once at the end of a recording."""
        if not self.is_open:
            raise CameraUnavailable("camera is closed")
        cv2 = self._cv2
        if self._capture is None:
            self._connect()
        try:
            ok, frame = self._capture.read()
            if not ok and self.is_file:  # the recording ended: play it again
                self._drop()
                self._connect()
                ok, frame = self._capture.read()
        except cv2.error as exc:
            self._drop()
            raise CameraUnavailable(f"{self.device}: {exc}") from exc
        if not ok or frame is None or frame.size == 0:
            self._drop()
            raise CameraUnavailable(f"{self.device} delivered no frame")
        return frame

    # --- lifecycle --------------------------------------------------------
    def _open(self) -> None:
        self._cv2 = _import_cv2()
        self._connect()

    def _close(self) -> None:
        with self._lock:
            self._drop()

    def _self_test(self) -> str:
        luma = self.preview_frame()
        spread = frame_spread(luma)
        return f"{self.device}: preview {luma.shape[1]}x{luma.shape[0]}, spread {spread:.0f} grey levels"

    # --- frames -----------------------------------------------------------
    def preview_frame(self) -> np.ndarray:
        with self._lock:
            frame = self._read()
            cv2 = self._cv2
            grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            return np.ascontiguousarray(_fit(grey, self.preview_size, cv2))

    def capture_still(self) -> np.ndarray:
        with self._lock:
            if self.is_file or not self.is_open:
                frame = self._read()
            else:
                frame = self._still_from_device()
            cv2 = self._cv2
            code = cv2.COLOR_GRAY2RGB if frame.ndim == 2 else cv2.COLOR_BGR2RGB
            return cv2.cvtColor(frame, code)

    def _still_from_device(self) -> np.ndarray:
        if self._capture is None:
            self._connect()
        try:
            self._set_size(self._capture, self.still_size)
            for _ in range(SETTLE_FRAMES):
                self._read()
            return self._read()
        except self._cv2.error as exc:
            self._drop()
            raise CameraUnavailable(f"{self.device}: {exc}") from exc
        finally:
            if self._capture is not None:
                self._set_size(self._capture, self.preview_size)
