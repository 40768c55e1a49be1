"""The OpenCV camera plays what the real library decodes: recordings of the simulator's scenes, and no device at all."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from titres.errors import CameraUnavailable
from kiosk.hal.opencv_camera import OpenCVCamera
from kiosk.hal.sim.camera import EmptyScene, QrScene, SimCamera
from kiosk.core.scanning import decode_number
from tests.kiosk.hal.recordings import record_scene, write_video

cv2 = pytest.importorskip("cv2")

NUMBER = "A1B2C3D4E5"


@pytest.fixture
def lens(hal_config, sim_dir, rng):
    with SimCamera(hal_config, sim_dir, fps=None, rng=rng) as camera:
        yield camera


def _camera(hal_config, source) -> OpenCVCamera:
    return OpenCVCamera(dataclasses.replace(hal_config, camera_device=str(source)))


def test_a_recorded_code_reaches_the_decoder_through_opencv(hal_config, lens, tmp_path, scanner, number_format):
    lens.show(QrScene(NUMBER, code_px=150, angle_deg=12))
    video = record_scene(tmp_path / "code.avi", lens, (640, 480))
    with _camera(hal_config, video) as camera:
        frame = camera.preview_frame()
    assert frame.shape == (480, 640) and frame.dtype == np.uint8
    assert decode_number(frame, scanner, number_format).number == NUMBER


def test_a_wide_picture_is_cropped_to_the_preview_shape_not_stretched(hal_config, lens, tmp_path, scanner):
    lens.show(QrScene(NUMBER, code_px=200))
    video = record_scene(tmp_path / "wide.avi", lens, (1280, 720))
    with _camera(hal_config, video) as camera:
        frame = camera.preview_frame()
    assert frame.shape == (480, 640)
    dark = np.argwhere(frame < 100)  # the code's modules (and the desk's darkest corners are brighter)
    centre = dark[(np.abs(dark[:, 0] - 240) < 150) & (np.abs(dark[:, 1] - 320) < 150)]
    height, width = np.ptp(centre[:, 0]), np.ptp(centre[:, 1])
    assert abs(height - width) <= 0.05 * width  # still square


def test_a_still_is_the_full_picture_in_rgb_order(hal_config, tmp_path):
    picture = np.zeros((720, 960, 3), dtype=np.uint8)
    picture[:, :480] = (210, 30, 30)  # red on the left
    picture[:, 480:] = (30, 30, 210)  # blue on the right
    video = write_video(tmp_path / "colours.avi", [picture] * 3)
    with _camera(hal_config, video) as camera:
        still = camera.capture_still()
    assert still.shape == (720, 960, 3)
    assert still[360, 200, 0] > 150 > still[360, 200, 2]
    assert still[360, 760, 2] > 150 > still[360, 760, 0]


def test_a_recording_plays_in_a_loop(hal_config, lens, tmp_path):
    lens.show(EmptyScene())
    video = record_scene(tmp_path / "short.avi", lens, (640, 480), count=3)
    with _camera(hal_config, video) as camera:
        frames = [camera.preview_frame() for _ in range(8)]
    assert all(f.shape == (480, 640) for f in frames)


@pytest.mark.parametrize("device", ["99", "/dev/video99", "missing.avi"])
def test_a_camera_that_is_not_there_is_a_camera_error_at_open(hal_config, tmp_path, device):
    source = tmp_path / device if device.endswith(".avi") else device
    with pytest.raises(CameraUnavailable):
        _camera(hal_config, source).open()


def test_a_file_that_is_not_a_video_is_a_camera_error(hal_config, tmp_path):
    (tmp_path / "notes.avi").write_text("not a video")
    with pytest.raises(CameraUnavailable):
        _camera(hal_config, tmp_path / "notes.avi").open()


def test_a_source_that_stops_delivering_is_a_camera_error_then_reopens_once_it_is_back(hal_config, lens, tmp_path):
    lens.show(QrScene(NUMBER))
    video = record_scene(tmp_path / "feed.avi", lens, (640, 480), count=2)
    saved = video.read_bytes()
    with _camera(hal_config, video) as camera:
        camera.preview_frame()
        video.unlink()  # the cable is pulled: the frames already in the pipe still come, then nothing
        with pytest.raises(CameraUnavailable):
            for _ in range(4):
                camera.preview_frame()
        with pytest.raises(CameraUnavailable):
            camera.preview_frame()  # tried again, still gone
        video.write_bytes(saved)
        assert camera.preview_frame().shape == (480, 640)


def test_a_closed_camera_gives_no_frame(hal_config, lens, tmp_path):
    video = record_scene(tmp_path / "feed.avi", lens, (640, 480), count=2)
    camera = _camera(hal_config, video).open()
    camera.close()
    camera.close()
    with pytest.raises(CameraUnavailable):
        camera.preview_frame()
    with pytest.raises(CameraUnavailable):
        camera.capture_still()


def test_the_self_test_reports_a_covered_lens(hal_config, tmp_path):
    video = write_video(tmp_path / "black.avi", [np.full((480, 640), 4, dtype=np.uint8)] * 3)
    with _camera(hal_config, video) as camera:
        result = camera.self_test()
    assert not result.ok and "uniform" in result.detail


def test_the_self_test_says_what_it_saw(hal_config, lens, tmp_path):
    lens.show(QrScene(NUMBER))
    video = record_scene(tmp_path / "feed.avi", lens, (640, 480), count=2)
    with _camera(hal_config, video) as camera:
        result = camera.self_test()
    assert result.ok and "preview 640x480" in result.detail
