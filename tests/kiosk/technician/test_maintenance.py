"""What the sync worker leaves for the maintenance screen, the connection test, and how services are restarted."""

from __future__ import annotations

import json
import os
import stat

import httpx
import pytest
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from kiosk.config import load_config, simulated
from kiosk.technician.maintenance import ServiceControl, ServiceUnavailable, check_central
from kiosk.technician.selftest import selftest_devices
from kiosk.sync.client import CentralClient
from kiosk.sync.outbox import Outbox
from kiosk.sync.status import read_status
from kiosk.sync.worker import SyncWorker
from tests.threads import HelperThreads


def test_the_worker_leaves_its_last_error_for_the_screen(tmp_path):
    down = CentralClient(httpx.Client(base_url="http://127.0.0.1:9", timeout=1), "dev", SigningKey.generate())
    with Outbox(tmp_path, PrivateKey.generate().public_key) as outbox:
        SyncWorker(outbox, down, "dev", clock=lambda: 5000.0).run_once()
    status = read_status(tmp_path)
    assert status.last_error_at == 5000.0 and "unreachable" in status.last_error
    assert status.last_contact_at == 0


def test_the_same_error_again_keeps_its_first_time_and_leaves_the_file_alone(tmp_path):
    """Retrying against a service that stays down must not rewrite the card at every round."""
    down = CentralClient(httpx.Client(base_url="http://127.0.0.1:9", timeout=1), "dev", SigningKey.generate())
    now = [5000.0]
    with Outbox(tmp_path, PrivateKey.generate().public_key) as outbox:
        worker = SyncWorker(outbox, down, "dev", heartbeat_s=0, clock=lambda: now[0])
        worker.run_once()
        os.utime(tmp_path / "sync-status.json", ns=(1, 1))
        now[0] += 60
        worker.run_once()  # the same error, a minute later
        assert (tmp_path / "sync-status.json").stat().st_mtime_ns == 1, "rewritten for nothing new"
        assert read_status(tmp_path).last_error_at == 5000.0, "the error is dated from when it began"


def test_a_service_is_restarted_through_systemctl_without_blocking(tmp_path, monkeypatch):
    """A stand-in ``systemctl`` on PATH records its arguments: the real subprocess path is taken."""
    log = tmp_path / "calls"
    fake = tmp_path / "bin" / "systemctl"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n[ "$3" = kiosk-sync.service ] || {{ echo "Access denied" >&2; exit 4; }}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    control = ServiceControl()
    assert control.restart("sync") == "kiosk-sync.service"
    with pytest.raises(ServiceUnavailable, match="Access denied"):
        control.restart("ui")
    assert log.read_text().splitlines() == ["--no-block restart kiosk-sync.service", "--no-block restart kiosk-ui.service"]


def test_without_a_service_manager_restarts_are_refused_plainly(tmp_path):
    control = ServiceControl.from_config(simulated(load_config(env={}, data_dir=tmp_path)))
    with pytest.raises(ServiceUnavailable) as caught:
        control.restart("sync")
    assert caught.value.message_key == "maintenance.restart.unavailable"


def test_the_network_check_times_a_real_request(tmp_path):
    unreachable = check_central(lambda: CentralClient.connect("http://127.0.0.1:9", timeout_s=1))
    assert not unreachable.reachable and "unreachable" in unreachable.error

    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Service(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"protocol": 1, "version": "9.9"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Service)
    with HelperThreads() as threads:
        threads.start(server.serve_forever)
        try:
            reached = check_central(lambda: CentralClient.connect(f"http://127.0.0.1:{server.server_port}",
                                                                  timeout_s=60))
        finally:
            server.shutdown()
            server.server_close()
    assert reached.reachable and reached.service_version == "9.9" and reached.latency_ms > 0


def test_the_self_test_runs_on_the_devices_the_app_holds_open(tmp_path):
    from kiosk.hal import create_devices

    config = simulated(load_config(env={}, data_dir=tmp_path))
    devices = create_devices(config.hal, config.sim_dir).open()
    try:
        rows = selftest_devices(devices, print_test_page=True)
        assert [r.device for r in rows] == ["camera", "scanner", "fingerprint", "printer", "indicator", "audio"]
        assert all(r.ok for r in rows), [r.as_dict() for r in rows if not r.ok]
        assert rows[3].page is not None, "the printer printed its test ticket"
        # Still open and usable afterwards: the probes borrowed them, they did not close them.
        assert devices.camera.preview_frame().ndim == 2
    finally:
        devices.close()
