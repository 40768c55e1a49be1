"""The Raspberry Pi camera backend, driven through the picamera2 stand-in that draws the simulator's scenes."""

from __future__ import annotations

import dataclasses
import importlib.util

import numpy as np
import pytest
from PIL import Image

from titres.errors import BackendUnavailable, CameraUnavailable
from kiosk.hal.pi.picamera2_camera import AF_CONTINUOUS, Picamera2Camera
from kiosk.hal.sim.camera import EmptyScene, ImageScene, QrScene, SimCamera, UnpluggedScene
from kiosk.hal.sim.picamera2 import SimPicamera2
from kiosk.core.scanning import decode_number

NUMBER = "A1B2C3D4E5"
RECAP_URL = f"https://www.ants.gouv.fr/recap?numero={NUMBER}&v=2"


@pytest.fixture
def lens(hal_config, sim_dir, rng):
    with SimCamera(hal_config, sim_dir, fps=None, rng=rng) as camera:
        yield camera


class Bench:
    """The backend with its picamera2 objects kept, as a technician would see them on the Pi."""

    def __init__(self, hal_config, sim_dir, lens, model="imx708"):
        self.made: list[SimPicamera2] = []

        def factory():
            self.made.append(SimPicamera2(lens=lens, model=model))
            return self.made[-1]

        self.camera = Picamera2Camera(hal_config, sim_dir, picamera2_factory=factory)

    @property
    def picam2(self) -> SimPicamera2:
        return self.made[-1]


@pytest.fixture
def bench(hal_config, sim_dir, lens):
    b = Bench(hal_config, sim_dir, lens)
    yield b
    b.camera.close()


@pytest.fixture
def chain():
    from kiosk.hal.chain_scanner import ChainScanner

    with ChainScanner() as scanner:
        yield scanner


def test_the_camera_scans_the_lores_yuv_stream_beside_a_larger_main_stream(bench):
    bench.camera.open()
    config = bench.picam2.camera_config
    assert config["lores"]["format"] == "YUV420" and config["lores"]["size"] == (640, 480)
    assert config["main"]["size"] == (1280, 960)  # REFERENCE.md's scanning pattern
    assert bench.picam2.started


def test_a_preview_frame_is_the_luminance_plane_without_the_stride_padding(hal_config, sim_dir, lens, chain,
                                                                           number_format):
    config = dataclasses.replace(hal_config, camera_preview_size=(600, 450))  # rows padded to 640 bytes
    b = Bench(config, sim_dir, lens)
    lens.show(QrScene(NUMBER, code_px=120, angle_deg=15))
    with b.camera:
        raw = b.picam2.capture_array("lores", wait=1.0)
        frame = b.camera.preview_frame()
    assert raw.shape == (450 * 3 // 2, 640)
    assert frame.shape == (450, 600) and frame.dtype == np.uint8 and frame.flags.c_contiguous
    assert decode_number(frame, chain, number_format).number == NUMBER


def show_plain(lens, tmp_path, rgb: tuple[int, int, int]) -> None:
    """A card of one colour in front of the lens (through the simulator's picture scene)."""
    path = tmp_path / f"plain-{'-'.join(map(str, rgb))}.png"
    Image.new("RGB", (400, 300), rgb).save(path)
    lens.show(ImageScene(str(path)))


def test_a_still_is_full_resolution_rgb_although_picamera2_gives_bgr(bench, lens, tmp_path):
    show_plain(lens, tmp_path, (200, 30, 40))
    with bench.camera:
        still = bench.camera.capture_still()
        assert bench.picam2.camera_config["lores"]["format"] == "YUV420"  # back to scanning afterwards
    assert still.shape == (1520, 2028, 3) and still.dtype == np.uint8
    r, g, b = still[760, 1014]
    assert r > 150 and g < 80 and b < 80


def test_continuous_autofocus_is_on_when_the_camera_has_a_focus_motor(bench, lens, chain, number_format):
    lens.show(QrScene(RECAP_URL, code_px=110, angle_deg=10))  # close and small: soft without autofocus
    with bench.camera:
        assert bench.camera.autofocus and bench.picam2.controls.AfMode == AF_CONTINUOUS
        assert decode_number(bench.camera.preview_frame(), chain, number_format).number == NUMBER
        bench.camera.capture_still()
        assert bench.picam2.controls.AfMode == AF_CONTINUOUS  # kept across the switch to the still mode and back


def test_a_camera_without_autofocus_is_left_alone_and_says_so(hal_config, sim_dir, lens):
    b = Bench(hal_config, sim_dir, lens, model="imx219")
    with b.camera:
        assert not b.camera.autofocus
        assert "AfMode" not in b.picam2.controls.make_dict()
        result = b.camera.self_test()
    assert result.ok and "imx219" in result.detail and "fixed focus" in result.detail


def test_no_camera_attached_is_a_camera_error_at_open(bench, lens):
    lens.show(UnpluggedScene())
    with pytest.raises(CameraUnavailable):
        bench.camera.open()


def test_a_camera_that_stops_is_a_camera_error_then_reopens_on_the_next_frame(bench, lens):
    bench.camera.open()
    lens.show(UnpluggedScene())
    with pytest.raises(CameraUnavailable):
        bench.camera.preview_frame()
    assert not bench.made[0].is_open  # the dead camera was closed, not left holding libcamera
    with pytest.raises(CameraUnavailable):
        bench.camera.capture_still()  # still unplugged: reopening fails too
    lens.show(EmptyScene())
    assert bench.camera.preview_frame().shape == (480, 640)
    assert len(bench.made) == 2 and bench.picam2.started  # a new Picamera2 once the camera answered again


def test_closing_stops_and_closes_picamera2_and_a_closed_camera_gives_no_frame(bench):
    bench.camera.open()
    bench.camera.close()
    bench.camera.close()
    assert not bench.picam2.is_open
    with pytest.raises(CameraUnavailable):
        bench.camera.preview_frame()


def test_the_self_test_reports_a_covered_lens(bench, lens, tmp_path):
    show_plain(lens, tmp_path, (3, 3, 3))
    with bench.camera:
        result = bench.camera.self_test()
    assert not result.ok and "uniform" in result.detail


def test_the_self_test_says_what_it_saw(bench, lens):
    lens.show(QrScene(NUMBER))
    with bench.camera:
        result = bench.camera.self_test()
    assert result.ok and result.detail.startswith("imx708, continuous autofocus: preview 640x480")


@pytest.mark.skipif(importlib.util.find_spec("picamera2") is not None, reason="picamera2 is installed here")
def test_without_picamera2_the_backend_cannot_load_and_names_the_apt_package(hal_config, sim_dir):
    with pytest.raises(BackendUnavailable, match="python3-picamera2"):
        Picamera2Camera(hal_config, sim_dir)
