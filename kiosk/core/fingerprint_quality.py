"""Is a fingerprint image good enough to keep, and if not, what should the citizen change?

One pure function of the pixels, :func:`assess_print`, used by every
fingerprint backend (the simulator and the R503 alike), so the verdict
never comes from a backend's say-so and can be tested on images.

It measures what an agent looks at on the sensor's screen:

* **coverage**: the share of the image where something touches the glass;
* **darkness**: the share of dark pixels in that area (water fills the
  valleys and the print turns into dark blobs);
* **contrast**: how far ridges stand from valleys (a light touch barely marks);
* **ridge clarity**: the share of each block's spectral energy at ridge
  frequencies (periods of 5 to 14 pixels at 500 ppi); broken, dry ridges
  and smeared, wet ones both spread it elsewhere.

NFIQ2 expects 500 ppi images of at least 197 px and is advisory at most on
these small sensors (REFERENCE.md); the thresholds below were set on the
simulator's images (:mod:`kiosk.hal.sim.prints`) and must be checked
against a batch of real R503 images before they are trusted on a unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


_BLOCK = 16  # coverage and contrast blocks
_SPECTRAL_BLOCK = 32  # ridge clarity blocks: a few ridge periods each


@dataclass(frozen=True)
class PrintThresholds:
    foreground_std: float = 12.0  # a block with more spread than this holds ridges
    foreground_mean: float = 170.0  # ...or is dark enough to be a finger (a wet one has little spread)
    min_coverage: float = 0.20  # below: no finger, or barely a fingertip
    max_dark_share: float = 0.65  # above: too wet
    max_dark_mean: float = 110.0  # mean grey of the finger area below this: too wet
    min_contrast: float = 25.0  # median block standard deviation; below: too light
    min_clarity: float = 0.75  # median share of ridge-frequency energy; below: too dry (broken ridges)
    min_dark_share: float = 0.15  # below: ridges too thin to follow, too dry
    dark_level: int = 128


@dataclass(frozen=True)
class PrintMetrics:
    coverage: float
    dark_share: float
    mean: float
    contrast: float
    clarity: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(v), 3) for k, v in self.__dict__.items()}


def _blocks(grey: np.ndarray, size: int) -> np.ndarray:
    h, w = grey.shape[0] // size * size, grey.shape[1] // size * size
    return grey[:h, :w].reshape(h // size, size, w // size, size).transpose(0, 2, 1, 3).reshape(-1, size, size)


def measure_print(image: np.ndarray, t: PrintThresholds = PrintThresholds()) -> PrintMetrics:
    """The measurements behind :func:`assess_print`, for diagnostics and tuning."""
    import numpy as np

    grey = np.asarray(image, dtype=np.float32)
    if grey.ndim == 3:
        grey = grey[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    blocks = _blocks(grey, _BLOCK)
    means, stds = blocks.mean(axis=(1, 2)), blocks.std(axis=(1, 2))
    finger = (stds > t.foreground_std) | (means < t.foreground_mean)
    coverage = float(finger.mean()) if finger.size else 0.0
    if not finger.any():
        return PrintMetrics(coverage, 0.0, float(grey.mean()), 0.0, 0.0)
    pixels = blocks[finger]
    dark_share = float((pixels < t.dark_level).mean())
    mean = float(pixels.mean())
    contrast = float(np.median(stds[finger]))

    spectral = _blocks(grey, _SPECTRAL_BLOCK)
    s_finger = (spectral.std(axis=(1, 2)) > t.foreground_std) | (spectral.mean(axis=(1, 2)) < t.foreground_mean)
    clarity = 0.0
    if s_finger.any():
        b = spectral[s_finger]
        b = b - b.mean(axis=(1, 2), keepdims=True)
        window = np.outer(np.hanning(_SPECTRAL_BLOCK), np.hanning(_SPECTRAL_BLOCK)).astype(np.float32)
        power = np.abs(np.fft.fft2(b * window)) ** 2
        f = np.fft.fftfreq(_SPECTRAL_BLOCK)
        radius = np.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
        band = (radius >= 1 / 14) & (radius <= 1 / 5)
        total = power[:, radius > 0].sum(axis=1) + 1e-6
        clarity = float(np.median(power[:, band].sum(axis=1) / total))
    return PrintMetrics(coverage, dark_share, mean, contrast, clarity)


def _score(m: PrintMetrics) -> float:
    """0..1: each measurement's distance from an ideal print, combined."""
    import numpy as np

    coverage = np.clip(m.coverage / 0.5, 0, 1)
    contrast = np.clip((m.contrast - 10.0) / 40.0, 0, 1)
    clarity = np.clip((m.clarity - 0.3) / 0.6, 0, 1)
    balance = np.clip(1.0 - abs(m.dark_share - 0.35) / 0.4, 0, 1)
    return float((coverage * contrast * clarity * balance) ** 0.5)


def assess_print(image: np.ndarray, thresholds: PrintThresholds = PrintThresholds()) -> tuple[int, str | None]:
    """``(quality 0-100, feedback)``: ``feedback`` is ``None`` for a print to keep, else what to change.

    Feedback values are the ``finger.feedback.*`` message keys' last part:
    ``no_finger``, ``too_wet``, ``too_light``, ``too_dry``. They are checked
    in that order because each condition would also trip the later checks:
    a wet finger has no ridge clarity either, but "press lighter, wipe your
    finger" is the advice that helps.
    """
    t = thresholds
    m = measure_print(image, t)
    quality = int(round(100 * _score(m)))
    if m.coverage < t.min_coverage:
        return 0, "no_finger"
    if m.dark_share > t.max_dark_share or m.mean < t.max_dark_mean:
        return quality, "too_wet"
    if m.contrast < t.min_contrast:
        return quality, "too_light"
    if m.clarity < t.min_clarity or m.dark_share < t.min_dark_share:
        return quality, "too_dry"
    return quality, None
