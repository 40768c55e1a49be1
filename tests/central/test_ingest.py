"""Ingest: a dossier is read through the shared model or refused with a protocol error; staged uploads are purged.

Hostile dossiers are what a compromised kiosk could send: a real capture,
opened with the service's key, altered, sealed again and signed with the
kiosk's own key, then uploaded by the kiosk's real client. Every one is
refused with a 4xx and its code, and nothing is stored. The purge runs on
the service's injectable clock (``Services.clock``): nothing waits.
"""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from nacl.public import SealedBox
from sqlalchemy import select

from central import ingest
from central.app import create_app
from central.blobstore import FsBlobStore
from central.models import Device, Dossier, Upload
from factory import capture, count, enroll_kiosk, package_of, upload
from factory import staged as staged_upload
from titres.errors import PermanentSyncError
from titres.protocol import Package, package_sha256, sha256_hex, sign_manifest

DAY = 86_400


@pytest.fixture
def kiosk(services, client, tmp_path):
    return enroll_kiosk(services, client, tmp_path / "kiosk")


def with_dossier_json(services, manifest, parts, raw: bytes) -> Package:
    """The package with ``raw`` as its dossier's JSON, sealed to the service as a kiosk would seal it."""
    sealed = [SealedBox(services.keys.sealing.public_key).encrypt(raw), *parts[1:]]
    described = [{"size": len(p), "sha256": sha256_hex(p)} for p in sealed]
    return Package(dict(manifest, parts=described, package_sha256=package_sha256(described)),
                   [lambda p=p: p for p in sealed])


def refusal(services, kiosk, manifest, parts, raw: bytes) -> PermanentSyncError:
    with pytest.raises(PermanentSyncError) as refused:
        kiosk.central.upload(with_dossier_json(services, manifest, parts, raw))
    return refused.value


def edited(content: dict, edit) -> bytes:
    content = json.loads(json.dumps(content))
    edit(content)
    return json.dumps(content).encode()  # NaN and infinities as Python writes them: JSON has none


def _nested(levels: int):
    value: object = "deep"
    for _ in range(levels):
        value = {"x": value}
    return value


# -- the dossier read through the shared model ----------------------------------------------------------------

@pytest.fixture
def captured(services, kiosk):
    """A real capture's package (a lost card: a stamp to pay) and its dossier's JSON, as the service opens it."""
    dossier_id, _ = capture(kiosk, "adult-loss-cni")
    manifest, parts = package_of(kiosk, dossier_id)
    content = json.loads(SealedBox(services.keys.sealing).decrypt(parts[0]))
    return dossier_id, manifest, parts, content


def test_a_dossier_of_an_unknown_schema_is_refused_naming_the_version_found_and_those_read(
        services, kiosk, captured):
    dossier_id, manifest, parts, content = captured
    for schema in (3, 0, "2", 2.0, True, None):
        error = refusal(services, kiosk, manifest, parts, edited(content, lambda c: c.update(schema=schema)))
        assert (error.status, error.code) == (400, "unsupported_schema"), schema
        assert f"dossier schema {schema!r} is not supported; this reader reads schemas 1, 2" in str(error)
    error = refusal(services, kiosk, manifest, parts, edited(content, lambda c: c.pop("schema")))
    assert error.code == "unsupported_schema" and "dossier schema None" in str(error)
    assert count(services, Dossier) == 0


def _del(key):
    return lambda c: c.pop(key)


def _set(path, value):
    def edit(c):
        *parents, last = path
        for p in parents:
            c = c[p]
        c[last] = value
    return edit


def _add_attachment_name(c):
    c["attachments"][1]["name"] = c["attachments"][0]["name"]


