"""Synthetic fingerprint images, as an R307-class optical sensor returns them.

A print is a whorl: ridges follow ``cos(ψ)`` where the phase ``ψ`` grows
with the (elliptical) distance from a core and turns once around it, and a
few spiral phase points (±1 turns, after Larkin & Fletcher's phase model of
fingerprints) add the ridge endings and bifurcations that real fingers
carry. The image is what the sensor hands over: 256 x 288 pixels, dark
ridges on a light prism, quantised to 16 grey levels (the sensor uploads 4
bits per pixel) and stored as 8 bits.

Each condition changes the physics, not a label: a light touch leaves a
small, faint contact; a wet finger fills the valleys with water and smears
ridges into dark blobs; a dry one touches the prism only in places, so
ridges come out thin and broken. Whether the result is acceptable is for
:func:`kiosk.core.fingerprint_quality.assess_print` to say, exactly as it does
for a real sensor's image.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

WIDTH, HEIGHT = 256, 288
PRISM = 238  # grey level of the sensor's glass with nothing on it
RIDGE_PERIOD_PX = 9.0  # about 0.46 mm at 500 ppi: an adult's ridge spacing

CONDITIONS = ("good", "no_finger", "too_light", "too_wet", "too_dry")


def _grid() -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    return yy.astype(np.float32), xx.astype(np.float32)


def _smooth_noise(rng: np.random.Generator, scale: int) -> np.ndarray:
    """Zero-mean, unit-variance noise varying over about ``scale`` pixels (pressure, moisture)."""
    small = rng.standard_normal((HEIGHT // scale + 3, WIDTH // scale + 3)).astype(np.float32)
    big = np.asarray(Image.fromarray(small).resize(((WIDTH // scale + 3) * scale, (HEIGHT // scale + 3) * scale),
                                                   Image.BICUBIC))[:HEIGHT, :WIDTH]
    return (big - big.mean()) / (big.std() + 1e-6)


def _blur(values01: np.ndarray, radius: float) -> np.ndarray:
    img = Image.fromarray(np.clip(values01 * 255.0, 0, 255).astype(np.uint8))
    return np.asarray(img.filter(ImageFilter.GaussianBlur(radius)), dtype=np.float32) / 255.0


def ridge_pattern(rng: np.random.Generator) -> np.ndarray:
    """Ridge darkness in 0..1 over the whole sensor, for one finger placed somewhere near the middle."""
    yy, xx = _grid()
    cx = WIDTH / 2 + rng.uniform(-20, 20)
    cy = HEIGHT * 0.42 + rng.uniform(-20, 20)
    dx, dy = xx - cx, yy - cy
    flatten = 1.0 + 0.5 / (1.0 + np.exp(-(dy - 10.0) / 30.0))  # ridges flatten towards the finger's base
    psi = 2 * np.pi / RIDGE_PERIOD_PX * np.sqrt(dx ** 2 + (flatten * dy) ** 2)
    psi += rng.choice([-1.0, 1.0]) * np.arctan2(dy, dx)
    for _ in range(int(rng.integers(4, 8))):  # minutiae
        mx, my = rng.uniform(40, WIDTH - 40), rng.uniform(40, HEIGHT - 40)
        psi += rng.choice([-1.0, 1.0]) * np.arctan2(yy - my, xx - mx)
    psi += 1.2 * np.sin(xx / 31 + rng.uniform(0, 6.3)) * np.sin(yy / 29 + rng.uniform(0, 6.3))
    return (0.5 + 0.5 * np.cos(psi)).astype(np.float32)


def contact_area(rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """Where the finger touches the glass: a soft-edged ellipse, 0..1."""
    yy, xx = _grid()
    cx = WIDTH / 2 + rng.uniform(-10, 10)
    cy = HEIGHT * 0.55 + rng.uniform(-8, 8)
    d = (xx - cx) ** 2 / (100 * scale) ** 2 + (yy - cy) ** 2 / (135 * scale) ** 2
    return np.clip((1.0 - d) * 6.0, 0.0, 1.0)


def render_print(condition: str = "good", rng: np.random.Generator | None = None) -> np.ndarray:
    """A ``(288, 256)`` uint8 sensor image of a finger in ``condition`` (one of :data:`CONDITIONS`)."""
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; choose from {CONDITIONS}")
    rng = rng if rng is not None else np.random.default_rng()
    depth = np.zeros((HEIGHT, WIDTH), dtype=np.float32)  # how much darker than the bare prism
    if condition != "no_finger":
        ridges = ridge_pattern(rng)
        pressure = 0.85 + 0.15 * _smooth_noise(rng, 48)
        if condition == "good":
            depth = contact_area(rng) * ridges * 195.0 * pressure
        elif condition == "too_light":
            depth = contact_area(rng, 0.85) * (10.0 + ridges * 38.0 * pressure)
        elif condition == "too_wet":
            smeared = _blur(ridges, 1.8)
            puddles = np.clip(_smooth_noise(rng, 20) * 0.5 + 0.5, 0.0, 1.0)
            depth = contact_area(rng) * np.clip(125.0 + 80.0 * smeared + 45.0 * puddles, 0.0, 225.0)
        else:  # too_dry
            thin = np.clip((ridges - 0.55) / 0.45, 0.0, 1.0)
            touching = _blur((_smooth_noise(rng, 6) > -0.1).astype(np.float32), 1.0)
            depth = contact_area(rng) * thin * touching * 170.0 * pressure
    grey = PRISM - depth + rng.normal(0.0, 4.0, depth.shape)
    return (np.clip(grey, 0, 255).astype(np.uint8) // 16 * 17).astype(np.uint8)
