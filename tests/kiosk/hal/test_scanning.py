"""From camera frames and picture files to a pré-demande number, through the real ZBar decoder."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from kiosk.hal.sim.camera import QrScene, SimCamera
from kiosk.hal.sim.scenes import empty_frame, qr_frame
from kiosk.core.scanning import (GUIDE_SHARE, NOT_PREDEMANDE, UNREADABLE, Debouncer, decode_image_file, decode_number,
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
    frame = qr_frame(f"https://www.ants.gouv.fr/recap?numero={NUMBER}&v=2", rng=rng)
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


def test_the_enlarged_crop_is_the_framing_guide_at_twice_the_size(rng):
    frame = qr_frame(NUMBER, rng=rng)
    assert enlarge_centre(frame).shape == (2 * int(480 * GUIDE_SHARE), 2 * int(640 * GUIDE_SHARE))


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


# --- the kiosk's scanner (zxing-cpp, ZBar as second opinion) on hard frames -------------
RECAP_URL = f"https://www.ants.gouv.fr/recap?numero={NUMBER}&v=2"




@pytest.mark.parametrize("payload", [NUMBER, RECAP_URL])
@pytest.mark.parametrize("effects", [
    dict(code_px=160, angle_deg=8, screen=True, contrast=0.3),  # a phone: moiré, grey black, grey white
    dict(code_px=160, angle_deg=-12, screen=True, contrast=0.45, glare=0.6),  # a phone under the lamp
    dict(code_px=160, tilt_deg=50, angle_deg=10),  # the sheet leaning away: a trapezoid
    dict(code_px=140, shadow=0.7, angle_deg=20),  # a hand's shadow across the code
    dict(code_px=100, jpeg_quality=20, angle_deg=5),  # a webcam's MJPG
    dict(code_px=120, brightness=0.4, noise=12),  # a dim corner, a noisy sensor
], ids=["phone", "phone-glare", "tilted", "shadow", "jpeg", "dim"])
def test_codes_as_the_kiosk_camera_sees_them_are_read(effects, payload, chain, number_format):
    frame = qr_frame(payload, rng=np.random.default_rng(3), **effects)
    assert decode_number(frame, chain, number_format).number == NUMBER


def test_a_phone_screen_code_that_zbar_alone_misses_is_read(chain, scanner, number_format):
    frame = qr_frame(NUMBER, code_px=160, angle_deg=8, screen=True, contrast=0.3, rng=np.random.default_rng(3))
    assert decode_number(frame, scanner, number_format).number is None  # pyzbar, the former default
    assert decode_number(frame, chain, number_format).number == NUMBER


def test_a_small_tilted_code_is_read_only_in_the_enlarged_region_of_interest(chain, number_format):
    frame = qr_frame(RECAP_URL, code_px=79, tilt_deg=48.5, angle_deg=-21.4, rng=np.random.default_rng(1))
    assert chain.decode(frame) == []
    assert decode_number(frame, chain, number_format, second_chances=False).number is None
    assert decode_number(frame, chain, number_format).number == NUMBER


def test_a_code_that_is_not_a_pre_demande_is_never_a_number_even_on_a_phone(chain, number_format):
    frame = qr_frame("WIFI:S:Mairie-Invites;T:WPA;P:bienvenue2024;;", code_px=150, screen=True, contrast=0.4,
                     rng=np.random.default_rng(2))
    result = decode_number(frame, chain, number_format)
    assert (result.number, result.error) == (None, NOT_PREDEMANDE)


def test_a_frame_without_a_code_costs_less_than_a_frame_at_30_fps(chain, number_format, rng):
    frames = [empty_frame(rng=rng, noise=8) for _ in range(9)]
    decode_number(frames[0], chain, number_format)  # warm up
    times = sorted(decode_number(f, chain, number_format).ms for f in frames)
    assert times[4] < 1000 / 30  # median; about 10 ms on the 2-core development machine


def test_the_live_loop_reads_a_code_under_glare_once_the_reflection_moves_off_it(hal_config, sim_dir, chain,
                                                                                 number_format):
    debouncer = Debouncer(clock=Clock())
    glare = dict(code_px=200, glare=1.3)
    with SimCamera(hal_config, sim_dir, fps=None, rng=np.random.default_rng(0)) as camera:
        camera.show(QrScene(NUMBER, glare_at=(0.0, 0.0), **glare))  # the lamp's reflection on the code's middle
        under_glare = [decode_number(camera.preview_frame(), chain, number_format).number for _ in range(3)]
        camera.show(QrScene(NUMBER, glare_at=(-0.2, 0.1), **glare))  # the hand tilts the sheet a little
        accepted = [debouncer.feed(decode_number(camera.preview_frame(), chain, number_format).number)
                    for _ in range(2)]
    assert under_glare == [None] * 3
    assert accepted == [None, NUMBER]


def test_the_pipeline_reads_more_hard_frames_than_either_decoder_alone(chain, scanner, number_format):
    rng = np.random.default_rng(5)
    frames = []
    for i in range(24):
        effects = dict(code_px=int(rng.integers(70, 140)), angle_deg=float(rng.uniform(-40, 40)),
                       tilt_deg=float(rng.uniform(-50, 50)), blur=float(rng.choice([0, 0.8, 1.5])),
                       contrast=float(rng.choice([1.0, 0.5, 0.35])), glare=float(rng.choice([0, 0, 0.9])))
        frames.append(qr_frame(NUMBER if i % 2 else RECAP_URL, rng=rng, **effects))

    def reads(decode) -> int:
        return sum(decode(f) == NUMBER for f in frames)

    def plain(scanner_):
        def first_number(frame):
            payloads = scanner_.decode(frame)
            return number_format.number_from_qr(payloads[0]) if payloads else None
        return first_number

    pipeline = reads(lambda f: decode_number(f, chain, number_format).number)
    assert pipeline > reads(plain(chain.first))  # zxing-cpp alone
    assert pipeline > reads(plain(scanner))  # ZBar alone
