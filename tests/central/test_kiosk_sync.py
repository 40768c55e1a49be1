"""The kiosk's provisioning and sync worker against the real service (in-process), not a stand-in."""

from __future__ import annotations

import random

import httpx
import pytest

from central.fleet import fleet
from central.models import Dossier
from factory import add_site, capture, enroll_kiosk
from kiosk.config import load_config
from titres.errors import RetryableSyncError
from kiosk.sync.client import central_client
from kiosk.technician.provision import provision
from kiosk.sync.client import CentralClient
from kiosk.sync.outbox import Outbox, State
from kiosk.sync.seal import recipient_key
from kiosk.sync.status import read_status
from kiosk.sync.worker import SyncWorker, backoff_s


def outbox_of(kiosk):
    return Outbox(kiosk.config.data_dir, recipient_key(kiosk.config.queue.recipient_public_key), recover=False)


def test_provisioning_writes_a_configuration_that_load_config_reads(services, client, tmp_path):
    from central.enrollment import create_token

    data = tmp_path / "kiosk"
    config = load_config(env={"KIOSK_DATA": str(data)})
    assert not config.sync.provisioned
    token = create_token(services, add_site(services, "Mairie de Limoux"), created_by="test")
    answer = provision(config, "http://testserver", token, client=CentralClient(client))
    loaded = load_config(env={"KIOSK_DATA": str(data)})
    assert loaded.sync.provisioned and loaded.sync.device_id == answer["device_id"]
    assert loaded.site.name == "Mairie de Limoux" and loaded.site.kiosk_code == answer["kiosk_code"]
    assert loaded.queue.recipient_public_key == services.keys.sealing_public_hex
    assert loaded.directory.backend == "http" and loaded.directory.central_url == "http://testserver"
    assert (data / "keys" / "device.key").stat().st_mode & 0o077 == 0  # the device key is private
    assert central_client(loaded).device_id == answer["device_id"]


def test_worker_drains_the_queue_and_keeps_the_acknowledgement(services, client, tmp_path):
    kiosk = enroll_kiosk(services, client, tmp_path / "kiosk")
    ids = [capture(kiosk)[0] for _ in range(2)]
    with outbox_of(kiosk) as outbox:
        worker = SyncWorker(outbox, kiosk.central, kiosk.device_id, retention_s=3600)
        report = worker.run_once()
        assert report["sent"] == 2 and report["failed"] == 0
        assert outbox.counts()["acknowledged"] == 2
        stored_acks = [outbox._db.execute("SELECT ack FROM dossiers WHERE id = ?", (i,)).fetchone()[0] for i in ids]
        assert all('"dossier-ack"' in a for a in stored_acks)
        assert worker.run_once()["sent"] == 0
    status = read_status(kiosk.config.data_dir)  # what the maintenance screen will show
    assert status.last_delivery_at > 0 and status.last_contact_at >= status.last_delivery_at
    assert status.last_error == ""
    with services.db() as db:
        assert {d for d in ids if db.get(Dossier, d)} == set(ids)
    view = [k for k in fleet(services) if k.device_id == kiosk.device_id][0]
    assert view.last_seen_at is not None and "queued" in view.queue


def test_service_down_puts_the_dossier_back_with_a_growing_delay(services, client, tmp_path):
    kiosk = enroll_kiosk(services, client, tmp_path / "kiosk")
    dossier_id, _ = capture(kiosk)
    down = CentralClient(httpx.Client(base_url="http://127.0.0.1:9", timeout=1), kiosk.device_id, kiosk.key,
                         kiosk.central.service_key)
    now = [1_000_000.0]
    with outbox_of(kiosk) as outbox:
        outbox._clock = lambda: now[0]
        worker = SyncWorker(outbox, down, kiosk.device_id, base_s=10, max_s=1000, clock=lambda: now[0],
                            rng=random.Random(1))
        assert worker.run_once()["failed"] == 1
        q = outbox.get(dossier_id)
        assert q.state is State.QUEUED and q.attempts == 1 and "unreachable" in q.last_error
        assert worker.run_once()["failed"] == 0  # not due yet: no hammering
        outbox.retry_now()
        worker.client = kiosk.central  # the network is back
        assert worker.run_once()["sent"] == 1
        assert outbox.get(dossier_id).state is State.ACKNOWLEDGED


def test_acknowledged_copies_are_purged_only_after_the_retention(services, client, tmp_path):
    kiosk = enroll_kiosk(services, client, tmp_path / "kiosk")
    dossier_id, _ = capture(kiosk)
    now = [2_000_000.0]
    with outbox_of(kiosk) as outbox:
        outbox._clock = lambda: now[0]
        worker = SyncWorker(outbox, kiosk.central, kiosk.device_id, retention_s=86400, clock=lambda: now[0])
        worker.run_once()
        assert (outbox.blobs / dossier_id).exists()
        now[0] += 86401
        assert worker.run_once()["purged"] == 1
        assert not (outbox.blobs / dossier_id).exists()
        assert outbox.get(dossier_id).state is State.PURGED
        assert outbox.get(dossier_id).receipt  # the receipt's content stays for a reprint


def test_backoff_grows_and_is_capped_with_jitter():
    rng = random.Random(7)
    samples = [[backoff_s(n, 5, 900, rng) for _ in range(200)] for n in (0, 3, 20)]
    assert max(samples[0]) <= 5 and max(samples[1]) <= 40 and max(samples[2]) <= 900
    assert max(samples[2]) > 800 and len({round(x) for x in samples[2]}) > 50  # spread, not in step


def test_unreachable_service_is_retryable_for_the_client(services, client, tmp_path):
    kiosk = enroll_kiosk(services, client, tmp_path / "kiosk")
    down = CentralClient(httpx.Client(base_url="http://127.0.0.1:9", timeout=1), kiosk.device_id, kiosk.key)
    with pytest.raises(RetryableSyncError):
        down.heartbeat({})


def test_a_damaged_dossier_is_set_aside_reported_and_never_sent(services, client, tmp_path):
    """A sealed part altered on the card: not uploaded, not dropped, named in the fleet view; the rest goes."""
    kiosk = enroll_kiosk(services, client, tmp_path / "kiosk")
    damaged, healthy = capture(kiosk)[0], capture(kiosk)[0]
    with outbox_of(kiosk) as outbox:
        part = outbox.blobs / damaged / "p001.sealed"
        data = bytearray(part.read_bytes())
        data[100] ^= 0xFF
        part.write_bytes(bytes(data))
        worker = SyncWorker(outbox, kiosk.central, kiosk.device_id)
        report = worker.run_once()
        assert report["corrupt"] == 1 and report["sent"] == 1
        q = outbox.get(damaged)
        assert q.state is State.CORRUPT and "does not match" in q.last_error
        assert part.exists()  # kept aside for a technician, not deleted
        assert outbox.get(healthy).state is State.ACKNOWLEDGED
        assert worker.run_once() == {"sent": 0, "failed": 0, "corrupt": 0, "purged": 0}  # never retried
    with services.db() as db:
        assert db.get(Dossier, damaged) is None and db.get(Dossier, healthy) is not None
    view = [k for k in fleet(services) if k.device_id == kiosk.device_id][0]
    assert view.corrupt == [damaged] and view.queue["corrupt"] == 1
