"""A stand-in for picamera2's ``Picamera2`` class, as much of it as the kiosk's backend uses, drawing the simulator's scenes.

This is not libcamera and runs no ISP: it is the part of picamera2's
Python surface that :mod:`kiosk.hal.pi.picamera2_camera` calls, with the
same method names and arguments, the same configuration dictionaries,
the same rules where breaking them raises (a lores stream larger than
main or not YUV on a Pi 4, configuring a running camera, an unknown
control), and the same buffer layouts:

* ``YUV420`` comes back as picamera2 gives it, an ``(h * 3 // 2, stride)``
  uint8 array: ``h`` rows of luminance, then the U and V planes at half
  resolution, rows padded to a stride rounded up to 64 bytes; computed
  from the scene's RGB with the full-range BT.601 matrix (libcamera's
  ``Sycc``, the preview's default colour space);
* ``RGB888`` is B, G, R in memory and ``BGR888`` is R, G, B (the names are
  DRM fourccs); ``XBGR8888`` is R, G, B, 255 and ``XRGB8888`` B, G, R, 255.

What fills the buffers is a :class:`~kiosk.hal.sim.camera.SimCamera`'s
scene (``lens``), so a QR code shown to it goes through real YUV packing
and the real decoder. Focus is modelled coarsely: a Camera Module 3
(``imx708``) renders sharp only while ``AfMode`` is continuous (or auto);
left in manual mode its lens sits at about a metre, and a module without
autofocus (``imx219``, the v2) has fixed focus that far away; both blur a
close code as a real one would. Exposure, white balance, noise
reduction, sensor modes and frame timing beyond the scene's pacing are
not simulated; control ranges are indicative.

Where picamera2 would wait forever (a capture before ``start()``, a
camera whose cable came out), this raises ``TimeoutError`` at once when
``wait`` is a number, and ``RuntimeError`` otherwise, rather than hang.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from titres.errors import CameraUnavailable
from kiosk.hal.sim.camera import SimCamera, UnpluggedScene

#: Sensor models: full resolution, and whether the module has a focus motor.
MODELS: dict[str, dict[str, Any]] = {
    "imx708": {"resolution": (4608, 2592), "autofocus": True},  # Camera Module 3
    "imx219": {"resolution": (3280, 2464), "autofocus": False},  # Camera Module v2
    "imx477": {"resolution": (4056, 3040), "autofocus": False},  # HQ camera (manual lens)
}
_COMMON_CONTROLS = {
    "AeEnable": (False, True, None), "AwbEnable": (False, True, None),
    "ExposureTime": (26, 220417486, 20000), "AnalogueGain": (1.12, 16.0, 1.0),
    "Brightness": (-1.0, 1.0, 0.0), "Contrast": (0.0, 32.0, 1.0), "Sharpness": (0.0, 16.0, 1.0),
    "FrameDurationLimits": (33333, 120000, 33333), "NoiseReductionMode": (0, 4, 0),
    "ScalerCrop": ((0, 0, 64, 64), (0, 0, 4608, 2592), (0, 0, 4608, 2592)),
}
_AF_CONTROLS = {"AfMode": (0, 2, 0), "AfTrigger": (0, 1, 0), "AfSpeed": (0, 1, 0), "LensPosition": (0.0, 32.0, 1.0)}
_AF_MANUAL, _AF_AUTO, _AF_CONTINUOUS = 0, 1, 2
#: Blur (Gaussian radius at 640 px wide) of a code at scanning distance with the lens focused a metre away.
DEFOCUS_PX = 2.2

_YUV = ("YUV420", "YVU420")
_FORMATS = _YUV + ("RGB888", "BGR888", "XBGR8888", "XRGB8888")
_STREAM_KEYS = ("format", "size", "stride", "preserve_ar")


class _Controls:
    """The controls set so far, read back as attributes as picamera2's ``Controls`` allows."""

    def __init__(self, advertised: dict[str, tuple]) -> None:
        self._advertised = advertised
        self._values: dict[str, Any] = {}

    def set_controls(self, controls: dict[str, Any]) -> None:
        for name, value in dict(controls).items():
            if name not in self._advertised:
                raise RuntimeError(f"Control {name} is not advertised by libcamera")
            self._values[name] = value

    def make_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None


