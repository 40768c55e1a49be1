"""The device and citizen API: what it accepts, and above all what it refuses, stores nothing of.

Packages come from the simulated kiosk through the real client (``factory``);
refusals are made by altering what the client would send, on the wire.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from nacl.signing import SigningKey
from central import throttle
from central.enrollment import create_token, revoke_device
from central.models import Captured, Device, Dossier, Predemande, Upload
from factory import add_site, capture, count, deliver_dossier, enroll_kiosk, package_of, upload
from titres.errors import PermanentSyncError
from titres.ids import dossier_number
from titres.protocol import (API, MAX_PART_BYTES, canonical, sign_manifest, sign_request, verify_ack)


def signed(kiosk, method, path, body=b"", key=None, stamp=None, device_id=None):
    stamp = int(time.time()) if stamp is None else stamp
    return sign_request(key or kiosk.key, device_id or kiosk.device_id, method, path, body, stamp)


def put_json(client, kiosk, path, payload, **kw):
    body = canonical(payload)
    return client.put(path, content=body, headers={**signed(kiosk, "PUT", path, body, **kw),
                                                   "Content-Type": "application/json"})


def put_part(client, kiosk, dossier_id, index, data, **kw):
    path = f"{API}/packages/{dossier_id}/parts/{index}"
    return client.put(path, content=data, headers=signed(kiosk, "PUT", path, data, **kw))


def commit(client, kiosk, dossier_id, **kw):
    path = f"{API}/packages/{dossier_id}/commit"
    return client.post(path, headers=signed(kiosk, "POST", path, **kw))


@pytest.fixture
def kiosk(services, client, tmp_path):
    return enroll_kiosk(services, client, tmp_path / "kiosk")


# -- health and service ------------------------------------------------------------
def test_healthz_reports_database_and_blob_store(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["db"] == "ok" and r.json()["blobs"] == "ok"


def test_service_info_gives_the_keys_a_kiosk_needs(client, services):
    info = client.get(f"{API}/service").json()
    assert info["sealing_public_key"] == services.keys.sealing_public_hex
    assert info["verify_key"] == services.keys.verify_hex


# -- enrollment --------------------------------------------------------------------
def test_a_token_enrolls_one_kiosk_only(services, client):
    token = create_token(services, add_site(services, "Mairie de Limoux"), created_by="test")
    first = client.post(f"{API}/enroll", json={"token": token, "public_key": bytes(SigningKey.generate().verify_key).hex()})
    assert first.status_code == 201
    assert first.json()["site"]["name"] == "Mairie de Limoux"
    again = client.post(f"{API}/enroll", json={"token": token, "public_key": bytes(SigningKey.generate().verify_key).hex()})
    assert again.status_code == 403 and again.json()["error"] == "bad_token"
    assert count(services, Device) == 1


def test_enrollment_refuses_unknown_token_and_malformed_key(services, client):
    assert client.post(f"{API}/enroll", json={"token": "x" * 22, "public_key": "00" * 32}).json()["error"] == "bad_token"
    token = create_token(services, add_site(services, "demo-site"), created_by="test")
    r = client.post(f"{API}/enroll", json={"token": token, "public_key": "not hex"})
    assert r.status_code == 400 and r.json()["error"] == "malformed_key"
    assert client.post(f"{API}/enroll", content=b"{" * 10, headers={"Content-Type": "application/json"}).status_code == 400
    assert client.post(f"{API}/enroll", content=b"x" * 10_000).status_code == 413


def test_kiosk_codes_are_distinct_across_the_fleet(services, client, tmp_path):
    codes = {enroll_kiosk(services, client, tmp_path / f"k{i}").kiosk_code for i in range(3)}
    assert len(codes) == 3


# -- pré-demandes ------------------------------------------------------------------
def test_enrolled_kiosk_fetches_a_predemande_it_can_read(services, client, kiosk):
    """What it needs only (tests/central/test_security.py checks what it is not given)."""
    from central.predemandes import demo_records, import_records
    from titres.predemande import PreDemande

    import_records(services, demo_records())
    status, record = kiosk.central.predemande("A1B2C3D4E5")
    assert status == 200
    assert PreDemande.from_dict(record).person.surname == "MARTIN"
    assert kiosk.central.predemande("ZZZZZZZZZZ") == (404, None)


def test_predemande_refused_to_an_unsigned_or_unknown_caller(client, kiosk):
    assert client.get(f"{API}/predemandes/A1B2C3D4E5").status_code == 401
    stranger = SigningKey.generate()
    path = f"{API}/predemandes/A1B2C3D4E5"
    r = client.get(path, headers=signed(kiosk, "GET", path, key=stranger))
    assert r.status_code == 401 and r.json()["error"] == "bad_signature"
    r = client.get(path, headers=signed(kiosk, "GET", path, device_id="no-such-device"))
    assert r.json()["error"] == "unknown_device"


def test_a_consumed_predemande_is_gone(services, client, tmp_path):
    from central.predemandes import demo_records, import_records

    import_records(services, demo_records())
    dossier = deliver_dossier(services, client, tmp_path / "k")
    with services.db() as db:
        assert db.get(Predemande, dossier.predemande_number).consumed_by == dossier.id
    other = enroll_kiosk(services, client, tmp_path / "k2")
    status, record = other.central.predemande(dossier.predemande_number)
    assert status == 410 and record["status"] == "consumed"


def test_clock_skew_is_refused_with_the_service_time_and_the_client_adapts(client, kiosk):
    path = f"{API}/predemandes/A1B2C3D4E5"
    r = client.get(path, headers=signed(kiosk, "GET", path, stamp=int(time.time()) - 3600))
    assert r.status_code == 401 and r.json()["error"] == "clock_skew"
    assert abs(r.json()["server_time"] - time.time()) < 5
    kiosk.central._clock = lambda: time.time() - 86_400  # a Pi that booted without network time
    assert kiosk.central.predemande("ZZZZZZZZZZ") == (404, None)
    assert abs(kiosk.central.clock_offset - 86_400) < 5


# -- packages ----------------------------------------------------------------------
def test_a_dossier_is_stored_once_whatever_the_retries(services, client, kiosk):
    dossier_id, number = capture(kiosk)
    ack1 = upload(kiosk, dossier_id)
    ack2 = upload(kiosk, dossier_id)  # the ack was lost: the kiosk sends again
    assert ack1 == ack2
    verify_ack(ack1, kiosk.central.service_key, dossier_id, ack1["ack"]["package_sha256"])
    assert count(services, Dossier) == 1 and count(services, Upload) == 0
    manifest, parts = package_of(kiosk, dossier_id)
    assert put_json(client, kiosk, f"{API}/packages/{dossier_id}",
                    {"manifest": manifest, "signature": sign_manifest(manifest, kiosk.key)}).json()["complete"] is True
    assert commit(client, kiosk, dossier_id).json() == ack1  # a replayed commit answers the same ack
    with services.db() as db:
        stored = db.get(Dossier, dossier_id)
    assert stored.number == number and stored.package_sha256 == manifest["package_sha256"]


def test_stored_parts_are_byte_identical_to_the_kiosk_ones(services, client, kiosk):
    from central.ingest import part_key

    dossier_id, _ = capture(kiosk)
    upload(kiosk, dossier_id)
    manifest, parts = package_of(kiosk, dossier_id)
    for index, part in enumerate(manifest["parts"]):
        assert services.blobs.get(part_key(dossier_id, index, part["sha256"])) == parts[index]


def test_an_interrupted_upload_resumes_without_resending_what_is_held(services, client, kiosk):
    dossier_id, _ = capture(kiosk)
    manifest, parts = package_of(kiosk, dossier_id)
    declared = put_json(client, kiosk, f"{API}/packages/{dossier_id}",
                        {"manifest": manifest, "signature": sign_manifest(manifest, kiosk.key)}).json()
    assert declared["missing"] == list(range(len(parts)))
    assert put_part(client, kiosk, dossier_id, 0, parts[0]).status_code == 200
    assert put_part(client, kiosk, dossier_id, 1, parts[1]).status_code == 200
    # the process dies; after restart the declaration says what is still missing
    again = put_json(client, kiosk, f"{API}/packages/{dossier_id}",
                     {"manifest": manifest, "signature": sign_manifest(manifest, kiosk.key)}).json()
    assert again["missing"] == list(range(2, len(parts)))
    early = commit(client, kiosk, dossier_id)
    assert early.status_code == 409 and early.json()["error"] == "incomplete"
    assert count(services, Dossier) == 0
    upload(kiosk, dossier_id)
    assert count(services, Dossier) == 1


def test_truncated_and_tampered_parts_are_refused_and_not_stored(services, client, kiosk):
    from central.ingest import part_key

    dossier_id, _ = capture(kiosk)
    manifest, parts = package_of(kiosk, dossier_id)
    put_json(client, kiosk, f"{API}/packages/{dossier_id}", {"manifest": manifest, "signature": sign_manifest(manifest, kiosk.key)})
    r = put_part(client, kiosk, dossier_id, 1, parts[1][:-10])
    assert r.status_code == 400 and r.json()["error"] == "truncated"
    tampered = bytearray(parts[1])
    tampered[100] ^= 1
    r = put_part(client, kiosk, dossier_id, 1, bytes(tampered))
    assert r.status_code == 400 and r.json()["error"] == "hash_mismatch"
    assert services.blobs.size(part_key(dossier_id, 1, manifest["parts"][1]["sha256"])) is None
    assert put_part(client, kiosk, dossier_id, 99, parts[1]).json()["error"] == "no_such_part"
    assert count(services, Dossier) == 0


def test_a_tampered_manifest_or_wrong_key_signature_is_refused(services, client, kiosk):
    dossier_id, _ = capture(kiosk)
    manifest, _ = package_of(kiosk, dossier_id)
    signature = sign_manifest(manifest, kiosk.key)
    # change the flags the kiosk raised (what the agent looks at first), keep the signature
    forged = dict(manifest, flags=[] if manifest["flags"] else ["paper_stamp"])
    r = put_json(client, kiosk, f"{API}/packages/{dossier_id}", {"manifest": forged, "signature": signature})
    assert r.status_code == 401 and r.json()["error"] == "bad_signature"
    other = SigningKey.generate()
    r = put_json(client, kiosk, f"{API}/packages/{dossier_id}",
                 {"manifest": manifest, "signature": sign_manifest(manifest, other)})
    assert r.json()["error"] == "bad_signature"
    assert count(services, Upload) == 0 and count(services, Dossier) == 0


def test_a_package_replayed_by_another_device_is_refused(services, client, tmp_path, kiosk):
    dossier_id, _ = capture(kiosk)
    upload(kiosk, dossier_id)
    thief = enroll_kiosk(services, client, tmp_path / "thief")
    manifest, _ = package_of(kiosk, dossier_id)
    # the thief re-signs the captured manifest under its own name
    r = put_json(client, thief, f"{API}/packages/{dossier_id}",
                 {"manifest": manifest, "signature": sign_manifest(manifest, thief.key)})
    assert r.status_code == 403 and r.json()["error"] == "wrong_device"
    assert commit(client, thief, dossier_id).json()["error"] == "wrong_device"
    assert count(services, Dossier) == 1


def test_same_id_with_other_content_is_a_conflict_never_an_overwrite(services, client, kiosk):
    dossier_id, _ = capture(kiosk)
    ack = upload(kiosk, dossier_id)
    manifest, _ = package_of(kiosk, dossier_id)
    changed = dict(manifest, parts=manifest["parts"][:-1])
    from titres.protocol import package_sha256

    changed["package_sha256"] = package_sha256(changed["parts"])
    r = put_json(client, kiosk, f"{API}/packages/{dossier_id}", {"manifest": changed, "signature": sign_manifest(changed, kiosk.key)})
    assert r.status_code == 409 and r.json()["error"] == "conflict"
    with services.db() as db:
        assert db.get(Dossier, dossier_id).package_sha256 == ack["ack"]["package_sha256"]


def test_malformed_and_oversized_packages_are_refused(services, client, kiosk):
    dossier_id, _ = capture(kiosk)
    manifest, _ = package_of(kiosk, dossier_id)
    path = f"{API}/packages/{dossier_id}"
    for broken, code in [
        ({**manifest, "protocol": 99}, "unsupported_protocol"),
        ({**manifest, "number": "not-a-number"}, "malformed_manifest"),
        ({**manifest, "extra": 1}, "malformed_manifest"),
        ({**manifest, "parts": [{"size": MAX_PART_BYTES + 1, "sha256": "0" * 64}]}, "too_large"),
        ({**manifest, "package_sha256": "0" * 64}, "hash_mismatch"),
        ({**manifest, "flags": ["x" * 500]}, "malformed_manifest"),
        ({**manifest, "created_at": "yesterday"}, "malformed_manifest"),
        # a time UTC cannot say (before year 1 there): declared, it made the commit a 500 once all parts were sent
        ({**manifest, "created_at": "0001-01-01T00:00:00+01:00"}, "malformed_manifest"),
    ]:
        r = put_json(client, kiosk, path, {"manifest": broken, "signature": sign_manifest(broken, kiosk.key)})
        assert r.status_code in (400, 413) and r.json()["error"] == code, (broken, r.json())
    body = b"{" + b" " * (70 * 1024) + b"}"
    r = client.put(path, content=body, headers=signed(kiosk, "PUT", path, body))
    assert r.status_code == 413
    r = put_part(client, kiosk, dossier_id, 0, b"x" * (MAX_PART_BYTES + 1))
    assert r.status_code == 413
    assert count(services, Upload) == 0 and count(services, Dossier) == 0


def test_a_package_not_sealed_to_this_service_is_refused_at_commit(services, client, kiosk):
    from nacl.public import PrivateKey

    from kiosk.config import QueueConfig

    stranger = PrivateKey.generate().public_key
    kiosk.config = kiosk.config.with_overrides(queue=QueueConfig(min_free_bytes=0, recipient_public_key=bytes(stranger).hex()))
    dossier_id, _ = capture(kiosk)
    with pytest.raises(PermanentSyncError, match="not_sealed_to_us"):
        upload(kiosk, dossier_id)
    assert count(services, Dossier) == 0


def test_a_revoked_device_is_refused_from_then_on(services, client, kiosk):
    dossier_id, _ = capture(kiosk)
    assert revoke_device(services, kiosk.device_id, by="test")
    with pytest.raises(PermanentSyncError, match="revoked"):
        upload(kiosk, dossier_id)
    path = f"{API}/heartbeat"
    r = client.post(path, content=b"{}", headers=signed(kiosk, "POST", path, b"{}"))
    assert r.status_code == 403 and r.json()["error"] == "revoked"
    assert count(services, Dossier) == 0


def test_offline_capture_takes_names_from_the_service_copy_of_the_predemande(services, client, kiosk):
    from central.predemandes import demo_records, import_records

    import_records(services, demo_records())
    dossier_id, _ = capture(kiosk, "offline-adult-loss")
    upload(kiosk, dossier_id)
    with services.db() as db:
        stored = db.get(Dossier, dossier_id)
    assert "predemande_not_fetched" in stored.flags
    assert stored.surname and stored.birth_date is not None


# -- heartbeats and status ---------------------------------------------------------
def test_heartbeat_updates_the_fleet_and_announces_captured_dossiers(services, client, kiosk):
    from central.fleet import fleet
    from central.predemandes import demo_records, import_records

    import_records(services, demo_records())
    dossier_id, number = capture(kiosk)
    manifest, _ = package_of(kiosk, dossier_id)
    kiosk.central.heartbeat({"software_version": "9.9", "queue": {"queued": 1}, "oldest_queued_age_s": 42,
                             "selftest": {"ok": False, "devices": {"printer": "paper out"}},
                             "captured": [{"id": dossier_id, "number": number, "status_stub": manifest["status_stub"]}]})
    view = [k for k in fleet(services) if k.device_id == kiosk.device_id][0]
    assert view.online and view.software_version == "9.9" and view.queue == {"queued": 1}
    assert view.selftest_ok is False and view.selftest == {"printer": "paper out"}
    r = client.get(f"{API}/status", params={"number": number, "birth_date": "1985-03-14"})
    assert r.status_code == 200 and r.json()["state"] == "captured"
    upload(kiosk, dossier_id)
    assert count(services, Captured) == 0
    assert client.get(f"{API}/status", params={"number": number, "birth_date": "1985-03-14"}).json()["state"] == "received"


def test_heartbeat_text_no_page_prints_is_kept_as_spaces_and_the_fleet_page_still_opens(services, client, kiosk,
                                                                                           people):
    from central.fleet import fleet
    from test_console import login

    path = f"{API}/heartbeat"
    # A lone surrogate (what Python makes of an undecodable file name) in a device's detail made the fleet page a
    # 500 for as long as the kiosk was listed; in the version, a 500 at once, and a NUL on PostgreSQL too.
    body = (b'{"software_version": "1.0\\u0000b", "last_error": "disk \\udcff full", "corrupt": ["\\ud800"],'
            b' "selftest": {"ok": false, "devices": {"camera\\udcff": "no \\u0000 frame"}}}')
    r = client.post(path, content=body, headers=signed(kiosk, "POST", path, body))
    assert r.status_code == 200, r.text
    view = [k for k in fleet(services) if k.device_id == kiosk.device_id][0]
    assert view.software_version == "1.0 b" and view.selftest == {"camera": "no frame"}
    login(client, "hugo")
    page = client.get("/console/fleet")
    assert page.status_code == 200 and "no frame" in page.text


def test_malformed_heartbeat_is_refused(client, kiosk):
    path = f"{API}/heartbeat"
    for body in (b"[]", b'{"queue": {"queued": -1}}', b'{"queue": {"lost": 1}}', b"not json"):
        r = client.post(path, content=body, headers=signed(kiosk, "POST", path, body))
        assert r.status_code == 400, body


def test_status_needs_the_right_birth_date_and_says_the_same_for_unknown(services, client, tmp_path):
    dossier = deliver_dossier(services, client, tmp_path / "k")
    ok = client.get(f"{API}/status", params={"number": dossier.number, "birth_date": dossier.birth_date.isoformat()})
    assert ok.status_code == 200 and ok.json()["state"] == "received" and ok.json()["label_fr"]
    loose = client.get(f"{API}/status", params={"number": dossier.number.replace("-", "").lower(),
                                                  "birth_date": dossier.birth_date.isoformat()})
    assert loose.status_code == 200  # as typed from the receipt, without dashes
    wrong = client.get(f"{API}/status", params={"number": dossier.number, "birth_date": "1990-01-01"})
    unknown = client.get(f"{API}/status", params={"number": "K999-00001-0", "birth_date": "1990-01-01"})
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()
    assert client.get(f"{API}/status", params={"number": "x" * 500, "birth_date": "1"}).status_code == 400
    assert client.get(f"{API}/status", params={"number": dossier.number, "birth_date": "14/03/1985"}).status_code == 404


def test_concurrent_commits_of_one_dossier_store_it_once(services, client, kiosk):
    from concurrent.futures import ThreadPoolExecutor

    from central import ingest

    from factory import staged

    dossier_id, _ = capture(kiosk)
    _, device = staged(services, kiosk, dossier_id)
    with ThreadPoolExecutor(4) as pool:
        acks = list(pool.map(lambda _: ingest.commit(services, device, dossier_id), range(4)))
    assert all(a == acks[0] for a in acks)
    assert count(services, Dossier) == 1


def test_malformed_paths_get_the_api_error_shape(client, kiosk):
    path = f"{API}/packages/x/parts/not-a-number"
    r = client.put(path, content=b"x", headers=signed(kiosk, "PUT", path, b"x"))
    assert r.status_code == 400 and r.json()["error"] == "malformed"
    path = f"{API}/packages/{'9' * 5000}"
    r = client.put(path, content=b"{}", headers=signed(kiosk, "PUT", path, b"{}"))
    assert r.status_code == 400 and r.json()["error"] in ("malformed_json", "malformed_manifest")


def test_concurrent_enrollments_get_distinct_codes(services, client):
    from concurrent.futures import ThreadPoolExecutor

    from central.enrollment import enroll

    tokens = [create_token(services, add_site(services, "demo-site"), created_by="test") for _ in range(8)]
    with ThreadPoolExecutor(4) as pool:
        devices = list(pool.map(lambda t: enroll(services, t, bytes(SigningKey.generate().verify_key).hex()), tokens))
    assert len({d.kiosk_code for d in devices}) == 8


def test_guessing_a_birth_date_slows_the_guesser_only(services, client, tmp_path):
    dossier = deliver_dossier(services, client, tmp_path / "k")
    for day in range(1, throttle.POLICIES["status.number"].free + 2):
        r = client.get(f"{API}/status", params={"number": dossier.number, "birth_date": f"1990-01-{day:02d}"})
        assert r.status_code == 404
    right = {"number": dossier.number, "birth_date": dossier.birth_date.isoformat()}
    refused = client.get(f"{API}/status", params=right)
    assert refused.status_code == 429 and refused.json()["error"] == "too_many_attempts"
    assert refused.json()["retry_after_s"] == int(refused.headers["Retry-After"]) == 60
    with TestClient(client.app, base_url="http://testserver", client=("10.0.0.50", 50000)) as citizen:
        assert citizen.get(f"{API}/status", params=right).status_code == 200


def test_a_client_looking_up_many_numbers_is_slowed(services, client):
    numbers = [dossier_number("K01", k) for k in range(1, throttle.POLICIES["status.client"].free + 3)]
    for number in numbers[:-1]:  # sequential numbers, each valid, none known: each is a failure
        assert client.get(f"{API}/status", params={"number": number, "birth_date": "1990-01-01"}).status_code == 404
    assert client.get(f"{API}/status", params={"number": numbers[-1], "birth_date": "1990-01-01"}
                      ).status_code == 429


def test_enrollment_tokens_never_start_with_a_dash_that_the_command_line_would_take_for_an_option():
    from central.enrollment import new_token

    tokens = [new_token() for _ in range(3000)]  # about 47 would start with "-" if drawn plainly
    assert not [t for t in tokens if t.startswith("-")]
    assert len(set(tokens)) == len(tokens) and all(len(t) == 22 for t in tokens)
