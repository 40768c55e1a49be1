"""The simulated camera: frames of whatever scene is "in front of the lens".

A scene is a small value (:class:`QrScene`, :class:`DocumentScene`,
:class:`ImageScene`, :class:`FolderScene`, :class:`EmptyScene`,
:class:`UnpluggedScene`) set by :meth:`SimCamera.show` or, from outside the
process, by writing ``<sim_dir>/camera/scene.json``::

    {"type": "qr", "payload": "AB12CD34EF", "code_px": 120, "angle_deg": 20, "blur": 1.0}
    {"type": "qr", "payload": "AB12CD34EF", "screen": true, "contrast": 0.4, "glare": 0.6}
    {"type": "document", "kind": "proof_of_address", "blur": 6}
    {"type": "image", "path": "/home/me/recap.jpg"}
    {"type": "folder", "path": "/home/me/frames", "frames_per_image": 10}
    {"type": "empty"}
    {"type": "unplugged"}

With nothing set, the camera shows ``hal.sim_camera_dir`` as a folder feed
when configured, else the QR code of the demo pré-demande
:data:`DEFAULT_DEMO_NUMBER`, so the simulated kiosk can be walked through
without any setup.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from titres.errors import CameraUnavailable
from kiosk.hal.camera import Camera
from kiosk.hal.sim import scenes
from kiosk.hal.sim.control import ControlFile
from titres.durable import write_atomic

log = logging.getLogger(__name__)

#: The pré-demande number the simulated camera shows when told nothing else (one of the demo records).
DEFAULT_DEMO_NUMBER = "A1B2C3D4E5"

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm"})


@dataclass(frozen=True)
class QrScene:
    """A QR code held up to the camera. ``code_px``, ``angle_deg`` and ``blur`` are at preview resolution.

    The other fields are :func:`kiosk.hal.sim.scenes.qr_frame`'s effects:
    perspective (``tilt_deg``), position (``centre``), a shadow, a lamp's
    glare, a phone screen, JPEG loss.
    """

    payload: str
    code_px: int = 200
    angle_deg: float = 0.0
    blur: float = 0.0
    brightness: float = 1.0
    contrast: float = 1.0
    noise: float = 4.0
    tilt_deg: float = 0.0
    centre: tuple[float, float] = (0.5, 0.5)
    shadow: float = 0.0
    glare: float = 0.0
    glare_at: tuple[float, float] = (0.18, -0.15)
    screen: bool = False
    jpeg_quality: int = 0

    def __post_init__(self) -> None:
        for name in ("centre", "glare_at"):  # JSON lists in the control file
            object.__setattr__(self, name, tuple(getattr(self, name)))


@dataclass(frozen=True)
class DocumentScene:
    """A sheet on the desk (see :func:`kiosk.hal.sim.scenes.document_still`); ``blur`` is at still resolution."""

    kind: str = "document"
    blur: float = 0.0
    brightness: float = 1.0


@dataclass(frozen=True)
class ImageScene:
    """A real picture, shown as the camera would frame it (fitted, never cropped)."""

    path: str


@dataclass(frozen=True)
class FolderScene:
    """A folder of pictures played as a feed, each for ``frames_per_image`` preview frames, in name order."""

    path: str
    frames_per_image: int = 10


@dataclass(frozen=True)
class EmptyScene:
    """Nothing under the camera: the desk."""


@dataclass(frozen=True)
class UnpluggedScene:
    """The camera's cable is out: every call raises :class:`CameraUnavailable`."""


Scene = Union[QrScene, DocumentScene, ImageScene, FolderScene, EmptyScene, UnpluggedScene]

_TYPES: dict[str, type] = {
    "qr": QrScene, "document": DocumentScene, "image": ImageScene,
    "folder": FolderScene, "empty": EmptyScene, "unplugged": UnpluggedScene,
}


