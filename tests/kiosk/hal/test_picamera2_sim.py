"""The picamera2 stand-in keeps picamera2's rules and buffer layouts, so the Pi backend is tested against them."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from kiosk.hal.sim.camera import ImageScene, QrScene, SimCamera
from kiosk.hal.sim.picamera2 import SimPicamera2, yuv420


@pytest.fixture
def lens(hal_config, sim_dir, rng):
    with SimCamera(hal_config, sim_dir, fps=None, rng=rng) as camera:
        yield camera


@pytest.fixture
def picam2(lens):
    cam = SimPicamera2(lens=lens)
    yield cam
    cam.close()


@pytest.fixture
def red(tmp_path, lens):
    path = tmp_path / "red.png"
    Image.new("RGB", (320, 240), (220, 20, 30)).save(path)
    lens.show(ImageScene(str(path)))


def _scanning(picam2, size=(640, 480)):
    return picam2.create_preview_configuration(main={"size": (size[0] * 2, size[1] * 2)},
                                               lores={"size": size, "format": "YUV420"})


def test_a_yuv420_buffer_is_luminance_rows_then_quarter_size_chroma_planes_at_a_64_byte_stride(picam2, red):
    picam2.configure(_scanning(picam2, (600, 450)))
    picam2.start()
    buf = picam2.capture_array("lores")
    assert buf.shape == (675, 640) and buf.dtype == np.uint8
    flat = buf.reshape(-1)
    y = flat[:640 * 450].reshape(450, 640)
    u = flat[640 * 450:640 * 450 + 320 * 225].reshape(225, 320)
    v = flat[640 * 450 + 320 * 225:].reshape(225, 320)
    assert abs(int(y[225, 300]) - round(0.299 * 220 + 0.587 * 20 + 0.114 * 30)) <= 1
    assert u[110, 150] < 128 < v[110, 150]  # red: less blue than grey, much more red
    assert not y[:, 600:].any()  # the padding carries no picture


def test_the_luminance_of_a_grey_scene_is_its_grey_level():
    grey = np.random.default_rng(0).integers(0, 256, size=(48, 64), dtype=np.uint8)
    buf = yuv420(np.repeat(grey[..., None], 3, axis=2), 64)
    assert np.array_equal(buf[:48, :64], grey)


def test_rgb888_is_blue_green_red_in_memory(picam2, red):
    picam2.configure(picam2.create_still_configuration(main={"size": (2028, 1520), "format": "RGB888"}))
    picam2.start()
    b, g, r = picam2.capture_array("main")[760, 1014]
    assert r > 200 and b < 60


def test_a_still_configuration_defaults_to_the_sensor_resolution(picam2):
    assert picam2.create_still_configuration()["main"]["size"] == (4608, 2592)


@pytest.mark.parametrize("lores, error", [
    ({"size": (1280, 960), "format": "YUV420"}, "may not exceed"),
    ({"size": (320, 240), "format": "RGB888"}, "must be YUV"),
    ({"size": (321, 240), "format": "YUV420"}, None),  # rounded down to even sizes, as picamera2 aligns
])
def test_the_pi4_rules_on_the_lores_stream(picam2, lores, error):
    config = picam2.create_preview_configuration(main={"size": (640, 480)}, lores=lores)
    if error is None:
        picam2.configure(config)
        assert picam2.camera_config["lores"]["size"] == (320, 240)
    else:
        with pytest.raises(RuntimeError, match=error):
            picam2.configure(config)


def test_a_running_camera_cannot_be_configured(picam2):
    picam2.start(_scanning(picam2))
    with pytest.raises(RuntimeError, match="stopped before configuring"):
        picam2.configure(_scanning(picam2))


def test_a_capture_before_start_times_out_instead_of_hanging(picam2):
    picam2.configure(_scanning(picam2))
    with pytest.raises(TimeoutError):
        picam2.capture_array("lores", wait=0.5)
    with pytest.raises(RuntimeError, match="wait forever"):
        picam2.capture_array("lores")


def test_controls_must_be_advertised_by_the_sensor(lens):
    v2 = SimPicamera2(lens=lens, model="imx219")
    assert "AfMode" not in v2.camera_controls
    with pytest.raises(RuntimeError, match="not advertised"):
        v2.set_controls({"AfMode": 2})


def test_a_new_configuration_brings_its_own_controls(picam2):
    picam2.configure(picam2.create_preview_configuration(controls={"AfMode": 2}))
    assert picam2.controls.AfMode == 2
    picam2.configure(picam2.create_preview_configuration())
    assert "AfMode" not in picam2.controls.make_dict()


def test_a_close_code_is_soft_unless_the_lens_focuses(lens, hal_config):
    lens.show(QrScene("A1B2C3D4E5", code_px=150, noise=0))
    sharpness = {}
    for af in (0, 2):
        cam = SimPicamera2(lens=lens)
        cam.start(cam.create_preview_configuration(lores={"size": (640, 480), "format": "YUV420"},
                                                   main={"size": (1280, 960)}, controls={"AfMode": af}))
        y = cam.capture_array("lores")[:480, :640].astype(np.float32)
        sharpness[af] = float(np.percentile(np.abs(np.diff(y, axis=1)), 99.5))  # the module edges
        cam.close()
    assert sharpness[2] > 1.5 * sharpness[0]


def test_a_switch_to_still_mode_returns_to_the_mode_before(picam2):
    scanning = _scanning(picam2)
    picam2.start(scanning)
    still = picam2.create_still_configuration(main={"size": (2028, 1520), "format": "RGB888"})
    assert picam2.switch_mode_and_capture_array(still, "main").shape == (1520, 2028, 3)
    assert picam2.camera_config["lores"]["format"] == "YUV420" and picam2.started


def test_a_closed_camera_cannot_be_configured(picam2):
    picam2.close()
    picam2.close()
    with pytest.raises(RuntimeError, match="not opened"):
        picam2.create_preview_configuration()
