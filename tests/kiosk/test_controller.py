"""The controller's jobs against the shipped simulators: what the citizen is told when things go wrong."""

from __future__ import annotations

import pytest

from kiosk.config import load_config, simulated
from kiosk.controller import UNREADABLE_AFTER_FRAMES
from kiosk.hal.sim.camera import DocumentScene, EmptyScene, QrScene, UnpluggedScene
from kiosk.runtime import build_kiosk
from kiosk.core.session import Step


@pytest.fixture
def kiosk(tmp_path):
    cfg = simulated(load_config(env={})).with_overrides(data_dir=tmp_path / "kiosk")
    k = build_kiosk(cfg)
    yield k
    k.close()


def scan(k, frames):
    for _ in range(frames):
        k.controller.scan_job().run_sync(k.controller.session)


def test_a_demo_qr_is_read_on_two_frames_and_looked_up(kiosk):
    s = kiosk.controller.session
    s.start()
    kiosk.devices.camera.show(QrScene("B2C3D4E5F6", angle_deg=15))
    scan(kiosk, 2)
    assert s.step is Step.CONFIRM
    assert s.predemande.person.surname == "DUPONT"


def test_a_single_frame_is_not_enough_to_act(kiosk):
    s = kiosk.controller.session
    s.start()
    kiosk.devices.camera.show(QrScene("B2C3D4E5F6"))
    scan(kiosk, 1)
    assert s.step is Step.IDENTIFY


def test_a_foreign_qr_is_reported_once_while_it_stays_in_view(kiosk):
    s = kiosk.controller.session
    s.start()
    shown = []
    s.subscribe(lambda sess: shown.append(sess.message.key if sess.message else None))
    kiosk.devices.camera.show(QrScene("https://www.example.org/menu"))
    scan(kiosk, 4)
    assert s.step is Step.IDENTIFY
    assert shown.count("identify.error.not_predemande") == 1


def test_nothing_readable_for_a_while_suggests_a_way_forward(kiosk):
    s = kiosk.controller.session
    s.start()
    kiosk.devices.camera.show(EmptyScene())
    scan(kiosk, UNREADABLE_AFTER_FRAMES - 1)
    assert s.message is None or s.message.key != "identify.error.unreadable"
    scan(kiosk, 1)
    assert s.message.key == "identify.error.unreadable"


def test_an_unplugged_camera_tells_the_citizen_and_keeps_the_session(kiosk):
    s = kiosk.controller.session
    s.start()
    kiosk.devices.camera.show(UnpluggedScene())
    scan(kiosk, 1)
    assert s.step is Step.IDENTIFY and s.message.key == "error.camera"


def test_offline_directory_leads_to_questions(kiosk):
    s = kiosk.controller.session
    kiosk.controller.directory.offline = True
    s.start()
    kiosk.controller.typed_number_job("A1B2C3D4E5").run_sync(s)
    assert s.step is Step.QUESTIONS and s.message.key == "identify.offline"


def _to_capture(kiosk):
    s = kiosk.controller.session
    s.start()
    kiosk.controller.typed_number_job("A1B2C3D4E5").run_sync(s)
    s.confirm()
    s.answer("secure_document", "valid")
    s.next_question()
    s.begin_capture()
    return s


def test_a_blurred_document_is_refused_with_advice_then_a_sharp_one_kept(kiosk):
    s = _to_capture(kiosk)
    first = s.current_requirement.id
    kiosk.devices.camera.show(DocumentScene(kind=first, blur=8.0))
    kiosk.controller.photo_job().run_sync(s)
    assert s.current_requirement.id == first and s.message.key == "quality.blurry"
    kiosk.devices.camera.show(DocumentScene(kind=first))
    job = kiosk.controller.photo_job()
    image, report, picture = job.run_sync(s)
    # Accepted: shown back to the citizen, as a small picture made on the worker, before going on.
    assert s.reviewing and s.message.key == "capture.accepted"
    assert picture.ndim == 3 and max(picture.shape[:2]) <= 360
    kept = s.dossier.attachments[f"documents/{first}"]
    assert bytes(kept.data[:3]) == b"\xff\xd8\xff"  # a JPEG
    s.document_kept()
    assert s.current_requirement.id != first


def test_a_late_result_for_a_cancelled_session_is_dropped(kiosk):
    s = _to_capture(kiosk)
    job = kiosk.controller.photo_job()
    result = job.work()
    s.cancel()
    s.start()
    assert job.deliver(s, result, None) is None
    assert s.step is Step.IDENTIFY and s.dossier is None


def test_a_full_disk_closes_the_kiosk_to_new_citizens(kiosk):
    kiosk.outbox.min_free_bytes = 1 << 62
    kiosk.controller.refresh_availability()
    s = kiosk.controller.session
    s.start()
    assert s.step is Step.WELCOME and s.message.key == "summary.error.disk_full"
    assert kiosk.devices.indicator.light.value == "fault"  # out of service: for a technician


def test_a_late_photo_after_back_does_not_land_on_the_previous_document(kiosk):
    s = _to_capture(kiosk)
    kiosk.devices.camera.show(DocumentScene(kind="photo"))
    kiosk.controller.photo_job().run_sync(s)
    s.document_kept()  # first document kept, now on the second
    second = s.current_requirement.id
    job = kiosk.controller.photo_job()  # made for the second document
    result = job.work()
    s.back()  # the citizen goes back to the first document meanwhile
    assert job.deliver(s, result, None) is None
    assert f"documents/{second}" not in s.dossier.attachments
    assert s.index == 0 and not s.dossier.documents


