"""``kiosk-central backup`` and ``restore``: a service backed up while kiosks deliver, restored elsewhere, holds
every dossier it had, byte for byte, and opens them; a backup that is damaged, a target that already has data
and keys that are not the backup's are refused before anything is written (``central.backup``).

The live service is the application the kiosks reach (its routers, the kiosk's real sync client); the commands
are ``kiosk-central``'s own, on its database (SQLite and PostgreSQL) and blob store.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading
import uuid

import pytest
from sqlalchemy import select, text

from central.blobstore import BlobStore
from central.config import CentralConfig
from central.context import build_services
from central.ingest import part_key, read_attachment
from central.models import Dossier
from factory import capture, enroll_kiosk, staged, upload
from tests.threads import HelperThreads

COMPARED = ("id", "number", "site_id", "device_id", "state", "received_at", "package_sha256", "manifest", "signature",
            "content", "surname", "given_names", "birth_date")


@pytest.fixture
def target(services, tmp_path, request):
    """Where to restore: a new data directory, and on PostgreSQL a new empty database (``createdb``)."""
    data = tmp_path / "restored"
    if not services.config.db_url:
        yield ["--data-dir", str(data)], CentralConfig(data_dir=data)
        return
    admin = request.getfixturevalue("pg_template")
    name = "restored_" + uuid.uuid4().hex[:12]
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = services.config.db_url.rsplit("/", 1)[0] + "/" + name  # on the source's server
    yield ["--data-dir", str(data), "--db", url], CentralConfig(data_dir=data, db_url=url)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def _cli(*args: str) -> int:
    """``kiosk-central`` in this process (it sets the umask to 077: given back after it)."""
    from central.cli import main

    umask = os.umask(0o077)
    try:
        return main(list(args))
    finally:
        os.umask(umask)


def _offline_copy_of_keys(services, config: CentralConfig) -> None:
    """What an operator does before restoring a backup made without its keys."""
    config.data_dir.mkdir(mode=0o700, exist_ok=True)
    shutil.copytree(services.config.keys_dir, config.keys_dir)


class DeliveringStore(BlobStore):
    """The live service's blob store, through which the backup reads: the first part it reads lets a kiosk
    deliver one more dossier and declare another, so the service takes dossiers at the backup's most delicate
    moment (after the database's snapshot, while the parts are copied)."""

    def __init__(self, inner: BlobStore, deliver):
        self.inner, self.deliver, self.delivered = inner, deliver, threading.Event()

    def get(self, key: str) -> bytes:
        if not self.delivered.is_set():
            self.delivered.set()
            self.deliver()
        return self.inner.get(key)

    def put(self, key: str, data: bytes) -> None:
        self.inner.put(key, data)

    def size(self, key: str) -> int | None:
        return self.inner.size(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)


def _rows(services) -> dict[str, dict]:
    with services.db() as db:
        return {d.id: {k: getattr(d, k) for k in COMPARED} for d in db.scalars(select(Dossier))}


def test_a_backup_taken_under_ingest_restores_every_dossier_byte_identical(services, client, tmp_path, target,
                                                                            capsys):
    from central.backup import backup

    a, b = (enroll_kiosk(services, client, tmp_path / f"kiosk{i}") for i in range(2))
    (a1, a2, a3), (b1, b2, b3) = ([capture(k)[0] for _ in range(3)] for k in (a, b))
    upload(a, a1)
    upload(b, b1)
    staged(services, a, a2, sent=[0])  # an upload in progress: declared, one part of several sent
    before = _rows(services)
    assert set(before) == {a1, b1}
    # At the first part the backup reads (after the database's snapshot) b2 is delivered; all along, the kiosks
    # deliver the rest (a2 resumed, a3, b3) from a thread of their own.
    store = DeliveringStore(services.blobs, lambda: upload(b, b2))
    dest = tmp_path / "backup"
    with HelperThreads() as threads:
        ingest = threads.start(lambda: [upload(k, i) for k, i in ((a, a2), (a, a3), (b, b3))])
        summary = backup(services.config, dest, blobs=store)
        ingest.join()
    late = b2
    assert store.delivered.is_set() and late in _rows(services)
    manifest = json.loads((dest / "backup.json").read_text())
    assert not manifest["with_keys"] and not (dest / "keys").exists()  # the keys are kept apart by default
    assert stat.S_IMODE(dest.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in dest.rglob("*") if p.is_file())
    personal = {before[a1]["surname"], before[a1]["given_names"], before[a1]["birth_date"].isoformat()}
    assert all(len(value) > 3 for value in personal)
    for path in (p for p in dest.rglob("*") if p.is_file()):  # sealed, every one: nobody's name in clear
        assert not any(value.encode() in path.read_bytes() for value in personal), path

    target_args, target_config = target
    _offline_copy_of_keys(services, target_config)
    assert _cli("restore", str(dest), *target_args) == 0, capsys.readouterr().err
    restored = build_services(target_config, migrate=False)
    try:
        rows = _rows(restored)
        assert set(before) <= set(rows) <= set(_rows(services))  # nothing lost, nothing made up
        assert summary.dossiers == len(rows) == manifest["dossiers"]
        now = _rows(services)
        for dossier_id, row in rows.items():
            assert row == now[dossier_id]
        with restored.db() as db:
            for dossier in db.scalars(select(Dossier)):
                for index, part in enumerate(dossier.manifest["parts"]):
                    key = part_key(dossier.id, index, part["sha256"])
                    assert restored.blobs.get(key) == services.blobs.get(key)
                name = dossier.content["attachments"][0]["name"]
                assert read_attachment(restored, dossier, name)[1]  # the restored service opens it
    finally:
        restored.close()


@pytest.fixture
def backed_up(services, client, tmp_path):
    """A service with one dossier, backed up (keys apart): the backup's directory."""
    from central.backup import backup

    kiosk = enroll_kiosk(services, client, tmp_path / "kiosk")
    upload(kiosk, capture(kiosk)[0])
    dest = tmp_path / "backup"
    backup(services.config, dest)
    return dest


def test_a_damaged_backup_is_refused_before_anything_is_written(backed_up, target, capsys):
    target_args, target_config = target
    part = next(p for p in (backed_up / "blobs").rglob("*") if p.is_file())
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x01
    part.write_bytes(bytes(data))
    assert _cli("restore", str(backed_up), *target_args) == 2
    err = capsys.readouterr().err
    assert "La sauvegarde est abîmée" in err and "Nothing was restored" in err
    assert not target_config.data_dir.exists() or not any(target_config.data_dir.iterdir())


def test_a_restore_without_the_keys_says_where_to_put_them_then_succeeds(services, backed_up, target, capsys):
    target_args, target_config = target
    assert _cli("restore", str(backed_up), *target_args) == 2
    err = capsys.readouterr().err
    assert "copiez sealing.key et signing.key" in err and str(target_config.keys_dir) in err
    _offline_copy_of_keys(services, target_config)
    assert _cli("restore", str(backed_up), *target_args) == 0
    assert "1 dossiers" in capsys.readouterr().err


def test_keys_that_are_not_the_backups_are_refused(backed_up, target, capsys):
    from central.keys import load_keys

    target_args, target_config = target
    target_config.data_dir.mkdir(mode=0o700)
    load_keys(target_config.keys_dir)  # a new service's own keys: they open nothing of the backup
    assert _cli("restore", str(backed_up), *target_args) == 2
    assert "ne sont pas celles de la sauvegarde" in capsys.readouterr().err


def test_a_restore_into_a_service_that_has_data_is_refused(services, backed_up, run_cli):
    before = _rows(services)
    code, _, err = run_cli("restore", str(backed_up))  # into the very service it came from
    assert code == 2 and "a déjà une base de données" in err
    assert len(before) == 1 and _rows(services) == before  # untouched


def test_a_backup_with_its_keys_restores_alone_and_never_over_another_backup(services, client, tmp_path, target,
                                                                            run_cli, capsys):
    kiosk = enroll_kiosk(services, client, tmp_path / "kiosk")
    upload(kiosk, capture(kiosk)[0])
    dest = tmp_path / "backup"
    code, _, err = run_cli("backup", str(dest), "--with-keys")
    assert code == 0 and "1 dossiers" in err
    assert run_cli("backup", str(dest))[0] == 2  # never over a backup
    target_args, target_config = target
    assert _cli("restore", str(dest), *target_args) == 0, capsys.readouterr().err
    assert (target_config.keys_dir / "sealing.key").read_bytes() == (services.config.keys_dir / "sealing.key").read_bytes()


def test_a_backup_of_a_service_that_is_not_there_is_refused_and_makes_nothing(tmp_path, capsys):
    empty = tmp_path / "empty-service"
    empty.mkdir(mode=0o700)
    for wrong in (tmp_path / "no-such-service", empty):
        assert _cli("backup", str(tmp_path / "backup"), "--data-dir", str(wrong)) == 2
        assert "Aucun service dans" in capsys.readouterr().err
    assert not (tmp_path / "no-such-service").exists() and not any(empty.iterdir())
    assert not (tmp_path / "backup").exists()