def scene_from_dict(data: dict[str, Any]) -> Scene:
    """The scene a control file describes; ``ValueError`` naming the problem otherwise."""
    if not isinstance(data, dict) or "type" not in data:
        raise ValueError('a scene is a JSON object with a "type"')
    kind = data["type"]
    cls = _TYPES.get(kind)
    if cls is None:
        raise ValueError(f"unknown scene type {kind!r}; choose from {sorted(_TYPES)}")
    allowed = {f.name for f in fields(cls)}
    extra = set(data) - allowed - {"type"}
    if extra:
        raise ValueError(f"unknown fields for a {kind} scene: {sorted(extra)}")
    try:
        return cls(**{k: v for k, v in data.items() if k != "type"})
    except TypeError as exc:
        raise ValueError(f"bad {kind} scene: {exc}") from exc


def scene_to_dict(scene: Scene) -> dict[str, Any]:
    name = next(k for k, v in _TYPES.items() if isinstance(scene, v))
    return {"type": name, **asdict(scene)}


def scene_file(sim_dir: Path) -> Path:
    return Path(sim_dir) / "camera" / "scene.json"


def write_scene_file(sim_dir: Path, scene: Scene) -> Path:
    """What a scenario or a person does from outside: put ``scene`` in front of the simulated camera."""
    return write_atomic(scene_file(sim_dir), json.dumps(scene_to_dict(scene), ensure_ascii=False).encode("utf-8"))


def _luma(rgb: np.ndarray) -> np.ndarray:
    grey = rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.clip(grey + 0.5, 0, 255).astype(np.uint8)