def test_a_refused_pre_demande_left_in_view_is_not_looked_up_again_and_again(kiosk):
    s = kiosk.controller.session
    s.start()
    lookups = []
    directory = kiosk.controller.directory
    original = directory.fetch
    directory.fetch = lambda number: lookups.append(number) or original(number)
    kiosk.devices.camera.show(QrScene("G7H8J9K0L1"))  # consumed
    scan(kiosk, 10)
    assert lookups == ["G7H8J9K0L1"]
    assert s.step is Step.IDENTIFY and s.message.key == "identify.error.consumed"  # in the agency's words
    kiosk.devices.camera.show(QrScene("A1B2C3D4E5"))
    scan(kiosk, 2)
    assert s.step is Step.CONFIRM


def test_the_sensor_ring_invites_then_says_kept_or_try_again(kiosk):
    sensor = kiosk.devices.fingerprint
    sensor.script("good", "too_wet")
    assert kiosk.controller.finger_job().work().ok
    assert not kiosk.controller.finger_job().work().ok
    place, ok, retry = (1, 0x60, 2, 0), (2, 0x20, 3, 1), (2, 0x30, 1, 3)  # blue breathing, purple flash, red x3
    assert sensor.led_history[-4:] == [place, ok, place, retry]


def test_a_sensor_that_stops_answering_fails_the_attempt_without_a_long_wait(kiosk):
    import time

    from titres.errors import SensorUnavailable

    kiosk.devices.fingerprint.emulator.unplug()
    start = time.monotonic()
    with pytest.raises(SensorUnavailable):
        kiosk.controller.finger_job().work()
    assert time.monotonic() - start < 3.0  # one reply timeout, one reconnection at the known rate
    kiosk.devices.fingerprint.emulator.plug()
    assert kiosk.controller.finger_job().work().ok


# -- the receipt -------------------------------------------------------------------------------------
def _printed(tmp_path, scenario_name: str, language: str = "fr", **site):
    """Play an example scenario (in ``language``) on a kiosk of the given mairie; its receipt read back."""
    import dataclasses
    from pathlib import Path

    from kiosk.hal.sim.escpos_decode import decode_file
    from kiosk.scenario import load_scenario, run_scenario

    cfg = simulated(load_config(env={})).with_overrides(data_dir=tmp_path / "kiosk")
    cfg = cfg.with_overrides(site=dataclasses.replace(cfg.site, **site))
    scenario = load_scenario(Path(__file__).resolve().parents[2] / "examples" / "scenarios" / f"{scenario_name}.json")
    if language != "fr":
        scenario["steps"].insert(0, {"language": language})
    result = run_scenario(scenario, cfg)
    assert result["ok"], result["failures"]
    return decode_file(result["receipt"])


def test_a_kiosk_in_guyane_prints_cayenne_time(tmp_path):
    # The scenario's clock says 10:00 in Paris (UTC+1): 06:00 in Cayenne (UTC-3), whatever the image's zone.
    assert "Date : 22/11/2026 06:00" in _printed(tmp_path, "adult-renewal-cni", timezone="America/Cayenne").lines
    assert "Date : 22/11/2026 10:00" in _printed(tmp_path / "paris", "adult-renewal-cni").lines


def test_the_receipt_labels_the_hours_and_says_where_to_follow_the_dossier(tmp_path):
    text = " ".join(_printed(tmp_path, "adult-renewal-cni", opening_hours="Lun.-ven. 9h-12h",
                             status_url="https://titres.example.fr/statut").lines)
    assert "Horaires d'ouverture : Lun.-ven. 9h-12h" in text
    assert "Suivez votre dossier" in text and "https://titres.example.fr/statut" in text.replace(" ", "")


def test_the_english_receipt_is_english_throughout(tmp_path):
    text = _printed(tmp_path, "adult-loss-cni", "en", status_url="https://titres.example.fr/statut").text
    for english in ("RECEIPT FOR YOUR APPLICATION", "Date: 22/11/2026", "Pre-application: B2", "Application number",
                    "Originals to show at the desk:", "Opening hours:", "Follow your application"):
        assert english in text, english
    # The mairie's own name and address are its own; everything the kiosk wrote is English.
    for french in ("Date :", "Pré-demande", "Originaux", "Horaires", "Suivez", "Timbre", "Déclaration"):
        assert french not in text, french


def test_the_receipt_ends_at_the_cutter_without_a_blank_tail(tmp_path):
    from kiosk.hal.sim.escpos_decode import Cut, Feed, Line

    items = _printed(tmp_path, "adult-renewal-cni").items
    assert isinstance(items[-1], Cut)
    tail = []
    for item in reversed(items[:-1]):
        if isinstance(item, Line) and item.text.strip():
            break
        tail.append(item)
    # No empty line and no feed between the last text and the cut (GS V 66 0 feeds just to the cutter).
    assert not [i for i in tail if isinstance(i, Line) or (isinstance(i, Feed) and i.dots > 0)], tail
