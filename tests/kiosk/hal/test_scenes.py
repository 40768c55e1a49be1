"""The rendered camera frames look like what a camera at the kiosk sees, and fail where real frames fail."""

from __future__ import annotations

import time

import numpy as np
import pytest

from kiosk.hal.sim.scenes import document_still, empty_frame, qr_frame, to_rgb
from kiosk.core.quality import assess


def test_a_qr_frame_is_a_luminance_plane_of_the_asked_size(rng):
    frame = qr_frame("A1B2C3D4E5", size=(320, 240), rng=rng)
    assert frame.shape == (240, 320) and frame.dtype == np.uint8


def test_frames_are_reproducible_from_the_same_random_state():
    a = qr_frame("A1B2C3D4E5", angle_deg=20, blur=1.0, rng=np.random.default_rng(7))
    b = qr_frame("A1B2C3D4E5", angle_deg=20, blur=1.0, rng=np.random.default_rng(7))
    assert np.array_equal(a, b)


def test_a_preview_frame_renders_fast_enough_for_a_live_preview(rng):
    qr_frame("A1B2C3D4E5", angle_deg=30, blur=1.0, rng=rng)  # warm the code cache
    times = []
    for _ in range(5):
        start = time.perf_counter()
        qr_frame("A1B2C3D4E5", angle_deg=30, blur=1.0, rng=rng)
        times.append(time.perf_counter() - start)
    assert sorted(times)[2] < 0.060  # aim 30 ms; the margin is for a busy test machine


def test_lower_contrast_narrows_the_gap_between_ink_and_paper(rng):
    crisp = qr_frame("A1B2C3D4E5", noise=0, rng=rng)
    flat = qr_frame("A1B2C3D4E5", noise=0, contrast=0.3, rng=rng)
    assert np.ptp(flat) < 0.4 * np.ptp(crisp)


def test_a_document_still_is_rgb_at_full_resolution(rng):
    still = document_still("proof_of_address", rng=rng)
    assert still.shape == (1520, 2028, 3) and still.dtype == np.uint8


@pytest.mark.parametrize("kind", ["document", "proof_of_address", "birth_certificate", "photo"])
def test_a_steady_well_lit_document_passes_the_quality_check(kind, rng):
    report = assess(document_still(kind, rng=rng))
    assert report.acceptable, report.as_dict()


@pytest.mark.parametrize("changes, problem", [
    ({"blur": 8.0}, "quality.blurry"),
    ({"brightness": 0.35}, "quality.too_dark"),
    ({"brightness": 1.6}, "quality.too_bright"),
])
def test_a_shaken_or_badly_lit_document_fails_the_quality_check_for_that_reason(changes, problem, rng):
    assert assess(document_still("document", rng=rng, **changes)).problem == problem


def test_an_empty_desk_is_seen_as_empty(rng):
    assert assess(to_rgb(empty_frame((2028, 1520), rng))).problem == "quality.empty"
