"""The rendered effects a kiosk camera meets (perspective, shadow, glare, a phone screen, JPEG) look like what they name."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kiosk.hal.sim.camera import QrScene, SimCamera, scene_file, scene_from_dict, write_scene_file
from kiosk.hal.sim.scenes import PAPER, qr_frame

NUMBER = "A1B2C3D4E5"


def _paper_rows(frame: np.ndarray) -> np.ndarray:
    """For each row, how many pixels are paper-bright (the code's patch, not the desk)."""
    return (frame > 180).sum(axis=1)


def test_no_effect_asked_leaves_the_frame_as_it_always_was():
    plain = qr_frame(NUMBER, code_px=150, angle_deg=10, rng=np.random.default_rng(4))
    keyed = qr_frame(NUMBER, code_px=150, angle_deg=10, rng=np.random.default_rng(4), tilt_deg=0, shadow=0,
                     glare=0, screen=False, jpeg_quality=0, centre=(0.5, 0.5))
    assert np.array_equal(plain, keyed)


def test_a_tilted_sheet_is_narrower_at_its_far_edge():
    frame = qr_frame(NUMBER, code_px=200, tilt_deg=45, noise=0, rng=np.random.default_rng(0))
    widths = _paper_rows(frame)
    rows = np.flatnonzero(widths > 20)
    top, bottom = widths[rows[3]], widths[rows[-4]]
    assert top < 0.9 * bottom
    assert len(rows) < 0.85 * 200 * 1.3  # foreshortened: shorter than the square patch


def test_the_code_is_where_it_is_held():
    frame = qr_frame(NUMBER, code_px=100, centre=(0.25, 0.3), noise=0, rng=np.random.default_rng(0))
    ys, xs = np.nonzero(frame > 200)
    assert abs(xs.mean() - 160) < 10 and abs(ys.mean() - 144) < 10


def test_a_shadow_darkens_one_side_of_the_code():
    lit = qr_frame(NUMBER, code_px=200, noise=0, rng=np.random.default_rng(0))
    shaded = qr_frame(NUMBER, code_px=200, shadow=0.6, noise=0, rng=np.random.default_rng(0))
    ratio = shaded.astype(float) / np.maximum(lit, 1)
    assert ratio[150:330, 200:440].min() < 0.5 and ratio[150:330, 200:440].max() > 0.95


def test_glare_clips_part_of_the_code_to_white():
    frame = qr_frame(NUMBER, code_px=200, glare=1.2, noise=0, rng=np.random.default_rng(0))
    assert (frame[140:340, 220:420] == 255).sum() > 500
    assert (qr_frame(NUMBER, code_px=200, noise=0, rng=np.random.default_rng(0)) == 255).sum() == 0


def test_a_recap_sheet_has_lines_of_text_around_its_code_beyond_the_quiet_zone(chain):
    plain = qr_frame(NUMBER, code_px=100, noise=0, rng=np.random.default_rng(0))
    sheet = qr_frame(NUMBER, code_px=100, noise=0, sheet=True, rng=np.random.default_rng(0))
    beside = sheet[215:265, 420:500]  # right of the code and its quiet zone: printed strokes on paper
    assert (beside < 100).mean() > 0.15 and (beside > 200).mean() > 0.3
    assert (plain[215:265, 420:500] < 100).mean() == 0  # the bare patch: desk, nothing printed
    assert np.array_equal(sheet[195:285, 275:365] < 100, plain[195:285, 275:365] < 100)  # the code itself as before
    assert chain.decode(sheet) == [NUMBER]


def test_a_phone_shows_a_dark_body_around_a_grey_lit_screen_with_moire():
    frame = qr_frame(NUMBER, code_px=150, screen=True, noise=0, rng=np.random.default_rng(0)).astype(float)
    column = frame[:, 320]
    assert column.min() < 40  # the phone's body
    screen = frame[330:360, 260:380]  # below the code, the lit screen
    assert screen.mean() < PAPER  # an emissive screen is not as white as paper under the lamp
    assert screen.std() > 5  # its pixel grid, aliased by the sensor


def test_jpeg_loss_leaves_eight_pixel_blocks():
    clean = qr_frame(NUMBER, code_px=90, noise=6, rng=np.random.default_rng(0))
    worn = qr_frame(NUMBER, code_px=90, noise=6, jpeg_quality=15, rng=np.random.default_rng(0))
    assert worn.shape == clean.shape and not np.array_equal(worn, clean)
    jumps = np.abs(np.diff(worn.astype(int), axis=1))[:, :632].reshape(480, 79, 8).mean(axis=(0, 1))
    assert jumps[7] > 1.2 * np.median(jumps)  # the steps at block edges


def test_a_scene_with_every_effect_round_trips_through_its_file_form(sim_dir):
    scene = QrScene(NUMBER, code_px=90, tilt_deg=30.0, centre=(0.4, 0.6), shadow=0.5, glare=0.8,
                    glare_at=(-0.1, 0.1), screen=True, jpeg_quality=40, noise=6.0)
    write_scene_file(sim_dir, scene)
    assert scene_from_dict(json.loads(scene_file(sim_dir).read_text())) == scene


@pytest.mark.parametrize("size", [(640, 480), (1280, 960)])
def test_a_picture_at_any_size_has_the_same_field_of_view(hal_config, sim_dir, size):
    with SimCamera(hal_config, sim_dir, fps=None, rng=np.random.default_rng(0)) as camera:
        camera.show(QrScene(NUMBER, code_px=160, noise=0))
        rgb = camera.picture(size)
    assert rgb.shape == (size[1], size[0], 3) and rgb.dtype == np.uint8
    bright = np.flatnonzero((rgb[..., 0] > 200).any(axis=0))
    assert abs((bright[-1] - bright[0]) / size[0] - (160 * 1.32) / 640) < 0.03  # the patch, code and margins