def _stride(width: int, fmt: str) -> int:
    if fmt in _YUV:
        return -(-width // 64) * 64
    per_pixel = 4 if fmt.startswith("X") else 3
    return -(-width * per_pixel // 64) * 64


def yuv420(rgb: np.ndarray, stride: int) -> np.ndarray:
    """An ``(h, w, 3)`` RGB picture packed as picamera2 returns a YUV420 buffer: ``(h * 3 // 2, stride)``."""
    h, w = rgb.shape[:2]
    f = rgb.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = 128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b
    v = 128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b

    def half(plane: np.ndarray) -> np.ndarray:
        return plane[: h // 2 * 2, : w // 2 * 2].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    def byte(plane: np.ndarray) -> np.ndarray:
        return np.clip(plane + 0.5, 0, 255).astype(np.uint8)

    buf = np.zeros(stride * h * 3 // 2, dtype=np.uint8)
    y_size, c_stride, c_rows = stride * h, stride // 2, h // 2
    c_size = c_stride * c_rows
    buf[:y_size].reshape(h, stride)[:, :w] = byte(y)
    buf[y_size:y_size + c_size].reshape(c_rows, c_stride)[:, : w // 2] = byte(half(u))
    buf[y_size + c_size:y_size + 2 * c_size].reshape(c_rows, c_stride)[:, : w // 2] = byte(half(v))
    return buf.reshape(h * 3 // 2, stride)


class SimPicamera2:
    """``Picamera2(camera_num)`` for the kiosk's backend, with ``lens`` (a :class:`SimCamera`) as what the sensor sees.

    Tests give ``picamera2_factory=lambda: SimPicamera2(lens=camera)``.
    Opening an unplugged lens fails as ``Picamera2()`` does with no camera
    attached (``IndexError`` from its list of cameras).
    """

    def __init__(self, camera_num: int = 0, *, lens: SimCamera, model: str = "imx708") -> None:
        if model not in MODELS:
            raise ValueError(f"unknown sensor {model!r}; choose from {sorted(MODELS)}")
        if camera_num != 0 or isinstance(lens.scene, UnpluggedScene):
            raise IndexError("list index out of range")  # Picamera2.global_camera_info()[camera_num]
        self.lens = lens
        self.model = model
        self.camera_num = camera_num
        self.sensor_resolution: tuple[int, int] = MODELS[model]["resolution"]
        self._ctrl_info = dict(_COMMON_CONTROLS, **(_AF_CONTROLS if MODELS[model]["autofocus"] else {}))
        self.camera: object | None = object()  # picamera2's libcamera camera handle; None once closed
        self.is_open = True
        self.started = False
        self.camera_config: dict[str, Any] = {}
        self.controls = _Controls(self._ctrl_info)
        self.captures = 0  # frames delivered, for tests that count what reached the sensor

    # --- what the camera says about itself ---------------------------------
    @property
    def camera_controls(self) -> dict[str, tuple]:
        return {} if self.camera is None else dict(self._ctrl_info)

    @property
    def camera_properties(self) -> dict[str, Any]:
        if self.camera is None:
            return {}
        w, h = self.sensor_resolution
        return {"Model": self.model, "PixelArraySize": (w, h), "ColorFilterArrangement": 0, "Location": 2,
                "Rotation": 0}

    # --- configurations ------------------------------------------------------
    @staticmethod
    def _stream(defaults: dict[str, Any], updates: dict[str, Any] | None) -> dict[str, Any] | None:
        if updates is None:
            return None
        stream = dict(defaults)
        for key, value in updates.items():
            if key not in _STREAM_KEYS:
                raise ValueError(f"Bad key {key!r}: valid stream configuration keys are {_STREAM_KEYS}")
            stream[key] = value
        w, h = stream["size"]
        stream["size"] = (w - w % 2, h - h % 2)  # picamera2's align_stream(optimal=False)
        return stream

    def _configuration(self, use_case: str, main_defaults: dict, main, lores, controls, buffer_count, display,
                       encode) -> dict[str, Any]:
        if self.camera is None:
            raise RuntimeError("Camera not opened")
        main_stream = self._stream(main_defaults, main)
        lores_stream = self._stream({"format": "YUV420", "size": main_stream["size"], "preserve_ar": False}, lores)
        config = {"use_case": use_case, "transform": None, "colour_space": "Sycc", "buffer_count": buffer_count,
                  "queue": True, "main": main_stream, "lores": lores_stream, "raw": None,
                  "controls": dict(controls), "sensor": None}
        for name in (display, encode):
            if name is not None and config.get(name) is None:
                raise RuntimeError(f"Display stream {name} was not defined")
        config["display"], config["encode"] = display, encode
        return config

    def create_preview_configuration(self, main={}, lores=None, raw={}, transform=None, colour_space=None,
                                     buffer_count=4, controls={}, display="main", encode="main", queue=True,
                                     sensor={}, use_case="preview") -> dict[str, Any]:
        return self._configuration(use_case, {"format": "XBGR8888", "size": (640, 480), "preserve_ar": True},
                                   main, lores, controls, buffer_count, display, encode)

    def create_still_configuration(self, main={}, lores=None, raw={}, transform=None, colour_space=None,
                                   buffer_count=1, controls={}, display=None, encode=None, queue=True,
                                   sensor={}, use_case="still") -> dict[str, Any]:
        return self._configuration(use_case, {"format": "BGR888", "size": self.sensor_resolution,
                                              "preserve_ar": True},
                                   main, lores, controls, buffer_count, display, encode)

    @staticmethod
    def _check(config: dict[str, Any]) -> None:
        for name in ("main", "lores"):
            stream = config.get(name)
            if stream is None:
                if name == "main":
                    raise RuntimeError("'main' key expected in camera configuration")
                continue
            if stream.get("format") not in _FORMATS:
                raise RuntimeError(f"Bad format {stream.get('format')} in stream {name}")
            size = stream.get("size")
            if type(size) is not tuple or len(size) != 2:
                raise RuntimeError(f"size in {name} stream should be (width, height)")
            if size[0] % 2 or size[1] % 2:
                raise RuntimeError("width and height should be even")
        lores = config.get("lores")
        if lores is not None:
            (mw, mh), (lw, lh) = config["main"]["size"], lores["size"]
            if lw > mw or lh > mh:
                raise RuntimeError("lores stream dimensions may not exceed main stream")
            if lores["format"] not in _YUV:  # the Pi 4's ISP (VC4); a Pi 5 would allow RGB
                raise RuntimeError("lores stream must be YUV")

    def configure(self, camera_config=None) -> None:
        if self.camera is None:
            raise RuntimeError("Camera not opened")
        if self.started:
            raise RuntimeError("Camera must be stopped before configuring")
        config = copy.deepcopy(camera_config if camera_config is not None else self.create_preview_configuration())
        self._check(config)
        controls = _Controls(self._ctrl_info)
        controls.set_controls(config.get("controls") or {})
        for name in ("main", "lores"):
            if config.get(name) is not None:
                config[name]["stride"] = _stride(config[name]["size"][0], config[name]["format"])
        self.camera_config = config
        self.controls = controls  # as picamera2 does: a new configuration brings its own controls

    def stream_configuration(self, name: str = "main") -> dict[str, Any]:
        return self.camera_config[name]

    # --- running ----------------------------------------------------------
    def start(self, config=None, show_preview=False) -> None:
        if config is not None:
            self.configure(config)
        if not self.camera_config:
            self.configure()
        self.started = True

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        if not self.is_open:
            return
        self.stop()
        self.is_open = False
        self.camera = None
        self.camera_config = {}

    def cancel_all_and_flush(self) -> None:
        """Nothing is ever queued here: captures either return or raise at once."""

    def set_controls(self, controls: dict[str, Any]) -> None:
        if self.camera is None:
            raise RuntimeError("Camera not opened")
        self.controls.set_controls(controls)

    # --- capturing --------------------------------------------------------
    @staticmethod
    def _never(wait, why: str):
        if isinstance(wait, (int, float)) and not isinstance(wait, bool):
            return TimeoutError(why)
        return RuntimeError(f"{why} (picamera2 would wait forever here)")

    def _in_focus(self) -> bool:
        if not MODELS[self.model]["autofocus"]:
            return False
        return getattr(self.controls, "AfMode", _AF_MANUAL) in (_AF_AUTO, _AF_CONTINUOUS)

    def _array(self, config: dict[str, Any], name: str, wait) -> np.ndarray:
        stream = config.get(name) if name in ("main", "lores") else None
        if stream is None:
            raise RuntimeError(f"Stream {name!r} is not defined")
        size, fmt = stream["size"], stream["format"]
        try:
            rgb = self.lens.picture(size, still=config.get("use_case") == "still")
        except CameraUnavailable as exc:
            raise self._never(wait, f"no frame from the sensor ({exc})") from exc
        if not self._in_focus():
            radius = DEFOCUS_PX * size[0] / 640
            rgb = np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(radius)))
        self.captures += 1
        if fmt in _YUV:
            out = yuv420(rgb, stream["stride"])
            if fmt == "YVU420":  # V plane before U
                h, stride = size[1], stream["stride"]
                chroma = out.reshape(-1)[stride * h:].reshape(2, -1)
                out = np.concatenate([out.reshape(-1)[: stride * h], chroma[1], chroma[0]]).reshape(out.shape)
            return out
        if fmt == "RGB888":
            return np.ascontiguousarray(rgb[..., ::-1])
        if fmt == "BGR888":
            return np.ascontiguousarray(rgb)
        alpha = np.full(rgb.shape[:2] + (1,), 255, dtype=np.uint8)
        order = rgb if fmt == "XBGR8888" else rgb[..., ::-1]
        return np.concatenate([order, alpha], axis=2)

    def capture_array(self, name: str = "main", wait=None, signal_function=None) -> np.ndarray:
        if self.camera is None:
            raise RuntimeError("Camera not opened")
        if not self.started:
            raise self._never(wait, "capture_array before start(): no request will complete")
        return self._array(self.camera_config, name, wait)

    def switch_mode_and_capture_array(self, camera_config, name: str = "main", wait=None, signal_function=None,
                                      delay: int = 0) -> np.ndarray:
        """Stop, configure ``camera_config``, start, capture one frame of ``name``, and go back to the mode before."""
        if self.camera is None:
            raise RuntimeError("Camera not opened")
        if not self.started:
            raise self._never(wait, "switch_mode_and_capture_array before start(): no request will complete")
        previous = self.camera_config
        self.stop()
        try:
            self.configure(camera_config)
            self.start()
            return self._array(self.camera_config, name, wait)
        finally:
            self.stop()
            self.configure(previous)
            self.start()
