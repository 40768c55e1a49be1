"""Commissioning against a real central service: the console's code, the enrollment, the files."""

from __future__ import annotations

import pytest

from central.enrollment import create_token
from factory import add_site
from central.models import Site
from kiosk.technician.commissioning import Commissioning, Stage
from kiosk.config import load_config
from titres.enrollment_code import format_code
from titres.errors import PermanentSyncError, RetryableSyncError
from kiosk.technician.provision import enroll, save_enrollment
from kiosk.sync.client import CentralClient
from kiosk.technician.pin import PinGuard, Verdict


def test_a_blank_kiosk_is_commissioned_from_the_consoles_code(services, client, tmp_path):
    token = create_token(services, add_site(services, "Mairie de Trèbes"), created_by="test")
    with services.db() as db, db.begin():
        site = db.get(Site, "mairie-de-trebes")
        site.address, site.opening_hours = "Place de la République, 11800 Trèbes", "Lundi-vendredi 8h30-12h"
        site.default_language = "en"
    data = tmp_path / "kiosk"
    config = load_config(env={}, data_dir=data)
    flow = Commissioning(config.directory.central_url, allowed=("http://testserver",))
    assert flow.code_read(format_code("http://testserver", token))
    enrollment = enroll(flow.code.central_url, flow.code.token, client=CentralClient(client))
    assert not config.provisioned_file.exists() and not config.device_key_file.exists(), "nothing written yet"
    flow.enrolled(enrollment.answer)
    flow.site_confirmed()
    flow.pin_entered("975310")
    flow.pin_entered("975310")
    save_enrollment(config, enrollment, flow.take_pin())
    flow.saved()
    assert flow.stage is Stage.DONE

    reloaded = load_config(env={}, data_dir=data)
    assert reloaded.sync.provisioned and reloaded.sync.device_id == enrollment.answer["device_id"]
    assert reloaded.site.kiosk_code == enrollment.answer["kiosk_code"]
    assert (reloaded.site.name, reloaded.site.address) == ("Mairie de Trèbes", "Place de la République, 11800 Trèbes")
    assert reloaded.session.default_language == "en", "the mairie's language comes with the enrollment"
    assert reloaded.directory.central_url == "http://testserver"
    assert PinGuard(reloaded.technician_pin_file).check("975310").verdict is Verdict.OK


def test_a_used_token_is_refused_with_a_code_the_screen_explains(services, client, tmp_path):
    token = create_token(services, add_site(services, "demo-site"), created_by="test")
    enroll("http://testserver", token, client=CentralClient(client))
    with pytest.raises(PermanentSyncError) as caught:
        enroll("http://testserver", token, client=CentralClient(client))
    assert caught.value.code == "bad_token"


def test_an_unreachable_service_is_a_network_error():
    with pytest.raises(RetryableSyncError):
        enroll("http://127.0.0.1:9", "Zq3-_abcdefghijklmnopq")
