"""Network faults between kiosk and service, on real sockets: every dossier still arrives exactly once.

The service runs in uvicorn on loopback; the kiosk's sync worker reaches it
through :class:`faultproxy.FaultProxy`. After each fault the worker must
have kept the dossier queued with a retryable error, and once the network
heals, the service must hold each dossier once, byte-identical.
"""

from __future__ import annotations

import socket
import time

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from central.app import create_app
from central.ingest import part_key
from central.models import Dossier
from factory import capture, enroll_kiosk
from faultproxy import FaultProxy
from titres.errors import RetryableSyncError
from kiosk.sync.client import CentralClient
from kiosk.sync.outbox import Outbox, State
from titres.protocol import sign_manifest
from kiosk.sync.seal import recipient_key
from kiosk.sync.worker import SyncWorker
from tests.threads import HelperThreads


@pytest.fixture
def server(services):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_level="warning"))
    with HelperThreads() as threads:
        serving = threads.start(srv.run, name="uvicorn")
        threads.until(lambda: srv.started or not serving.is_alive(), "uvicorn did not start")
        assert srv.started, "uvicorn stopped before it started (see its log)"
        try:
            yield port
        finally:
            srv.should_exit = True


FAULTS = ["refuse", "reset_mid", "stall", "http_500", "http_503", "lose_response"]


def test_every_fault_leaves_each_dossier_stored_once_and_intact(services, server, tmp_path):
    with httpx.Client(base_url=f"http://127.0.0.1:{server}") as direct:
        kiosk = enroll_kiosk(services, direct, tmp_path / "kiosk")
    ids = [capture(kiosk)[0] for _ in FAULTS]
    now = [time.time()]
    with FaultProxy(server) as proxy, \
            Outbox(kiosk.config.data_dir, recipient_key(kiosk.config.queue.recipient_public_key), recover=False) as outbox:
        client = CentralClient(httpx.Client(base_url=proxy.url, timeout=2.0), kiosk.device_id, kiosk.key,
                               kiosk.central.service_key)
        worker = SyncWorker(outbox, client, kiosk.device_id, heartbeat_s=1e9, clock=lambda: now[0])
        for fault in FAULTS:
            proxy.mode = fault
            proxy.reset_after = 64 * 1024
            assert worker.upload_one() == "failed", fault
            assert outbox.counts()["queued"] == len(ids), fault  # back in line, none lost, none stuck uploading
            outbox.retry_now()
        waiting = outbox.list(states=(State.QUEUED,))
        assert sum(q.attempts for q in waiting) == len(FAULTS) and all(q.attempts == 0 or q.last_error for q in waiting)
        proxy.mode = "pass"
        assert worker.run_once()["sent"] == len(FAULTS)
        assert outbox.counts()["acknowledged"] == len(FAULTS)
        sealed = {i: [read() for read in outbox.package(i, kiosk.device_id).parts] for i in ids}
    with services.db() as db:
        assert db.scalar(select(func.count()).select_from(Dossier)) == len(FAULTS)
        for dossier_id in ids:
            stored = db.get(Dossier, dossier_id)
            for index, part in enumerate(stored.manifest["parts"]):
                assert services.blobs.get(part_key(dossier_id, index, part["sha256"])) == sealed[dossier_id][index]


def test_a_lost_acknowledgement_is_recovered_without_a_second_copy(services, server, tmp_path):
    with httpx.Client(base_url=f"http://127.0.0.1:{server}") as direct:
        kiosk = enroll_kiosk(services, direct, tmp_path / "kiosk")
    dossier_id, _ = capture(kiosk)
    with FaultProxy(server) as proxy, \
            Outbox(kiosk.config.data_dir, recipient_key(kiosk.config.queue.recipient_public_key), recover=False) as outbox:
        client = CentralClient(httpx.Client(base_url=proxy.url, timeout=5.0), kiosk.device_id, kiosk.key,
                               kiosk.central.service_key)
        package = outbox.package(dossier_id, kiosk.device_id)
        # everything but the commit goes through; the commit is applied and its answer lost
        with httpx.Client(base_url=f"http://127.0.0.1:{server}") as direct:
            full = CentralClient(direct, kiosk.device_id, kiosk.key, kiosk.central.service_key)
            state = full._json("PUT", f"/api/v1/packages/{dossier_id}",
                               {"manifest": package.manifest,
                                "signature": sign_manifest(package.manifest, kiosk.key)})
            for index in state["missing"]:
                full._raise_for(full._send("PUT", f"/api/v1/packages/{dossier_id}/parts/{index}", package.parts[index](),
                                           content_type="application/octet-stream"))
        proxy.mode = "lose_response"
        with pytest.raises(RetryableSyncError):
            client._json("POST", f"/api/v1/packages/{dossier_id}/commit")
        with services.db() as db:
            assert db.get(Dossier, dossier_id) is not None  # stored, though the kiosk never heard
        proxy.mode = "pass"
        ack = client.upload(package)
        assert ack["ack"]["id"] == dossier_id
    with services.db() as db:
        assert db.scalar(select(func.count()).select_from(Dossier)) == 1
