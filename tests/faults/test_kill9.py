"""Kill -9, over and over: the kiosk while it submits, the sync worker while it uploads.

Two real processes share one provisioned kiosk's data directory, as on a
unit: ``submitter.py`` (the app's outbox, opened as the app opens it) and
``kiosk sync`` (the real sync worker), against a real ``kiosk-central
serve``. Each is killed with SIGKILL at random moments and started again,
independently: mostly once it is at work (the submitter once it has begun a
dossier, the worker once it has told systemd it is ready), so that a loaded
machine's slow start-ups do not swallow the kills. Afterwards the queue is
drained without faults and both ends are compared:

* every dossier whose ``submit`` returned is in the queue and on the
  service (a receipt was printed for it);
* the service holds each dossier once, byte-identical to the kiosk's
  sealed parts, and nothing the kiosk never began;
* the kills did land where they hurt: inside ``submit`` and in the middle
  of uploads (counted, and required).

``KIOSK_TEST_LONG=1`` runs the suite's long mode: 120 kills of each process.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tests.chain import BIN, central_service, enrolled_kiosk, run
from tests.threads import HelperThreads

HERE = Path(__file__).resolve().parent
LONG = bool(os.environ.get("KIOSK_TEST_LONG"))
KILLS = 120 if LONG else 15
PART_BYTES, PARTS = 120_000, 3
UPLOADING = 1  # kiosk.sync.outbox.State.UPLOADING, read straight from the file
SLOW_S = 120.0  # for a process to start, or to be reaped, on a loaded machine


@dataclass
class Tally:
    kills: int = 0
    in_the_middle: int = 0  # kills that landed inside submit, or during an upload
    begun: set[str] = field(default_factory=set)
    done: dict[str, str] = field(default_factory=dict)  # id -> number, submit returned


def _kill_after(proc: subprocess.Popen, rng: random.Random, low: float, high: float, err: Path) -> None:
    time.sleep(rng.uniform(low, high))  # the moment of the kill, at random: not a wait for anything
    proc.send_signal(signal.SIGKILL)
    # Neither process ends by itself: one that did (a crash, a lock it gave up on) must fail the test.
    assert proc.wait(timeout=SLOW_S) == -signal.SIGKILL, f"{proc.args} ended by itself: {err.read_text()}"


def _wait_for(out: Path, word: str, proc: subprocess.Popen, err: Path) -> None:
    deadline = time.monotonic() + SLOW_S
    while word not in out.read_text() and proc.poll() is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"the submitter never started submitting: {err.read_text()}")
        time.sleep(0.01)
    assert proc.poll() is None, err.read_text()


def _submitter_lives(kiosk: Path, tally: Tally, rng: random.Random, logs: Path, check: Callable[[], None]) -> None:
    for life in range(KILLS):
        check()  # the sync worker's killer still alive: no use going on without it
        out, err = logs / f"submit-{life}.out", logs / f"submit-{life}.err"
        with open(out, "w") as fh, open(err, "w") as errors:
            proc = subprocess.Popen([sys.executable, str(HERE / "submitter.py"), str(kiosk), str(PART_BYTES),
                                     str(PARTS), "0"], stdout=fh, stderr=errors)
            if rng.random() < 0.2:
                _kill_after(proc, rng, 0.0, 1.0, err)  # anywhere, start-up and recovery included
            else:
                _wait_for(out, "begin", proc, err)  # once it submits, it is almost always inside submit
                _kill_after(proc, rng, 0.0, 0.4, err)
        last_begun = None
        for line in out.read_text().splitlines():
            words = line.split()
            if len(words) == 2 and words[0] == "begin":
                tally.begun.add(words[1])
                last_begun = words[1]
            elif len(words) == 3 and words[0] == "done":
                tally.done[words[1]] = words[2]
                last_begun = None
        tally.kills += 1
        tally.in_the_middle += last_begun is not None


def _uploading(db: sqlite3.Connection) -> bool:
    """A row left UPLOADING: the worker died between its claim and the acknowledgement.

    The first lives may all die before either process has created the queue's
    tables (on a loaded machine, before their imports are done): then nothing
    is uploading."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dossiers'").fetchone() is None:
        return False
    return db.execute("SELECT COUNT(*) FROM dossiers WHERE state = ?", (UPLOADING,)).fetchone()[0] > 0


def _ready(notify: socket.socket, proc: subprocess.Popen, err: Path) -> None:
    """Wait, as systemd does for the unit (``Type=notify``), for the worker's ``READY=1``: on a loaded
    machine its start-up alone can outlast a kill's random delay, and no kill would land in an upload."""
    deadline = time.monotonic() + SLOW_S
    notify.settimeout(1.0)
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the sync worker ended before it was ready: {err.read_text()}"
        try:
            if notify.recv(4096).startswith(b"READY=1"):
                return
        except TimeoutError:
            pass
    raise AssertionError(f"the sync worker was not ready after {SLOW_S:g} s: {err.read_text()}")