# (what is wrong, how the JSON is altered, what the refusal says)
MALFORMED = [
    ("a key missing", _del("checklist"), "checklist is missing"),
    ("a key missing in an item", lambda c: c["documents"][0].pop("status"), "documents[0].status is missing"),
    ("a boolean as a string", _set(["predemande_fetched"], "yes"), "predemande_fetched is a string, not a boolean"),
    ("a count as a string", _set(["documents", 0, "attempts"], "2"), "documents[0].attempts is a string"),
    ("a count as a boolean", _set(["fingerprints", 0, "attempts"], True), "fingerprints[0].attempts is a boolean"),
    ("a list as an object", _set(["checklist"], {"photo": True}), "checklist is an object, not a list"),
    ("a number in a list of names", _set(["checklist", 1], 7), "checklist[1] is a number, not a string"),
    ("an item not an object", _set(["documents"], ["photo"]), "documents[0] is a string, not an object"),
    ("a quality not a number", _set(["documents", 0, "quality"], {"sharpness": "sharp"}),
     "documents[0].quality.sharpness is a string, not a number"),
    ("a document status not in its enum", _set(["documents", 0, "status"], "lost"),
     "documents[0].status is 'lost', not one of captured, original_at_desk, not_held"),
    ("a finger status not in its enum", _set(["fingerprints", 0, "status"], "smudged"),
     "fingerprints[0].status is 'smudged', not one of captured, low_quality, unavailable, sensor_failed"),
    ("a stamp mode not in its enum", _set(["stamps", 0, "mode"], "barter"), "stamps[0].mode is 'barter'"),
    ("an answer's source not in its enum", _set(["answers", 0, "source"], "neighbour"), "answers[0].source"),
    ("a flag not in its enum", _set(["flags"], ["free_pass"]), "flags[0] is 'free_pass'"),
    ("an attachment named but not in the package", _set(["signature"], "signatures/someone-else.png"),
     "signature names attachment 'signatures/someone-else.png', which the dossier does not list"),
    ("a photo named but not in the package", _set(["documents", 0, "attachment"], "documents/elsewhere"),
     "documents[0].attachment names attachment 'documents/elsewhere'"),
    ("an attachment listed twice", _add_attachment_name, "is listed twice"),
    ("an attachment's size wrong", _set(["attachments", 0, "size"], 1), "does not match its hash"),
    ("not a finite number", _set(["documents", 0, "quality", "sharpness"], float("nan")), "not a finite number"),
    ("an infinite number", _set(["stamps", 0, "amount_cents"], float("inf")), "not a finite number"),
    ("a NUL in a name", _set(["predemande", "person", "surname"], "DU\x00PONT"),
     "predemande.person.surname holds a NUL character"),
    ("a lone surrogate", _set(["predemande", "person", "given_names"], "\ud800"), "no UTF-8 form"),
    ("nested too deep", _set(["case", "extra"], _nested(40)), "nests more than 16 levels deep"),
    ("the dossier's number unlike the manifest's", _set(["number"], None), "the dossier's number differs"),
]


def test_every_malformed_dossier_is_refused_with_a_protocol_error_and_nothing_is_stored(services, kiosk, captured):
    dossier_id, manifest, parts, content = captured
    assert content["answers"] and content["stamps"] and content["fingerprints"] and content["predemande"]
    for what, edit, says in MALFORMED:
        error = refusal(services, kiosk, manifest, parts, edited(content, edit))
        assert (error.status, error.code) == (400, "malformed_dossier"), what
        assert says in str(error), (what, str(error))
    assert count(services, Dossier) == 0
    upload(kiosk, dossier_id)  # the kiosk's own package is still welcome
    assert count(services, Dossier) == 1


