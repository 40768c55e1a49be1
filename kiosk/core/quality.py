"""Is a document photo good enough to keep? Sharpness and exposure, measured on the pixels.

Pure NumPy so it runs anywhere and is tested directly. The thresholds are
for a document filling most of a still taken at about 2 megapixels and
reduced to 640 px wide for the check (the check must take well under a
second on a Raspberry Pi 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


CHECK_WIDTH = 640


@dataclass(frozen=True)
class Thresholds:
    min_sharpness: float = 60.0  # variance of the Laplacian at 640 px wide
    min_brightness: float = 60.0  # mean grey, 0-255
    max_brightness: float = 225.0
    max_clipped: float = 0.08  # share of saturated pixels (glare)
    min_contrast: float = 12.0  # standard deviation: below, the frame is blank


@dataclass(frozen=True)
class QualityReport:
    sharpness: float
    brightness: float
    clipped: float
    contrast: float
    problem: str | None = None  # a "quality.*" message key, None when acceptable
    metrics: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def acceptable(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, float]:
        return {
            "sharpness": round(self.sharpness, 1),
            "brightness": round(self.brightness, 1),
            "clipped": round(self.clipped, 4),
            "contrast": round(self.contrast, 1),
        }


def to_grey(image: np.ndarray) -> np.ndarray:
    """Luminance (ITU-R BT.601) of an RGB or grey image, as float32."""
    import numpy as np

    if image.ndim == 2:
        return image.astype(np.float32)
    rgb = image[..., :3].astype(np.float32)
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _reduce(grey: np.ndarray, width: int = CHECK_WIDTH) -> np.ndarray:
    """Block-average down to about ``width`` columns: cheap, and steadies the sharpness figure."""
    step = max(1, grey.shape[1] // width)
    if step == 1:
        return grey
    h = grey.shape[0] // step * step
    w = grey.shape[1] // step * step
    return grey[:h, :w].reshape(h // step, step, w // step, step).mean(axis=(1, 3))


def laplacian_variance(grey: np.ndarray) -> float:
    g = grey
    lap = -4 * g[1:-1, 1:-1] + g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:]
    return float(lap.var())


def assess(image: np.ndarray, thresholds: Thresholds = Thresholds()) -> QualityReport:
    grey = _reduce(to_grey(image))
    brightness = float(grey.mean())
    contrast = float(grey.std())
    clipped = float((grey >= 250).mean())
    sharpness = laplacian_variance(grey)
    problem = None
    if contrast < thresholds.min_contrast:
        problem = "quality.empty"
    elif brightness < thresholds.min_brightness:
        problem = "quality.too_dark"
    elif brightness > thresholds.max_brightness or clipped > thresholds.max_clipped:
        problem = "quality.too_bright"
    elif sharpness < thresholds.min_sharpness:
        problem = "quality.blurry"
    return QualityReport(sharpness, brightness, clipped, contrast, problem)