def _drain(notify: socket.socket) -> None:
    """Forget what the last life said (its STATUS lines, a READY never waited for)."""
    notify.setblocking(False)
    try:
        while notify.recv(4096):
            pass
    except BlockingIOError:
        pass


def _sync_lives(kiosk: Path, tally: Tally, rng: random.Random, logs: Path, stop: threading.Event) -> None:
    db = sqlite3.connect(kiosk / "queue.db", timeout=SLOW_S)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(logs / "notify"))
    env = {**os.environ, "NOTIFY_SOCKET": str(logs / "notify")}
    try:
        while tally.kills < KILLS and not stop.is_set():
            _drain(notify)
            err = logs / f"sync-{tally.kills}.err"
            with open(err, "w") as errors:
                proc = subprocess.Popen([str(BIN / "kiosk"), "--data-dir", str(kiosk), "sync"],
                                        stdout=subprocess.DEVNULL, stderr=errors, env=env)
                if rng.random() < 0.2:
                    _kill_after(proc, rng, 0.0, 1.5, err)  # anywhere, start-up and recovery included
                else:
                    _ready(notify, proc, err)  # from then on it uploads whatever the submitter queued
                    _kill_after(proc, rng, 0.0, 1.0, err)
            tally.kills += 1
            tally.in_the_middle += _uploading(db)
    finally:
        notify.close()
        db.close()


def _sealed(kiosk: Path, dossier_id: str) -> list[bytes]:
    return [p.read_bytes() for p in sorted((kiosk / "blobs" / dossier_id).glob("p*.sealed"))]


def _stored(central: Path, dossier_id: str) -> list[bytes]:
    folder = central / "blobs" / "packages" / dossier_id[:8] / dossier_id
    return [p.read_bytes() for p in sorted(folder.glob("[0-9][0-9][0-9]-*"))]


def test_kill_9_during_submit_and_upload_loses_nothing_and_duplicates_nothing(tmp_path):
    seed = int(os.environ.get("KIOSK_TEST_SEED", time.time()))
    rng_submit, rng_sync = random.Random(seed), random.Random(seed + 1)
    kiosk, logs = tmp_path / "kiosk", tmp_path / "logs"
    logs.mkdir()
    with central_service(tmp_path) as (url, central):
        enrolled_kiosk(url, central, kiosk)
        submits, syncs = Tally(), Tally()
        with HelperThreads() as threads:  # leaving it early (a failure) stops the sync worker's lives too
            killer = threads.start(_sync_lives, kiosk, syncs, rng_sync, logs, threads.stop)
            _submitter_lives(kiosk, submits, rng_submit, logs, threads.check)
            killer.join()

        # The network is fine again and nobody kills anything: drain what is left.
        run("kiosk", "--data-dir", kiosk, "queue", "retry")
        for _ in range(5):
            run("kiosk", "--data-dir", kiosk, "sync", "--once")
            counts = json.loads(run("kiosk", "--data-dir", kiosk, "queue", "status", "--json").stdout)
            if counts["queued"] == counts["uploading"] == 0:
                break
        at_kiosk = json.loads(run("kiosk", "--data-dir", kiosk, "queue", "list", "--json").stdout)
        at_service = json.loads(run("kiosk-central", "dossiers", "list", "--json", "--data-dir", central).stdout)

    note = f"seed {seed}; submit kills {submits.kills} ({submits.in_the_middle} inside submit), " \
           f"sync kills {syncs.kills} ({syncs.in_the_middle} during an upload), {len(submits.done)} dossiers promised"
    print(note)
    assert submits.kills == syncs.kills == KILLS, note
    # The kills must have hurt, or this test proves nothing.
    assert submits.in_the_middle >= KILLS // 3, note
    assert syncs.in_the_middle >= KILLS // 4, note
    assert len(submits.done) >= KILLS, note

    kiosk_ids = [d["id"] for d in at_kiosk]
    assert len(kiosk_ids) == len(set(kiosk_ids)) and len({d["number"] for d in at_kiosk}) == len(at_kiosk)
    # Every promised dossier is there, under the number the citizen was given; nothing the kiosk never began.
    by_id = {d["id"]: d for d in at_kiosk}
    for dossier_id, number in submits.done.items():
        assert dossier_id in by_id and by_id[dossier_id]["number"] == number, note
    assert set(kiosk_ids) <= submits.begun
    assert {d["state"] for d in at_kiosk} == {"acknowledged"}, note

    # The service holds each of them exactly once, byte-identical.
    service_ids = [d["id"] for d in at_service]
    assert len(service_ids) == len(set(service_ids)), "a dossier arrived twice"
    assert set(service_ids) == set(kiosk_ids)
    service = {d["id"]: d for d in at_service}
    for dossier_id, queued in by_id.items():
        assert service[dossier_id]["number"] == queued["number"]
        assert service[dossier_id]["content_sha256"] == queued["package_sha256"]
        assert _stored(central, dossier_id) == _sealed(kiosk, dossier_id)
