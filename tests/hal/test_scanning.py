"""From camera frames and picture files to a pré-demande number, through the real ZBar decoder."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from kiosk.hal.sim.camera import QrScene, SimCamera
from kiosk.hal.sim.scenes import empty_frame, qr_frame
from kiosk.scanning import (NOT_PREDEMANDE, UNREADABLE, Debouncer, decode_image_file, decode_number,
                            enlarge_centre, stretch_contrast)

NUMBER = "A1B2C3D4E5"


@pytest.mark.parametrize("code_px, angle_deg, blur", [
    (200, 0, 0.0),  # held square, in focus
    (120, 15, 0.0),  # a phone at arm's length, tilted
    (90, 30, 0.8),
    (300, -20, 1.5),  # too close: large and soft
    (70, 45, 0.0),  # far and at 45 degrees
    (40, 0, 0.8),  # very far and a little soft: only the enlarged crop reads it
])
def test_a_pre_demande_qr_code_is_read_at_the_usual_sizes_angles_and_focus(code_px, angle_deg, blur, scanner,
                                                                             number_format, rng):
    frame = qr_frame(NUMBER, code_px=code_px, angle_deg=angle_deg, blur=blur, rng=rng)
    result = decode_number(frame, scanner, number_format)
    assert (result.number, result.error) == (NUMBER, None)
    assert result.payloads == [NUMBER]


def test_a_small_soft_code_is_read_only_thanks_to_the_enlarged_crop(scanner, number_format):
    frame = qr_frame(NUMBER, code_px=40, blur=0.8, rng=np.random.default_rng(1))
    assert scanner.decode(frame) == []
    assert decode_number(frame, scanner, number_format, second_chances=False).number is None
    assert decode_number(frame, scanner, number_format).number == NUMBER


def test_a_number_inside_a_longer_payload_is_found(scanner, number_format, rng):
    frame = qr_frame(f"https://predemande.example.gouv.fr/recap?numero={NUMBER}&v=2", rng=rng)
    assert decode_number(frame, scanner, number_format).number == NUMBER


def test_a_code_that_is_not_a_pre_demande_is_named_as_such(scanner, number_format, rng):
    result = decode_number(qr_frame("https://www.service-public.fr/", rng=rng), scanner, number_format)
    assert result.number is None
    assert result.error == NOT_PREDEMANDE
    assert result.payloads == ["https://www.service-public.fr/"]


def test_a_frame_without_a_code_is_unreadable(scanner, number_format, rng):
    result = decode_number(empty_frame(rng=rng), scanner, number_format)
    assert (result.number, result.error, result.payloads) == (None, UNREADABLE, [])
    assert result.ms > 0


def test_the_contrast_stretch_maps_ink_and_paper_to_black_and_white(rng):
    flat = qr_frame(NUMBER, contrast=0.2, noise=0, rng=rng)
    stretched = stretch_contrast(flat)
    assert np.percentile(stretched, 2) <= 2 and np.percentile(stretched, 98) >= 253


def test_the_enlarged_crop_keeps_the_frame_size(rng):
    frame = qr_frame(NUMBER, rng=rng)
    assert enlarge_centre(frame).shape == frame.shape


# --- picture files (``kiosk decode``) --------------------------------------------
@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_picture_file_of_a_recap_gives_its_number(suffix, tmp_path, scanner, number_format, rng):
    path = tmp_path / f"recap{suffix}"
    Image.fromarray(qr_frame(NUMBER, code_px=160, angle_deg=10, rng=rng)).save(path, quality=85)
    report = decode_image_file(path, scanner, number_format)
    assert set(report) == {"file", "number", "error", "ms"}
    assert report["file"] == str(path)
    assert (report["number"], report["error"]) == (NUMBER, None)
    assert isinstance(report["ms"], float)
    json.dumps(report)  # one JSON line per file


def test_a_colour_picture_file_is_read_too(tmp_path, scanner, number_format, rng):
    grey = qr_frame(NUMBER, rng=rng)
    rgb = np.stack([grey, (grey * 0.9).astype(np.uint8), grey], axis=2)
    Image.fromarray(rgb).save(tmp_path / "colour.png")
    assert decode_image_file(tmp_path / "colour.png", scanner, number_format)["number"] == NUMBER


def test_a_picture_without_a_code_reports_no_code_found(tmp_path, scanner, number_format, rng):
    Image.fromarray(empty_frame(rng=rng)).save(tmp_path / "desk.png")
    report = decode_image_file(tmp_path / "desk.png", scanner, number_format)
    assert (report["number"], report["error"]) == (None, "no code found")


def test_a_picture_of_another_code_reports_not_a_pre_demande(tmp_path, scanner, number_format, rng):
    Image.fromarray(qr_frame("WIFI:S:mairie;T:WPA;P:secret;;", rng=rng)).save(tmp_path / "wifi.png")
    report = decode_image_file(tmp_path / "wifi.png", scanner, number_format)
    assert (report["number"], report["error"]) == (None, "not a pré-demande number")


def test_a_file_that_is_not_a_picture_is_reported_not_raised(tmp_path, scanner, number_format):
    (tmp_path / "notes.png").write_text("not a picture")
    report = decode_image_file(tmp_path / "notes.png", scanner, number_format)
    assert report["number"] is None
    assert report["error"].startswith("cannot read image: ")
    missing = decode_image_file(tmp_path / "missing.png", scanner, number_format)
    assert missing["error"].startswith("cannot read image: ")


# --- debouncing --------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_number_is_accepted_on_its_second_sighting_within_the_window():
    clock = Clock()
    d = Debouncer(clock=clock)
    assert d.feed(NUMBER) is None
    clock.now += 0.5
    assert d.feed(NUMBER) == NUMBER


def test_sightings_too_far_apart_are_not_confirmation():
    clock = Clock()
    d = Debouncer(window_s=1.5, clock=clock)
    d.feed(NUMBER)
    clock.now += 2.0
    assert d.feed(NUMBER) is None
    clock.now += 1.0
    assert d.feed(NUMBER) == NUMBER


def test_a_misread_number_does_not_count_towards_another():
    clock = Clock()
    d = Debouncer(clock=clock)
    d.feed(NUMBER)
    assert d.feed("A1B2C3D4E6") is None
    assert d.feed(NUMBER) is None
    assert d.feed(NUMBER) == NUMBER


def test_frames_without_a_code_do_not_break_the_run():
    clock = Clock()
    d = Debouncer(clock=clock)
    d.feed(NUMBER)
    assert d.feed(None) is None
    clock.now += 0.3
    assert d.feed(NUMBER) == NUMBER


def test_a_code_held_up_longer_does_not_fire_twice_in_a_row():
    d = Debouncer(clock=Clock())
    fired = [d.feed(NUMBER) for _ in range(4)]
    assert fired == [None, NUMBER, None, NUMBER]


def test_the_number_of_confirmations_is_configurable():
    d = Debouncer(confirmations=3, clock=Clock())
    assert [d.feed(NUMBER) for _ in range(3)] == [None, None, NUMBER]
    with pytest.raises(ValueError):
        Debouncer(confirmations=0)


def test_the_live_loop_reads_a_code_shown_to_the_simulated_camera(hal_config, sim_dir, scanner, number_format, rng):
    debouncer = Debouncer()
    with SimCamera(hal_config, sim_dir, fps=None, rng=rng) as camera:
        camera.show(QrScene("Z9Y8X7W6V5", code_px=150, angle_deg=12))
        accepted = None
        for _ in range(3):
            accepted = debouncer.feed(decode_number(camera.preview_frame(), scanner, number_format).number)
            if accepted:
                break
    assert accepted == "Z9Y8X7W6V5"


def test_a_large_photo_of_a_code_is_read_at_half_size(tmp_path, scanner, number_format):
    frame = qr_frame(NUMBER, size=(2028, 1520), code_px=800, rng=np.random.default_rng(0))
    assert scanner.decode(frame) == []  # ZBar alone misses modules 38 px wide under sensor noise
    Image.fromarray(frame).save(tmp_path / "phone.png")
    assert decode_image_file(tmp_path / "phone.png", scanner, number_format)["number"] == NUMBER
