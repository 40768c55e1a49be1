"""Commissioning against a real central service: the console's code, the PIN, the enrollment, the files."""

from __future__ import annotations

import pytest

from central.enrollment import create_token
from central.models import Site
from kiosk.commissioning import Commissioning, Stage
from kiosk.config import load_config
from kiosk.enrollment_code import format_code
from kiosk.errors import PermanentSyncError, RetryableSyncError
from kiosk.provision import commission
from kiosk.sync.client import CentralClient
from kiosk.technician_pin import PinGuard, Verdict


def test_a_blank_kiosk_is_commissioned_from_the_consoles_code(services, client, tmp_path):
    token = create_token(services, "Mairie de Trèbes", created_by="test")
    with services.db() as db, db.begin():
        site = db.get(Site, "mairie-de-trebes")
        site.address, site.opening_hours = "Place de la République, 11800 Trèbes", "Lundi-vendredi 8h30-12h"
    data = tmp_path / "kiosk"
    config = load_config(env={}, data_dir=data)
    assert not config.sync.provisioned
    flow = Commissioning(config.directory.central_url)
    assert flow.code_read(format_code("http://testserver", token))
    flow.pin_entered("975310")
    flow.pin_entered("975310")
    answer, pin_stored = commission(config, flow.code.central_url, flow.code.token, flow.take_pin(),
                                    client=CentralClient(client))
    flow.enrolled(answer)
    assert flow.stage is Stage.DONE and pin_stored
    assert answer["site"]["address"], "the mairie's address comes with the answer, for the receipt"

    reloaded = load_config(env={}, data_dir=data)
    assert reloaded.sync.provisioned and reloaded.sync.device_id == answer["device_id"]
    assert reloaded.site.kiosk_code == answer["kiosk_code"]
    assert (reloaded.site.name, reloaded.site.address) == ("Mairie de Trèbes", "Place de la République, 11800 Trèbes")
    assert reloaded.directory.central_url == "http://testserver"
    assert PinGuard(reloaded.technician_pin_file).check("975310").verdict is Verdict.OK


def test_a_used_token_is_refused_and_the_pin_is_kept(services, client, tmp_path):
    token = create_token(services, "demo-site", created_by="test")
    commission(load_config(env={}, data_dir=tmp_path / "first"), "http://testserver", token, None,
               client=CentralClient(client))
    second = load_config(env={}, data_dir=tmp_path / "second")
    with pytest.raises(PermanentSyncError) as caught:
        commission(second, "http://testserver", token, "975310", client=CentralClient(client))
    assert caught.value.code == "bad_token" and caught.value.pin_stored
    assert not second.provisioned_file.exists(), "a refused enrollment leaves the kiosk blank"
    assert PinGuard(second.technician_pin_file).is_set()


def test_an_unreachable_service_is_a_network_error(tmp_path):
    config = load_config(env={}, data_dir=tmp_path)
    with pytest.raises(RetryableSyncError):
        commission(config, "http://127.0.0.1:9", "Zq3-_abcdefghijklmnopq", None)
    assert not config.provisioned_file.exists()
