"""Is a document photo good enough to keep? Synthetic stills, measured as the kiosk measures them."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from titres.messages import MESSAGES
from kiosk.core.quality import CHECK_WIDTH, QualityReport, Thresholds, assess, laplacian_variance, to_grey


def test_a_sharp_well_lit_document_is_accepted(document):
    report = assess(document())
    assert report.acceptable and report.problem is None
    assert report.sharpness > Thresholds().min_sharpness * 10


def test_a_sharp_document_at_the_check_width_is_accepted(document):
    assert assess(document(480, CHECK_WIDTH)).acceptable


def test_a_colour_still_is_measured_on_its_luminance(document):
    grey = document()
    rgb = np.stack([grey, grey, grey], axis=-1)
    rgba = np.dstack([rgb, np.full(grey.shape, 255, np.uint8)])
    assert assess(rgb) == assess(grey)
    assert assess(rgba) == assess(grey)


def test_a_box_blurred_document_is_blurry(document, blur):
    report = assess(blur(document(), 10))
    assert report.problem == "quality.blurry"
    assert not report.acceptable


def test_blur_lowers_sharpness_step_by_step(document, blur):
    sharpness = [assess(blur(document(), r) if r else document()).sharpness for r in (0, 2, 5, 10)]
    assert sharpness == sorted(sharpness, reverse=True)


def test_a_pil_gaussian_blur_is_blurry_too(document):
    from PIL import ImageFilter

    blurred = np.asarray(Image.fromarray(document()).filter(ImageFilter.GaussianBlur(6)))
    assert assess(blurred).problem == "quality.blurry"


def test_a_dark_photo_is_too_dark(document):
    dark = (document().astype(np.float32) * 0.25).astype(np.uint8)
    report = assess(dark)
    assert report.problem == "quality.too_dark"
    assert report.brightness < Thresholds().min_brightness


def test_an_overexposed_photo_is_too_bright(document):
    bright = np.clip(document().astype(np.int16) + 120, 0, 255).astype(np.uint8)
    report = assess(bright)
    assert report.problem == "quality.too_bright"


def test_glare_on_part_of_the_document_is_too_bright(document):
    img = document()
    img[: img.shape[0] // 4, :] = 255  # a saturated band: a quarter of the frame
    report = assess(img)
    assert report.clipped > Thresholds().max_clipped
    assert report.problem == "quality.too_bright"


@pytest.mark.parametrize("level", [0, 128, 255])
def test_a_blank_frame_is_empty(level):
    assert assess(np.full((960, 1280), level, np.uint8)).problem == "quality.empty"


def test_a_blank_frame_with_sensor_noise_is_still_empty():
    rng = np.random.default_rng(3)
    noisy = np.clip(rng.normal(128, 3, (960, 1280)), 0, 255).astype(np.uint8)
    assert assess(noisy).problem == "quality.empty"


def test_thresholds_can_be_tightened(document, blur):
    img = blur(document(), 4)
    assert assess(img).acceptable
    assert assess(img, Thresholds(min_sharpness=10_000)).problem == "quality.blurry"


def test_every_problem_is_a_translated_message(document, blur):
    problems = {
        assess(blur(document(), 10)).problem,
        assess((document() * 0.25).astype(np.uint8)).problem,
        assess(np.full((100, 700), 255, np.uint8)).problem,
        assess(np.clip(document().astype(np.int16) + 120, 0, 255).astype(np.uint8)).problem,
    }
    assert problems == {"quality.blurry", "quality.too_dark", "quality.empty", "quality.too_bright"}
    for key in problems:
        assert MESSAGES[key]["fr"] and MESSAGES[key]["en"]


def test_report_as_dict_is_rounded_for_the_dossier():
    report = QualityReport(sharpness=123.456, brightness=128.04, clipped=0.012345, contrast=40.06)
    assert report.as_dict() == {"sharpness": 123.5, "brightness": 128.0, "clipped": 0.0123, "contrast": 40.1}


def test_laplacian_variance_of_a_flat_image_is_zero():
    assert laplacian_variance(np.full((10, 10), 77, np.float32)) == 0.0


def test_to_grey_uses_bt601_weights():
    px = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    assert np.allclose(to_grey(px)[0], [0.299 * 255, 0.587 * 255, 0.114 * 255], atol=1e-3)