class SimCamera(Camera):
    """A camera whose picture is a :data:`Scene`; paced like a real one so a scanning loop does not spin.

    ``fps`` paces :meth:`preview_frame` (``None``: as fast as asked, for
    benchmarks); ``rng`` makes the sensor noise reproducible in tests.
    """

    backend_name = "sim"

    def __init__(self, hal_config, sim_dir: Path, *, fps: float | None = 30.0,
                 rng: np.random.Generator | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.hal_config = hal_config
        self.sim_dir = Path(sim_dir)
        self.preview_size: tuple[int, int] = tuple(hal_config.camera_preview_size)
        self.still_size: tuple[int, int] = tuple(hal_config.camera_still_size)
        self.fps = fps
        self._rng = rng if rng is not None else np.random.default_rng()
        self._clock = clock
        self._last_frame_at: float | None = None
        self._control = ControlFile(scene_file(self.sim_dir))
        self._default: Scene = (FolderScene(hal_config.sim_camera_dir) if hal_config.sim_camera_dir
                                else QrScene(DEFAULT_DEMO_NUMBER))
        self._scene: Scene = self._default
        self._frame = 0
        self._images: dict[tuple, np.ndarray] = {}

    # --- what is in front of the lens -------------------------------------
    @property
    def scene(self) -> Scene:
        self._poll_control()
        return self._scene

    def show(self, scene: Scene) -> None:
        self._scene = scene
        self._frame = 0

    def unplug(self) -> None:
        self.show(UnpluggedScene())

    def plug(self) -> None:
        """Back to the default scene after :meth:`unplug`."""
        self.show(self._default)

    def _poll_control(self) -> None:
        changed, text = self._control.poll()
        if not changed:
            return
        if text is None:
            self.show(self._default)
            return
        try:
            self.show(scene_from_dict(json.loads(text)))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            log.warning("ignoring %s: %s", self._control.path, exc)

    # --- lifecycle --------------------------------------------------------
    def _open(self) -> None:
        folder = self.hal_config.sim_camera_dir
        if folder and not Path(folder).is_dir():
            raise CameraUnavailable(f"hal.sim_camera_dir {folder!r} is not a folder")
        self._frame = 0
        self._last_frame_at = None

    def _close(self) -> None:
        self._images.clear()

    def _self_test(self) -> str:
        luma = self.preview_frame()
        still = self.capture_still()
        return f"preview {luma.shape[1]}x{luma.shape[0]}, still {still.shape[1]}x{still.shape[0]}, scene {type(self.scene).__name__}"

    # --- frames -----------------------------------------------------------
    def preview_frame(self) -> np.ndarray:
        scene = self._current()
        self._pace()
        self._frame += 1
        return self._render(scene, self.preview_size, still=False)

    def capture_still(self) -> np.ndarray:
        return self._render(self._still_scene(self._current()), self.still_size, still=True)

    def picture(self, size: tuple[int, int], *, still: bool = False) -> np.ndarray:
        """The scene as an ``(h, w, 3)`` uint8 RGB picture of any ``size``, for simulated camera libraries' buffers.

        ``still=False`` is a frame of the live stream (paced at ``fps``, and
        the next picture of a folder feed), ``still=True`` what
        :meth:`capture_still` would photograph. The field of view is the
        same at every size: a code is ``code_px`` wide at the preview size
        and proportionally wider in a larger picture. Raises
        :class:`CameraUnavailable` when closed or unplugged, as the frames do.
        """
        scene = self._current()
        if still:
            scene = self._still_scene(scene)
        else:
            self._pace()
            self._frame += 1
        return self._render(scene, tuple(size), still=True)

    def _still_scene(self, scene: Scene) -> Scene:
        if scene is self._default and isinstance(scene, QrScene):
            # Left to itself, the simulated kiosk shows the demo QR to the scanner and a sheet of
            # paper to the document camera, so a person can click through a whole capture.
            return DocumentScene()
        return scene

    def _current(self) -> Scene:
        if not self.is_open:
            raise CameraUnavailable("camera is closed")
        scene = self.scene
        if isinstance(scene, UnpluggedScene):
            raise CameraUnavailable("simulated camera unplugged")
        return scene

    def _pace(self) -> None:
        if not self.fps:
            return
        now = self._clock()
        if self._last_frame_at is not None:
            wait = self._last_frame_at + 1.0 / self.fps - now
            if wait > 0:
                time.sleep(wait)
                now += wait
        self._last_frame_at = now

    def _render(self, scene: Scene, size: tuple[int, int], *, still: bool) -> np.ndarray:
        scale = size[0] / self.preview_size[0]
        if isinstance(scene, QrScene):
            luma = scenes.qr_frame(scene.payload, size=size, code_px=int(scene.code_px * scale),
                                   angle_deg=scene.angle_deg, blur=scene.blur * scale, noise=scene.noise,
                                   brightness=scene.brightness, contrast=scene.contrast, rng=self._rng,
                                   tilt_deg=scene.tilt_deg, centre=scene.centre, shadow=scene.shadow,
                                   glare=scene.glare, glare_at=scene.glare_at, screen=scene.screen,
                                   jpeg_quality=scene.jpeg_quality)
            return scenes.to_rgb(luma) if still else luma
        if isinstance(scene, DocumentScene):
            blur = scene.blur * size[0] / self.still_size[0]
            rgb = scenes.document_still(scene.kind, size=size, blur=blur, brightness=scene.brightness, rng=self._rng)
            return rgb if still else _luma(rgb)
        if isinstance(scene, ImageScene):
            return self._picture(Path(scene.path), size, still)
        if isinstance(scene, FolderScene):
            pictures = self._folder(Path(scene.path))
            if not pictures:
                raise CameraUnavailable(f"no pictures in {scene.path}")
            index = max(0, self._frame - 1) // max(1, scene.frames_per_image) % len(pictures)
            return self._picture(pictures[index], size, still)
        luma = scenes.empty_frame(size, self._rng)
        return scenes.to_rgb(luma) if still else luma

    @staticmethod
    def _folder(folder: Path) -> list[Path]:
        try:
            return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        except OSError as exc:
            raise CameraUnavailable(f"cannot list {folder}: {exc}") from exc

    def _picture(self, path: Path, size: tuple[int, int], still: bool) -> np.ndarray:
        try:
            key = (str(path), path.stat().st_mtime_ns, size, still)
        except OSError as exc:
            raise CameraUnavailable(f"cannot read {path}: {exc}") from exc
        cached = self._images.get(key)
        if cached is not None:
            return cached
        try:
            with Image.open(path) as img:
                img = ImageOps.exif_transpose(img).convert("RGB" if still else "L")
        except (OSError, UnidentifiedImageError) as exc:
            raise CameraUnavailable(f"cannot read {path}: {exc}") from exc
        fill = (scenes.DESK,) * 3 if still else scenes.DESK
        framed = np.asarray(ImageOps.pad(img, size, method=Image.BILINEAR, color=fill))
        if len(self._images) >= 8:
            self._images.clear()
        self._images[key] = framed
        return framed
