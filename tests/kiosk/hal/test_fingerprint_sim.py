"""The simulated sensor plays a script of fingers through the real backend and library; the shared quality function judges each image."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from titres.errors import SensorTimeout, SensorUnavailable
from kiosk.core.fingerprint_quality import assess_print, measure_print
from kiosk.hal.sim.fingerprint import OUTCOMES, SimFingerprintSensor, script_file, write_script_file
from kiosk.hal.sim.r503_emulator import TEMPLATE_BYTES, template_of
from kiosk.hal.sim.prints import CONDITIONS, HEIGHT, WIDTH, render_print

EXPECTED_FEEDBACK = {"good": None, "no_finger": "no_finger", "too_light": "too_light",
                     "too_wet": "too_wet", "too_dry": "too_dry"}


@pytest.fixture
def sensor(hal_config, sim_dir):
    with SimFingerprintSensor(hal_config, sim_dir, rng=np.random.default_rng(5)) as s:
        yield s


# --- the images and their verdict ---------------------------------------------------
@pytest.mark.parametrize("condition", CONDITIONS)
def test_assess_print_recognises_each_condition_from_the_pixels_alone(condition):
    for seed in range(8):
        image = render_print(condition, np.random.default_rng(seed))
        quality, feedback = assess_print(image)
        assert feedback == EXPECTED_FEEDBACK[condition], (seed, measure_print(image).as_dict())
        assert 0 <= quality <= 100


def test_good_prints_score_high_and_poor_ones_low():
    rng = np.random.default_rng(0)
    good = [assess_print(render_print("good", rng))[0] for _ in range(5)]
    poor = [assess_print(render_print(c, rng))[0] for c in ("too_light", "too_wet", "too_dry") for _ in range(3)]
    assert min(good) >= 70
    assert max(poor) < 50
    assert assess_print(render_print("no_finger", rng)) == (0, "no_finger")


def test_images_are_sensor_sized_and_quantised_like_the_sensor_upload():
    image = render_print("good", np.random.default_rng(0))
    assert image.shape == (HEIGHT, WIDTH) == (288, 256)
    assert image.dtype == np.uint8
    assert set(np.unique(image)) <= {v * 17 for v in range(16)}  # 4 bits per pixel, spread to 8


def test_assess_print_also_takes_a_smaller_sensors_image():
    square = render_print("good", np.random.default_rng(0))[48:240, 32:224]  # R503: 192 x 192
    assert assess_print(square)[1] is None


# --- the sensor -------------------------------------------------------------------------
def test_a_good_finger_gives_a_kept_reading_with_a_lossless_image_and_a_template(sensor):
    reading = sensor.read()
    assert reading.ok and reading.feedback is None
    img = Image.open(io.BytesIO(reading.image))
    assert (img.format, img.mode, img.size) == ("PNG", "L", (192, 192))  # the R503's window
    assert 70 <= reading.quality <= 100
    assert len(reading.template) == TEMPLATE_BYTES


def test_the_png_holds_exactly_the_pixels_the_sensor_uploaded(sensor):
    reading = sensor.read()
    pixels = np.asarray(Image.open(io.BytesIO(reading.image)))
    assert np.array_equal(pixels, sensor.emulator.uploaded_images[-1])
    assert assess_print(pixels) == (reading.quality, reading.feedback)
    assert template_of(pixels) == reading.template  # the template the emulated sensor made of this image


def test_an_r307_gives_its_larger_image(hal_config, sim_dir):
    from dataclasses import replace

    with SimFingerprintSensor(replace(hal_config, sim_fingerprint_model="r307"), sim_dir) as s:
        reading = s.read()
    assert Image.open(io.BytesIO(reading.image)).size == (256, 288)


@pytest.mark.parametrize("outcome", ["too_light", "too_wet", "too_dry"])
def test_a_poor_finger_is_a_reading_with_feedback_and_its_image(sensor, outcome):
    sensor.script(outcome)
    reading = sensor.read()
    assert not reading.ok
    assert reading.feedback == outcome
    assert reading.image is not None and reading.template is None


def test_a_touch_without_a_print_is_a_reading_without_an_image(sensor):
    sensor.script("no_finger")
    reading = sensor.read()
    assert (reading.ok, reading.feedback, reading.image, reading.quality) == (False, "no_finger", None, 0)


def test_a_lost_command_raises_sensor_unavailable_and_the_next_reading_reconnects(sensor):
    sensor.script("unplugged")
    with pytest.raises(SensorUnavailable):
        sensor.read()
    assert sensor.read().ok


def test_a_finger_that_never_comes_raises_sensor_timeout(sensor):
    sensor.script("timeout")
    with pytest.raises(SensorTimeout):
        sensor.read(timeout_s=0.3)
    assert sensor.read().ok  # the citizen came back


def test_a_reply_damaged_on_the_line_is_retried(sensor):
    sensor.script("corrupt")
    assert sensor.read().ok
    assert sensor.pending == []


def test_the_script_is_played_in_order_then_fingers_are_good(sensor):
    sensor.script("too_wet", "too_dry")
    sensor.script("no_finger")
    assert [sensor.read().feedback for _ in range(4)] == ["too_wet", "too_dry", "no_finger", None]


def test_unknown_outcomes_are_refused(sensor):
    with pytest.raises(ValueError):
        sensor.script("sticky")
    assert set(OUTCOMES) == set(CONDITIONS) | {"unplugged", "timeout", "corrupt"}


def test_guidance_drives_the_emulated_led_ring(sensor):
    sensor.guide("place")
    sensor.guide("retry")
    assert sensor.led_history == [(1, 0x60, 2, 0), (2, 0x30, 1, 3)]  # blue breathing, then red flashing 3 times
    with pytest.raises(ValueError):
        sensor.guide("disco")


# --- from outside the process ---------------------------------------------------
def test_the_script_file_scripts_the_next_fingers(sensor, sim_dir):
    write_script_file(sim_dir, ["too_wet", "good"])
    assert [sensor.read().feedback for _ in range(3)] == ["too_wet", None, None]


def test_a_changed_script_file_replaces_what_was_waiting(sensor, sim_dir):
    write_script_file(sim_dir, ["too_wet", "too_wet", "too_wet"])
    assert sensor.read().feedback == "too_wet"
    write_script_file(sim_dir, ["unplugged"])
    with pytest.raises(SensorUnavailable):
        sensor.read()
    assert sensor.read().ok


def test_a_malformed_script_file_is_ignored_with_a_warning(sensor, sim_dir, caplog):
    script_file(sim_dir).parent.mkdir(parents=True, exist_ok=True)
    script_file(sim_dir).write_text(json.dumps(["too_wet", "sticky"]))
    assert sensor.read().ok
    assert "sticky" in caplog.text


def test_the_self_test_reports_the_parameters_the_sensor_answered(sensor):
    result = sensor.self_test()
    assert result.ok
    assert "115200 baud" in result.detail and "system id 0x0009" in result.detail
