"""The outbox: durable when submit returns, never twice, nothing readable without the service's key."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest
from nacl.public import PrivateKey

from titres.dossier import Dossier
from titres.errors import DiskFull
from titres.ids import is_valid_number
from kiosk.sync.outbox import Outbox, State
from kiosk.sync.seal import unseal

SECRET_NAME = "Élise MARTIN-SECRÈTE"
PHOTO = bytes(range(256)) * 40 + b"PHOTO-PLAINTEXT-MARKER"


def make_dossier(i: int = 1) -> Dossier:
    d = Dossier(
        id=f"0190000000007000800000000000000{i}", site_id="demo", kiosk_code="K01",
        created_at="2026-11-22T09:00:00+00:00", language="fr", predemande_number="A1B2C3D4E5",
        predemande_fetched=True, predemande={"person": {"surname": SECRET_NAME}}, case={"motif": "loss"},
        checklist=["photo"],
    )
    d.attach("documents/photo", "image/jpeg", PHOTO)
    d.attach("signature.png", "image/png", b"\x89PNG-SIGNATURE")
    return d


@pytest.fixture
def key():
    return PrivateKey.generate()


@pytest.fixture
def outbox(tmp_path, key):
    ob = Outbox(tmp_path / "data", key.public_key)
    yield ob
    ob.close()


def receipt(number):
    return {"dossier_number": number}


def test_submitted_dossier_is_sealed_and_only_the_service_key_opens_it(outbox, key):
    d = make_dossier()
    number = outbox.submit(d, receipt)
    parts = outbox.sealed_parts(d.id)
    assert len(parts) == 3
    plain = json.loads(unseal(parts[0], key))
    assert plain["number"] == number
    assert plain["predemande"]["person"]["surname"] == SECRET_NAME
    names = [a["name"] for a in plain["attachments"]]
    assert names == ["documents/photo", "signature.png"]
    assert unseal(parts[1], key) == PHOTO  # attachments are sealed in name order
    with pytest.raises(Exception):
        unseal(parts[0], PrivateKey.generate())


def test_no_personal_plaintext_anywhere_in_the_data_directory(outbox, tmp_path):
    outbox.submit(make_dossier(), receipt)
    outbox.close()
    markers = [SECRET_NAME.encode(), b"PHOTO-PLAINTEXT-MARKER", b"PNG-SIGNATURE", b"A1B2C3D4E5"]
    for root, _, files in os.walk(tmp_path / "data"):
        for f in files:
            blob = open(os.path.join(root, f), "rb").read()
            for m in markers:
                assert m not in blob, f"{m!r} found in {f}"


def test_submitting_the_same_dossier_twice_keeps_one_copy(outbox):
    d = make_dossier()
    first = outbox.submit(d, receipt)
    second = outbox.submit(d, receipt)
    assert first == second
    assert outbox.counts()["queued"] == 1
    assert len(list((outbox.blobs).iterdir())) == 1


def test_numbers_are_unique_and_carry_a_valid_check_character(outbox):
    numbers = {outbox.submit(make_dossier(i), receipt) for i in range(1, 10)}
    assert len(numbers) == 9
    assert all(is_valid_number(n) for n in numbers)


def test_row_is_committed_with_synchronous_full_in_wal_mode(outbox):
    db = outbox._db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_crash_between_the_files_and_the_row_is_recovered_at_start(tmp_path, key):
    class CrashBeforeCommit(Outbox):
        def _insert(self, manifest):
            raise KeyboardInterrupt("power cut")

    ob = CrashBeforeCommit(tmp_path / "data", key.public_key)
    with pytest.raises(KeyboardInterrupt):
        ob.submit(make_dossier(), receipt)
    ob.close()
    reopened = Outbox(tmp_path / "data", key.public_key)
    assert reopened.counts()["queued"] == 1
    q = reopened.list()[0]
    assert q.id == make_dossier().id and is_valid_number(q.number)
    reopened.close()


def test_half_written_blob_directories_are_discarded_at_start(tmp_path, key):
    ob = Outbox(tmp_path / "data", key.public_key)
    ob.close()
    orphan = tmp_path / "data" / "blobs" / "0190-orphan"
    orphan.mkdir()
    (orphan / "p000.sealed").write_bytes(b"partial")
    reopened = Outbox(tmp_path / "data", key.public_key)
    assert not orphan.exists()
    assert reopened.counts()["queued"] == 0
    reopened.close()


def test_interrupted_uploads_go_back_to_the_queue_when_the_sync_worker_starts(tmp_path, key):
    ob = Outbox(tmp_path / "data", key.public_key)
    d = make_dossier()
    ob.submit(d, receipt)
    ob._db.execute("UPDATE dossiers SET state = ?", (int(State.UPLOADING),))
    ob.close()
    app = Outbox(tmp_path / "data", key.public_key)  # the app restarting leaves the sync process's upload alone
    assert app.get(d.id).state is State.UPLOADING
    assert app.requeue_interrupted() == 1  # what the sync worker does at its start
    assert app.get(d.id).state is State.QUEUED
    app.close()


def test_a_tampered_sealed_part_is_kept_aside_as_corrupt(outbox):
    d = make_dossier()
    outbox.submit(d, receipt)
    part = outbox.blobs / d.id / "p001.sealed"
    part.write_bytes(part.read_bytes()[:-1] + b"\x00")
    assert outbox.verify() == [d.id]
    assert outbox.get(d.id).state is State.CORRUPT
    assert part.exists()


def test_a_full_disk_refuses_the_dossier_before_writing_anything(tmp_path, key):
    ob = Outbox(tmp_path / "data", key.public_key, min_free_bytes=1 << 62)
    assert not ob.accepting()
    with pytest.raises(DiskFull):
        ob.submit(make_dossier(), receipt)
    assert list(ob.blobs.iterdir()) == []
    assert ob.counts()["queued"] == 0
    ob.close()


def test_receipt_content_is_kept_for_reprint(outbox):
    d = make_dossier()
    number = outbox.submit(d, lambda n: {"dossier_number": n, "predemande_masked": "A1******E5"})
    assert outbox.by_number(number).receipt == {"dossier_number": number, "predemande_masked": "A1******E5"}


def test_queue_database_is_plain_sqlite_readable_by_tools(outbox, tmp_path):
    outbox.submit(make_dossier(), receipt)
    con = sqlite3.connect(tmp_path / "data" / "queue.db")
    assert con.execute("SELECT COUNT(*) FROM dossiers").fetchone()[0] == 1
    con.close()


def test_a_reader_of_the_queue_never_cleans_up_under_a_running_kiosk(tmp_path, key):
    Outbox(tmp_path / "data", key.public_key).close()
    in_progress = tmp_path / "data" / "blobs" / "0190-being-written"
    in_progress.mkdir()
    (in_progress / "p000.sealed").write_bytes(b"the app is still writing")
    reader = Outbox(tmp_path / "data", key.public_key, recover=False)
    assert in_progress.exists()
    reader.close()


def test_the_listing_names_every_dossier_however_many(outbox):
    """``kiosk queue list`` is how an outside check compares both ends: it must not stop at a page."""
    outbox._db.execute("PRAGMA synchronous=OFF")  # speed only: this test is about counting
    for i in range(1205):
        outbox._insert({"id": f"id-{i:05d}", "number": f"K01-{i:05d}-X", "created_at": "2026-11-22T09:00:00+00:00",
                        "site_id": "demo", "kiosk_code": "K01", "flags": [], "parts": [], "receipt": {}})
    assert len(outbox.list()) == 1205
    assert len(outbox.list(states=(State.QUEUED,))) == 1205
    assert [q.id for q in outbox.list(limit=2)] == ["id-00000", "id-00001"]


@pytest.mark.parametrize("damage", [b"\0" * 100, b'{"parts": 3}', b"[]", b'{"parts": [{"file": 1}]}'])
def test_an_orphan_with_an_unreadable_manifest_is_set_aside_and_the_kiosk_still_starts(tmp_path, key, damage):
    """Only a damaged card makes this (the write order never does): keep it for a technician, start anyway."""
    ob = Outbox(tmp_path / "data", key.public_key)
    kept = make_dossier(1)
    ob.submit(kept, receipt)
    ob.close()
    orphan = tmp_path / "data" / "blobs" / "0190000000007000800000000000000f"
    orphan.mkdir()
    (orphan / "manifest.json").write_bytes(damage)
    (orphan / "p000.sealed").write_bytes(b"sealed bytes")
    reopened = Outbox(tmp_path / "data", key.public_key)
    assert not orphan.exists()
    assert (tmp_path / "data" / "damaged" / orphan.name / "p000.sealed").read_bytes() == b"sealed bytes"
    assert reopened.damaged_orphans() == [orphan.name]
    assert reopened.get(kept.id).state is State.QUEUED
    reopened.close()
