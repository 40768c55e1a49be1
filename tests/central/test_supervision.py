"""The service under systemd: it is ready once it answers, and its watchdog is fed from the loops that answer
requests, so a stuck loop is noticed (``central.supervision``). What its unit promises, and systemd's score of
it, are checked with the other units in ``tests/image/test_units.py``.

The processes are real: ``kiosk-central serve``, or ``central.server.run_app`` (what ``serve`` runs) serving
``tests/central/stuck_app.py``, whose ``/stuck`` blocks the loop as a blocking call in an ``async`` route
would. systemd's side is a datagram socket where it would listen (``NOTIFY_SOCKET``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from central.supervision import Heartbeats

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.chain import BIN, free_port  # noqa: E402



class Systemd:
    """Where systemd would listen for a service's notifications."""

    def __init__(self, folder: Path):
        self.path = folder / "notify"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))

    def receive(self, timeout: float = 120.0) -> str | None:
        """The next notification, or None when none came within ``timeout`` (generous by default: a loaded
        machine starts a service slowly)."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(4096).decode()
        except TimeoutError:
            return None

    def silent_for(self, seconds: float, tolerated: int = 5) -> list[str]:
        """Waits until ``seconds`` pass without a notification, and returns what came before the silence;
        fails if more than ``tolerated`` came (the service kept talking)."""
        came: list[str] = []
        while (message := self.receive(timeout=seconds)) is not None:
            came.append(message)
            assert len(came) <= tolerated, came
        return came


@pytest.fixture
def systemd(tmp_path):
    listener = Systemd(tmp_path)
    yield listener
    listener.sock.close()


@contextmanager
def served(cmd: list[str], env: dict[str, str], log: Path, stuck: bool = False):
    """The process, stopped as systemd would stop it, or killed at once when ``stuck`` (a stuck loop never
    ends its requests, and systemd would kill it after TimeoutStopSec=)."""
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        try:
            yield proc
        finally:
            proc.kill() if stuck else proc.terminate()
            proc.wait(timeout=60)


def _run_app(port: int, workers: int) -> list[str]:
    code = ("from titres.logs import setup_logging; setup_logging('INFO', name=''); "
            "from central.server import run_app; "
            f"run_app('stuck_app:create', '127.0.0.1', {port}, {workers})")
    return [sys.executable, "-c", code]


def _env(systemd: Systemd, period_s: float) -> dict[str, str]:
    env = {**os.environ, "NOTIFY_SOCKET": str(systemd.path), "WATCHDOG_USEC": str(int(period_s * 1e6)),
           "PYTHONPATH": str(Path(__file__).parent)}
    env.pop("WATCHDOG_PID", None)  # systemd would give the main process's; unknown before it starts
    return env


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.read().decode()


def _stick(port: int) -> socket.socket:
    """Sends ``GET /stuck`` and leaves it waiting: the worker that took it stops its loop."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=30)
    conn.sendall(b"GET /stuck HTTP/1.1\r\nHost: test\r\n\r\n")
    return conn


def _workers(pid: int) -> set[int]:
    """The worker processes of a supervisor (multiprocessing's resource tracker is a child too)."""
    children = {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    return {c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()}


def _log_lines(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


# -- readiness and the watchdog --------------------------------------------------------------------------------

def test_the_service_is_ready_once_it_answers_and_pings_from_its_loop(systemd, tmp_path):
    port = free_port()
    cmd = [str(BIN / "kiosk-central"), "serve", "--data-dir", str(tmp_path / "central"), "--port", str(port)]
    with served(cmd, _env(systemd, period_s=2.0), tmp_path / "log") as proc:
        ready = systemd.receive()
        assert ready is not None, (tmp_path / "log").read_text()
        assert ready.startswith("READY=1") and f"serving on 127.0.0.1:{port} with 1 worker" in ready
        assert json.loads(_get(f"http://127.0.0.1:{port}/healthz"))["status"] == "ok"  # at once: no retry
        assert [systemd.receive(), systemd.receive()] == ["WATCHDOG=1", "WATCHDOG=1"]
        assert proc.poll() is None


def test_a_stuck_loop_stops_the_pings_so_systemd_restarts_the_service(systemd, tmp_path):
    port = free_port()
    with served(_run_app(port, workers=1), _env(systemd, period_s=2.0), tmp_path / "log", stuck=True):
        assert (systemd.receive() or "").startswith("READY=1"), (tmp_path / "log").read_text()
        assert systemd.receive() == "WATCHDOG=1"
        with _stick(port):
            before = systemd.silent_for(3 * 2.0)  # three periods without a ping: systemd would have acted
        assert set(before) <= {"WATCHDOG=1"}


def test_a_stuck_worker_of_several_is_replaced_and_the_service_stays_up(systemd, tmp_path):
    """uvicorn's own check asks a thread of the worker, which answers while its loop is stuck: the heartbeat
    comes from the loop, and the supervisor kills the worker that stopped beating."""
    port, log = free_port(), tmp_path / "log"
    with served(_run_app(port, workers=2), _env(systemd, period_s=6.0), log) as proc:
        ready = systemd.receive()
        assert ready is not None and ready.startswith("READY=1") and "with 2 workers" in ready, log.read_text()
        workers = _workers(proc.pid)
        assert len(workers) == 2
        with _stick(port) as conn:
            conn.settimeout(120)
            try:
                assert conn.recv(1) == b""  # the connection ends when its worker is killed
            except ConnectionResetError:
                pass
        restarted = [line for line in _log_lines(log) if line["msg"].startswith("worker restarted")]
        assert len(restarted) == 1 and restarted[0]["worker"] in workers and restarted[0]["silent_s"] >= 6.0
        assert int(_get(f"http://127.0.0.1:{port}/")) in _workers(proc.pid)  # still answering
        assert systemd.receive() == "WATCHDOG=1"
        deadline = time.monotonic() + 120
        while len(_workers(proc.pid)) < 2:  # the replacement starts
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        survivors = _workers(proc.pid)
        assert len(survivors & workers) == 1 and restarted[0]["worker"] not in survivors


def test_a_worker_is_silent_from_its_last_beat_or_from_when_it_began_serving(tmp_path):
    now = [100.0]
    beats = Heartbeats(tmp_path, limit_s=6.0, clock=lambda: now[0])
    assert beats.silent_for(41, serving_since=97.0) == 3.0  # no beat yet
    (tmp_path / "41").write_text("99.5")
    assert beats.silent_for(41, serving_since=97.0) == 0.5
    (tmp_path / "41").write_text("")  # read while the worker writes it
    assert beats.silent_for(41, serving_since=97.0) == 0.0
    beats.forget(41)
    assert not (tmp_path / "41").exists()
