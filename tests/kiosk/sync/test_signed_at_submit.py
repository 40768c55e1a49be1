"""A provisioned kiosk signs each package's manifest when the dossier is submitted, not when it is sent."""

from __future__ import annotations

import json
import sqlite3

import pytest
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from kiosk.sync.export import PACKAGE_FILE, export_queue
from kiosk.sync.outbox import Outbox, State
from titres.protocol import DeviceSigner, verify_manifest

from tests.kiosk.sync.test_outbox import make_dossier, receipt

DEVICE = "dev-0001"


@pytest.fixture
def signer():
    return DeviceSigner(DEVICE, SigningKey.generate())


@pytest.fixture
def outbox(tmp_path, signer):
    ob = Outbox(tmp_path / "data", PrivateKey.generate().public_key, signer=signer)
    yield ob
    ob.close()


def test_the_manifest_is_signed_at_submit_and_the_package_carries_that_signature(outbox, signer):
    d = make_dossier()
    number = outbox.submit(d, receipt)
    stored = outbox.get(d.id).manifest
    assert stored["wire"]["number"] == number and stored["wire"]["device_id"] == DEVICE
    verify_manifest(stored["wire"], stored["signature"], signer.key.verify_key)

    package = outbox.package(d.id, DEVICE)
    assert package.manifest == stored["wire"]
    assert package.signature == stored["signature"]
    assert [len(read()) for read in package.parts] == [p["size"] for p in package.manifest["parts"]]


def test_the_signed_manifest_survives_a_crash_between_the_files_and_the_row(tmp_path, signer):
    """The manifest file on disk holds the signature too, so an adopted orphan is still signed at capture."""
    key = PrivateKey.generate().public_key
    with Outbox(tmp_path / "data", key, signer=signer) as ob:
        d = make_dossier()
        ob.submit(d, receipt)
        signature = ob.get(d.id).manifest["signature"]
    db = sqlite3.connect(tmp_path / "data" / "queue.db")
    db.execute("DELETE FROM dossiers")
    db.commit()
    db.close()
    with Outbox(tmp_path / "data", key, signer=signer) as reopened:
        assert reopened.package(d.id, DEVICE).signature == signature


def test_a_kiosk_enrolled_anew_signs_with_its_new_identity(outbox, signer):
    d = make_dossier()
    outbox.submit(d, receipt)
    package = outbox.package(d.id, "dev-0002")
    assert package.manifest["device_id"] == "dev-0002"
    assert package.signature is None  # the uploader signs it with the current key


def test_unprovisioned_submit_is_signed_at_upload(tmp_path):
    with Outbox(tmp_path / "data", PrivateKey.generate().public_key) as ob:
        d = make_dossier()
        ob.submit(d, receipt)
        assert "signature" not in ob.get(d.id).manifest
        assert ob.package(d.id, DEVICE).signature is None


def test_a_manifest_altered_on_the_card_is_put_aside_as_corrupt(outbox):
    """Someone rewrites the row so the signed list names other parts: never uploaded, reported."""
    first, second = make_dossier(1), make_dossier(2)
    outbox.submit(first, receipt)
    outbox.submit(second, receipt)
    manifest = outbox.get(first.id).manifest
    manifest["wire"]["flags"] = ["forged"]
    outbox._db.execute("UPDATE dossiers SET manifest = ? WHERE id = ?", (json.dumps(manifest), first.id))
    assert outbox.verify() == [first.id]
    assert outbox.get(first.id).state is State.CORRUPT
    assert "signed manifest" in outbox.get(first.id).last_error
    assert outbox.get(second.id).state is State.QUEUED


def test_a_forged_signature_is_put_aside_as_corrupt(outbox):
    d = make_dossier()
    outbox.submit(d, receipt)
    manifest = outbox.get(d.id).manifest
    manifest["signature"] = "00" * 64
    outbox._db.execute("UPDATE dossiers SET manifest = ? WHERE id = ?", (json.dumps(manifest), d.id))
    assert outbox.verify() == [d.id]
    assert outbox.get(d.id).last_error == "manifest signature does not verify"


def test_export_writes_the_signature_made_at_submit(outbox, signer, tmp_path):
    d = make_dossier()
    outbox.submit(d, receipt)
    export_queue(outbox, DEVICE, SigningKey.generate(), tmp_path / "usb")  # another key: must not be used
    body = json.loads((tmp_path / "usb" / d.id / PACKAGE_FILE).read_bytes())
    assert body["signature"] == outbox.get(d.id).manifest["signature"]
    verify_manifest(body["manifest"], body["signature"], signer.key.verify_key)
