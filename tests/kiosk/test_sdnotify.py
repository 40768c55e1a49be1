"""The sync worker under systemd: READY once, WATCHDOG pings from its own loop, a unit that verifies."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from titres.sdnotify import Watchdog, notify
from kiosk.sync.client import CentralClient
from kiosk.sync.outbox import Outbox
from kiosk.sync.worker import SyncWorker
from tests.threads import HelperThreads

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def systemd_socket(tmp_path):
    """A datagram socket where systemd would listen; yields (env, receive). ``receive(wait=False)`` gives
    None when nothing was sent."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))

    def receive(wait: bool = True) -> str | None:
        sock.settimeout(60 if wait else 0)  # a loaded machine
        try:
            return sock.recv(4096).decode()
        except BlockingIOError:
            return None

    yield {"NOTIFY_SOCKET": str(path)}, receive
    sock.close()


def test_notify_outside_systemd_is_a_no_op():
    assert notify("READY=1", env={}) is False
    dog = Watchdog(env={})
    assert not dog.enabled
    dog.ping()  # nothing to send to, and no error


def test_watchdog_pings_at_most_every_half_period(systemd_socket):
    env, receive = systemd_socket
    now = [0.0]
    dog = Watchdog(env={**env, "WATCHDOG_USEC": "10000000", "WATCHDOG_PID": str(os.getpid())}, clock=lambda: now[0])
    assert dog.enabled and dog.interval_s == 5.0
    dog.ready("starting")
    assert receive() == "READY=1\nSTATUS=starting"
    dog.ping()
    now[0] = 4.9
    dog.ping()  # too soon: not sent
    now[0] = 5.0
    dog.ping()
    assert [receive(), receive(), receive(wait=False)] == ["WATCHDOG=1", "WATCHDOG=1", None]


def test_a_watchdog_meant_for_another_process_is_ignored(systemd_socket):
    env, _ = systemd_socket
    assert not Watchdog(env={**env, "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}).enabled


def test_the_abstract_namespace_address_is_understood():
    name = f"kiosk-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        assert notify("READY=1", env={"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(100) == b"READY=1"
    finally:
        sock.close()


def test_the_sync_worker_is_ready_then_pings_while_the_service_is_unreachable(systemd_socket, tmp_path):
    """Down network: the worker still loops, so it still pings, and says why nothing leaves in STATUS."""
    env, receive = systemd_socket
    env = {**env, "WATCHDOG_USEC": "200000"}
    down = CentralClient(httpx.Client(base_url="http://127.0.0.1:9", timeout=1), "dev", SigningKey.generate())
    with Outbox(tmp_path / "data", PrivateKey.generate().public_key) as outbox:
        worker = SyncWorker(outbox, down, "dev", watchdog=Watchdog(env=env))
        with HelperThreads() as threads:  # leaving it stops the worker's loop
            threads.start(worker.run_forever, threads.stop, idle_s=0.05)
            messages = [receive() for _ in range(8)]
    assert messages[0] == "READY=1"
    assert messages.count("WATCHDOG=1") >= 2
    statuses = [m for m in messages if m.startswith("STATUS=")]
    assert statuses and "0 waiting" in statuses[-1] and "unreachable" in statuses[-1]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit", sorted(p.name for p in (ROOT / "systemd").glob("*.service")))
def test_the_unit_verifies(unit, tmp_path):
    """``systemd-analyze verify`` needs ExecStart's binary to exist: point it at this checkout's."""
    text = re.sub(r"/opt/kiosk(-central)?/venv/bin/", str(ROOT / ".venv" / "bin") + "/", (ROOT / "systemd" / unit).read_text())
    (tmp_path / unit).write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", str(tmp_path / unit)], capture_output=True, text=True)
    assert result.returncode == 0 and "kiosk" not in result.stderr, result.stderr


def test_the_ui_is_ready_at_its_first_heartbeat_then_pings_from_its_loop(systemd_socket):
    from kiosk.cli import _ui_heartbeat

    env, receive = systemd_socket
    now = [0.0]
    dog = Watchdog(env={**env, "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, clock=lambda: now[0])
    beat = _ui_heartbeat(dog)
    assert receive(wait=False) is None  # nothing before the loop runs
    beat()
    assert receive().startswith("READY=1")
    assert receive() == "WATCHDOG=1"
    now[0] = 1.0
    beat()  # the loop's next second: within half the period, not sent
    now[0] = 15.0
    beat()
    assert [receive(), receive(wait=False)] == ["WATCHDOG=1", None]
