"""The Raspberry Pi camera on picamera2 (libcamera): a YUV stream to scan and preview, full-resolution stills.

picamera2 comes from the Pi's apt archive (``python3-picamera2``; the
app's virtual environment uses ``--system-site-packages`` there), never
from PyPI: its libcamera bindings are not published there. It is imported
when the camera opens, so this module imports on any PC, and the tests
drive the backend through :class:`kiosk.hal.sim.picamera2.SimPicamera2`
given as ``picamera2_factory``.

The camera runs one configuration while the kiosk is up: a ``main``
stream, which the ISP needs and nothing reads, and a ``lores`` YUV420
stream at ``camera_preview_size``. The top ``h`` rows of a YUV420 buffer
are the luminance plane, which is what the decoder and the preview want:
no colour conversion at all. Rows are padded to the ISP's stride, hence
the crop to ``w``. On a Pi 4 the lores stream must be YUV and no larger
than main. A still switches to a full-resolution configuration for one
frame and back (:meth:`switch_mode_and_capture_array`).

picamera2's ``RGB888`` is named after libcamera's DRM fourcc, which lists
channels from the most significant byte: in memory it is B, G, R (what
OpenCV wants); the still is flipped to RGB here.

Camera Module 3 has autofocus: it runs in continuous mode, set in both
configurations because picamera2 resets the controls to the
configuration's at every mode switch. The v2 module has fixed focus, too
far for a code held close (REFERENCE.md); nothing can be set for it.

A camera that does not answer (ribbon cable loose, libcamera errors) raises
:class:`CameraUnavailable`; picamera2 would otherwise wait forever for a
frame, so every capture has a timeout. The camera is closed after a
failure and opened again on the next call.
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any, Callable

import numpy as np

from titres.errors import BackendUnavailable, CameraUnavailable
from kiosk.hal.camera import Camera, frame_spread

APT_HINT = ("picamera2 is not installed (on the Pi: sudo apt install python3-picamera2, "
            "and a venv with --system-site-packages)")
#: libcamera's ``controls.AfModeEnum.Continuous``: passed as its value so the enum's module need not be imported.
AF_CONTINUOUS = 2
#: Seconds to wait for a preview frame before calling the camera gone (frames come every 33 to 83 ms).
FRAME_TIMEOUT_S = 2.0
#: Seconds for a still: stop, reconfigure, settle, capture, reconfigure, restart.
STILL_TIMEOUT_S = 10.0
#: Frames dropped after switching to the still configuration, for exposure and focus to settle.
STILL_SETTLE_FRAMES = 3
#: What picamera2 and libcamera raise when the camera is missing or stops: RuntimeError (most),
#: OSError (device nodes, and TimeoutError from a capture's wait), IndexError (no camera at all).
CAMERA_ERRORS = (RuntimeError, OSError, IndexError)


def _main_size(preview: tuple[int, int], still: tuple[int, int]) -> tuple[int, int]:
    """Twice the preview (a sensor mode with the full field of view), never above the still size; even sides."""
    w, h = min(2 * preview[0], max(still[0], preview[0])), min(2 * preview[1], max(still[1], preview[1]))
    return w - w % 2, h - h % 2


class Picamera2Camera(Camera):
    """One ``Picamera2`` object, opened at :meth:`open` and again after a failure.

    ``picamera2_factory()`` makes the object; by default ``Picamera2()``
    (camera 0). Without a factory and without picamera2 installed, the
    backend cannot load: :class:`BackendUnavailable` at construction, so
    ``kiosk selftest`` reports it as a load failure, not a camera fault.
    """

    backend_name = "picamera2"

    def __init__(self, hal_config, sim_dir=None, *, picamera2_factory: Callable[[], Any] | None = None,
                 frame_timeout_s: float = FRAME_TIMEOUT_S, still_timeout_s: float = STILL_TIMEOUT_S) -> None:
        super().__init__()
        if picamera2_factory is None and importlib.util.find_spec("picamera2") is None:
            raise BackendUnavailable(APT_HINT)
        self.preview_size: tuple[int, int] = tuple(hal_config.camera_preview_size)
        self.still_size: tuple[int, int] = tuple(hal_config.camera_still_size)
        self.frame_timeout_s = frame_timeout_s
        self.still_timeout_s = still_timeout_s
        self._factory = picamera2_factory
        self._camera = None
        self._still_config: dict | None = None
        self.autofocus = False  # whether the attached camera has a focus motor (set at each opening)
        self.model = "?"
        self._lock = threading.Lock()  # the worker takes frames; a self-test may come from another thread

    # --- connection -------------------------------------------------------
    def _make(self):
        if self._factory is not None:
            return self._factory()
        try:
            from picamera2 import Picamera2
        except ImportError as exc:
            raise BackendUnavailable(f"{APT_HINT}: {exc}") from exc
        return Picamera2()

    def _connect(self) -> None:
        camera = None
        try:
            camera = self._make()
            controls = {"AfMode": AF_CONTINUOUS} if "AfMode" in camera.camera_controls else {}
            preview = camera.create_preview_configuration(
                main={"size": _main_size(self.preview_size, self.still_size)},
                lores={"size": self.preview_size, "format": "YUV420"},
                controls=controls)
            still = camera.create_still_configuration(
                main={"size": self.still_size, "format": "RGB888"}, controls=controls)
            camera.configure(preview)
            camera.start()
        except CAMERA_ERRORS as exc:
            if camera is not None:
                self._shut(camera)
            raise CameraUnavailable(f"Pi camera: {type(exc).__name__}: {exc}") from exc
        self._camera, self._still_config = camera, still
        self.autofocus = bool(controls)
        self.model = str(camera.camera_properties.get("Model", "?"))

    @staticmethod
    def _shut(camera) -> None:
        """Stop and close ``camera`` whatever state it is in: after a timeout its job queue must be flushed first."""
        for step in ("cancel_all_and_flush", "stop", "close"):
            try:
                getattr(camera, step)()
            except Exception:  # a camera that failed may fail to stop too; it is being dropped either way
                pass

    def _drop(self) -> None:
        if self._camera is not None:
            self._shut(self._camera)
            self._camera = None

    def _ready(self):
        if not self.is_open:
            raise CameraUnavailable("camera is closed")
        if self._camera is None:
            self._connect()
        return self._camera

    # --- lifecycle --------------------------------------------------------
    def _open(self) -> None:
        self._connect()

    def _close(self) -> None:
        with self._lock:
            self._drop()

    def _self_test(self) -> str:
        luma = self.preview_frame()
        w, h = self.preview_size
        if luma.shape != (h, w):
            raise RuntimeError(f"preview frame is {luma.shape[1]}x{luma.shape[0]}, configured {w}x{h}")
        spread = frame_spread(luma)
        focus = "continuous autofocus" if self.autofocus else "fixed focus"
        return f"{self.model}, {focus}: preview {w}x{h}, spread {spread:.0f} grey levels"

    # --- frames -----------------------------------------------------------
    def preview_frame(self) -> np.ndarray:
        w, h = self.preview_size
        with self._lock:
            camera = self._ready()
            try:
                yuv = camera.capture_array("lores", wait=self.frame_timeout_s)
            except CAMERA_ERRORS as exc:
                self._drop()
                raise CameraUnavailable(f"Pi camera gave no frame: {type(exc).__name__}: {exc}") from exc
        return np.ascontiguousarray(yuv[:h, :w])

    def capture_still(self) -> np.ndarray:
        with self._lock:
            camera = self._ready()
            try:
                bgr = camera.switch_mode_and_capture_array(self._still_config, "main", wait=self.still_timeout_s,
                                                           delay=STILL_SETTLE_FRAMES)
            except CAMERA_ERRORS as exc:
                self._drop()
                raise CameraUnavailable(f"Pi camera gave no still: {type(exc).__name__}: {exc}") from exc
        return np.ascontiguousarray(bgr[..., 2::-1])