def test_a_dossier_that_is_not_json_the_model_reads_is_refused(services, kiosk, captured):
    dossier_id, manifest, parts, _ = captured
    for raw, says in [
        (b"not json", "not a dossier's JSON"),
        (b"\xff\xfe\xfa", "not a dossier's JSON"),  # not UTF-8
        (b"[]", "a dossier is a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "nests too deep to be read"),
        (b'{"schema": 2, "x": 1e400}', "x is inf, not a finite number"),
        (b'{"schema": 2, "x": NaN}', "x is nan, not a finite number"),
    ]:
        error = refusal(services, kiosk, manifest, parts, raw)
        assert (error.status, error.code) == (400, "malformed_dossier"), raw[:20]
        assert says in str(error), (raw[:20], str(error))
    assert count(services, Dossier) == 0


def test_an_attachment_that_does_not_match_the_dossiers_hash_is_refused(services, kiosk, captured):
    dossier_id, manifest, parts, content = captured
    error = refusal(services, kiosk, manifest, parts, edited(content, _set(["attachments", 0, "sha256"], "0" * 64)))
    assert (error.status, error.code) == (400, "malformed_dossier")
    assert f"attachment {content['attachments'][0]['name']!r} does not match its hash" in str(error)


def test_the_stored_content_is_the_json_the_kiosk_sent(services, kiosk, captured):
    dossier_id, _, _, content = captured
    upload(kiosk, dossier_id)
    with services.db() as db:
        assert db.get(Dossier, dossier_id).content == content


# -- the purge of stale uploads --------------------------------------------------------------------------------

def declare_partly(services, kiosk) -> tuple[str, dict]:
    """A captured package declared at the service's time, with its first two parts sent and no commit."""
    dossier_id, _ = capture(kiosk)
    manifest, _ = staged_upload(services, kiosk, dossier_id, sent=(0, 1))
    return dossier_id, manifest


def staged(services, dossier_id: str, manifest: dict) -> list[bool]:
    """For each part of the package, whether the service still holds it."""
    return [services.blobs.size(ingest.part_key(dossier_id, i, p["sha256"])) is not None
            for i, p in enumerate(manifest["parts"])]


def uploads(services) -> set[str]:
    with services.db() as db:
        return set(db.scalars(select(Upload.dossier_id)))


def test_stale_uploads_are_purged_with_their_parts_and_fresh_ones_kept(services, kiosk, clock):
    old, old_manifest = declare_partly(services, kiosk)
    clock.advance(10 * DAY)
    fresh, fresh_manifest = declare_partly(services, kiosk)
    clock.advance(4.1 * DAY)  # the first is past the 14 days of staging_retention_days, the second is 4 days old
    assert ingest.StaleUploadPurge(services).run_once() == 1
    assert uploads(services) == {fresh}
    assert not any(staged(services, old, old_manifest))
    assert staged(services, fresh, fresh_manifest)[:2] == [True, True]
    assert ingest.StaleUploadPurge(services).run_once() == 0
    upload(kiosk, old)  # the kiosk still has it: it declares it again and sends it whole
    assert count(services, Dossier) == 1


def test_the_retention_is_the_configurations(services, kiosk, clock):
    from dataclasses import replace

    dossier_id, _ = declare_partly(services, kiosk)
    clock.advance(4 * DAY)
    assert ingest.StaleUploadPurge(services).run_once() == 0
    services.config = replace(services.config, staging_retention_days=3)
    assert ingest.StaleUploadPurge(services).run_once() == 1
    assert uploads(services) == set()


def test_an_upload_declared_again_counts_from_its_last_declaration(services, kiosk, clock):
    dossier_id, manifest = declare_partly(services, kiosk)
    clock.advance(13 * DAY)
    with services.db() as db:
        device = db.get(Device, kiosk.device_id)
    assert ingest.declare(services, device, manifest, sign_manifest(manifest, kiosk.key)).missing[0] == 2
    clock.advance(13 * DAY)  # 26 days after the first declaration, 13 after the kiosk came back
    assert ingest.StaleUploadPurge(services).run_once() == 0
    assert uploads(services) == {dossier_id}


def test_the_application_starts_the_purge_and_stops_it_with_itself(services, kiosk, clock):
    dossier_id, _ = declare_partly(services, kiosk)
    clock.advance(15 * DAY)
    with TestClient(create_app(services)) as app_client:
        purge = app_client.app.state.stale_upload_purge
        assert purge.alive
        assert purge.interval_s == ingest.PURGE_INTERVAL_S
        assert purge.wait_for_passes(1, timeout_s=60), "the purge made no pass after the application started"
        assert uploads(services) == set()
        assert purge.failures == 0 and purge.alive
    assert not purge.alive
    purge.stop()  # twice is harmless


class UnreachableOnce(FsBlobStore):
    """A blob store whose first delete fails, like an object store restarting."""

    def __init__(self, root):
        super().__init__(root)
        self.failed = False

    def delete(self, key: str) -> None:
        if not self.failed:
            self.failed = True
            raise OSError("blob store unreachable")
        super().delete(key)


def test_a_failed_pass_is_logged_and_the_purge_keeps_running(services, kiosk, clock, caplog):
    dossier_id, manifest = declare_partly(services, kiosk)
    clock.advance(15 * DAY)
    services.blobs = UnreachableOnce(services.config.blobs_dir)
    purge = ingest.StaleUploadPurge(services, interval_s=0.01)
    with caplog.at_level(logging.ERROR, logger="central.ingest"):
        purge.start()
        try:
            assert purge.wait_for_passes(2, timeout_s=60), "the purge thread stopped making passes"
            assert purge.alive, "the purge thread died"
        finally:
            purge.stop()
    assert purge.failures == 1
    assert [r.exc_info[1].args for r in caplog.records if "purging stale uploads failed" in r.getMessage()] \
        == [("blob store unreachable",)]
    assert uploads(services) == set() and not any(staged(services, dossier_id, manifest))
    assert not purge.alive


def test_a_part_purged_between_the_count_and_the_commit_asks_the_kiosk_again_rather_than_failing(
        services, kiosk, monkeypatch):
    """The purge may delete a stale upload's part after commit counted the parts and before it opened them:
    the kiosk is told the part is missing (409 incomplete, which it resends), not a 500."""
    dossier_id, _ = capture(kiosk)
    manifest, device = staged_upload(services, kiosk, dossier_id)
    counted = ingest._missing

    def counted_then_purged(services_, manifest_):
        missing = counted(services_, manifest_)
        services_.blobs.delete(ingest.part_key(dossier_id, 1, manifest["parts"][1]["sha256"]))
        return missing

    monkeypatch.setattr(ingest, "_missing", counted_then_purged)
    with pytest.raises(ingest.ProtocolError) as refused:
        ingest.commit(services, device, dossier_id)
    assert refused.value.code == "incomplete"
    assert count(services, Dossier) == 0
    monkeypatch.setattr(ingest, "_missing", counted)
    upload(kiosk, dossier_id)  # the kiosk sends the part again, and the dossier is stored once
    assert count(services, Dossier) == 1
