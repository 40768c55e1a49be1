"""The simulated camera shows a scene, set in code or from outside through ``camera/scene.json``."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
from PIL import Image

from titres.errors import CameraUnavailable
from kiosk.hal.sim.camera import (DEFAULT_DEMO_NUMBER, DocumentScene, EmptyScene, FolderScene, ImageScene, QrScene,
                                  SimCamera, UnpluggedScene, scene_file, scene_from_dict, write_scene_file)
from kiosk.hal.sim.scenes import qr_frame
from kiosk.core.quality import assess
from kiosk.core.scanning import decode_number


@pytest.fixture
def camera(hal_config, sim_dir, rng):
    with SimCamera(hal_config, sim_dir, fps=None, rng=rng) as cam:
        yield cam


def test_with_nothing_set_the_camera_shows_the_demo_pre_demande(camera, scanner):
    assert camera.scene == QrScene(DEFAULT_DEMO_NUMBER)
    assert scanner.decode(camera.preview_frame()) == [DEFAULT_DEMO_NUMBER]


def test_a_shown_qr_code_is_in_the_preview(camera, scanner):
    camera.show(QrScene("AB12CD34EF", code_px=110, angle_deg=25))
    assert scanner.decode(camera.preview_frame()) == ["AB12CD34EF"]


def test_the_still_of_a_qr_scene_is_what_is_shown(camera, scanner, number_format):
    camera.show(QrScene("AB12CD34EF"))
    still = camera.capture_still()
    assert still.shape == (1520, 2028, 3)
    assert decode_number(still[..., 1], scanner, number_format).number == "AB12CD34EF"


def test_a_document_scene_gives_stills_the_quality_check_judges(camera):
    camera.show(DocumentScene("proof_of_address"))
    assert assess(camera.capture_still()).acceptable
    camera.show(DocumentScene("proof_of_address", blur=8.0))
    assert assess(camera.capture_still()).problem == "quality.blurry"
    camera.show(DocumentScene(brightness=0.35))
    assert assess(camera.capture_still()).problem == "quality.too_dark"


def test_an_empty_scene_shows_the_desk(camera, scanner):
    camera.show(EmptyScene())
    assert scanner.decode(camera.preview_frame()) == []
    assert assess(camera.capture_still()).problem == "quality.empty"


def test_a_real_picture_is_framed_without_cropping(camera, scanner, tmp_path, rng):
    path = tmp_path / "recap.jpg"
    Image.fromarray(qr_frame("IMG0000001", size=(1000, 1400), code_px=500, rng=rng)).save(path)
    camera.show(ImageScene(str(path)))
    frame = camera.preview_frame()
    assert frame.shape == (480, 640)
    assert scanner.decode(frame) == ["IMG0000001"]
    assert camera.capture_still().shape == (1520, 2028, 3)


def test_an_unreadable_picture_is_a_camera_error(camera, tmp_path):
    (tmp_path / "broken.png").write_bytes(b"nope")
    camera.show(ImageScene(str(tmp_path / "broken.png")))
    with pytest.raises(CameraUnavailable):
        camera.preview_frame()


def test_an_unplugged_camera_raises_until_plugged_back(camera):
    camera.unplug()
    with pytest.raises(CameraUnavailable):
        camera.preview_frame()
    with pytest.raises(CameraUnavailable):
        camera.capture_still()
    camera.plug()
    assert camera.preview_frame().shape == (480, 640)


# --- from outside the process ---------------------------------------------------
def test_the_scene_file_switches_the_scene(camera, sim_dir, scanner):
    path = scene_file(sim_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"type": "qr", "payload": "FILE000001", "angle_deg": 10}))
    assert scanner.decode(camera.preview_frame()) == ["FILE000001"]


def test_the_latest_change_wins_between_the_file_and_show(camera, sim_dir, scanner):
    write_scene_file(sim_dir, QrScene("FILE000001"))
    assert scanner.decode(camera.preview_frame()) == ["FILE000001"]
    camera.show(QrScene("CODE000002"))
    assert scanner.decode(camera.preview_frame()) == ["CODE000002"]  # the file has not changed since
    write_scene_file(sim_dir, QrScene("FILE000003"))
    assert scanner.decode(camera.preview_frame()) == ["FILE000003"]


def test_unplugging_from_outside_and_removing_the_file_plugs_back(camera, sim_dir):
    write_scene_file(sim_dir, UnpluggedScene())
    with pytest.raises(CameraUnavailable):
        camera.preview_frame()
    os.unlink(scene_file(sim_dir))
    assert camera.scene == QrScene(DEFAULT_DEMO_NUMBER)


def test_a_malformed_scene_file_is_ignored_with_a_warning(camera, sim_dir, caplog):
    scene_file(sim_dir).parent.mkdir(parents=True, exist_ok=True)
    scene_file(sim_dir).write_text('{"type": "hologram"}')
    assert camera.scene == QrScene(DEFAULT_DEMO_NUMBER)
    assert "hologram" in caplog.text


@pytest.mark.parametrize("scene", [QrScene("AB12CD34EF", code_px=90, angle_deg=5.0, blur=1.0), DocumentScene("photo"),
                                   ImageScene("/tmp/x.png"), FolderScene("/tmp/frames", 3), EmptyScene(),
                                   UnpluggedScene()])
def test_every_scene_round_trips_through_its_file_form(scene, sim_dir):
    write_scene_file(sim_dir, scene)
    assert scene_from_dict(json.loads(scene_file(sim_dir).read_text())) == scene


def test_unknown_scene_fields_are_refused():
    with pytest.raises(ValueError, match="unknown fields"):
        scene_from_dict({"type": "qr", "payload": "X", "colour": "red"})


# --- a folder of pictures as the feed ----------------------------------------------
def test_a_configured_folder_plays_as_the_feed(sim_dir, tmp_path, scanner, rng, hal_config):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, number in enumerate(["FOLDER0001", "FOLDER0002"]):
        Image.fromarray(qr_frame(number, rng=rng)).save(frames / f"{i:02d}.png")
    (frames / "readme.txt").write_text("not a picture")
    config = dataclasses.replace(hal_config, sim_camera_dir=str(frames))
    with SimCamera(config, sim_dir, fps=None) as camera:
        camera.show(FolderScene(str(frames), frames_per_image=2))
        seen = [scanner.decode(camera.preview_frame()) for _ in range(6)]
    assert seen == [["FOLDER0001"]] * 2 + [["FOLDER0002"]] * 2 + [["FOLDER0001"]] * 2


def test_the_configured_folder_is_the_default_scene(sim_dir, tmp_path, hal_config):
    (tmp_path / "frames").mkdir()
    config = dataclasses.replace(hal_config, sim_camera_dir=str(tmp_path / "frames"))
    assert SimCamera(config, sim_dir).scene == FolderScene(str(tmp_path / "frames"))


def test_a_configured_folder_that_does_not_exist_stops_the_camera_at_open(sim_dir, tmp_path, hal_config):
    config = dataclasses.replace(hal_config, sim_camera_dir=str(tmp_path / "nowhere"))
    with pytest.raises(CameraUnavailable):
        SimCamera(config, sim_dir).open()


def test_preview_frames_are_paced_like_a_camera(hal_config, sim_dir):
    ticks = iter([0.0, 0.0, 0.1])
    with SimCamera(hal_config, sim_dir, fps=1000.0, clock=lambda: next(ticks)) as camera:
        camera.show(EmptyScene())
        camera.preview_frame()
        camera.preview_frame()  # due 1 ms after the first: the camera waits for it
        camera.preview_frame()  # already late: no wait
    assert isinstance(camera.scene, EmptyScene)


def test_left_to_itself_the_camera_shows_the_demo_qr_to_the_scanner_and_a_sheet_to_stills(tmp_path):
    from kiosk.config import HalConfig
    from kiosk.hal.pyzbar_scanner import PyzbarScanner
    from kiosk.hal.sim.camera import DEFAULT_DEMO_NUMBER, SimCamera
    from kiosk.core.quality import assess

    with SimCamera(HalConfig(), tmp_path, fps=None) as cam, PyzbarScanner(HalConfig(), tmp_path) as scanner:
        assert scanner.decode(cam.preview_frame()) == [DEFAULT_DEMO_NUMBER]
        still = cam.capture_still()
        assert assess(still).acceptable
        assert scanner.decode(still[..., 1]) == []
