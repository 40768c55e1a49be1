"""Kill -9, over and over: the kiosk while it submits, the sync worker while it uploads.

Two real processes share one provisioned kiosk's data directory, as on a
unit: ``submitter.py`` (the app's outbox, opened as the app opens it) and
``kiosk sync`` (the real sync worker), against a real ``kiosk-central
serve``. Each is killed with SIGKILL at random moments and started again,
independently. Afterwards the queue is drained without faults and both
ends are compared:

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
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.chain import BIN, central_service, enrolled_kiosk, run

HERE = Path(__file__).resolve().parent
LONG = bool(os.environ.get("KIOSK_TEST_LONG"))
KILLS = 120 if LONG else 15
PART_BYTES, PARTS = 120_000, 3
UPLOADING = 1  # kiosk.sync.outbox.State.UPLOADING, read straight from the file


@dataclass
class Tally:
    kills: int = 0
    in_the_middle: int = 0  # kills that landed inside submit, or during an upload
    begun: set[str] = field(default_factory=set)
    done: dict[str, str] = field(default_factory=dict)  # id -> number, submit returned


def _kill_after(proc: subprocess.Popen, rng: random.Random, low: float, high: float) -> None:
    time.sleep(rng.uniform(low, high))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def _wait_for(out: Path, word: str, proc: subprocess.Popen, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while word not in out.read_text() and proc.poll() is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"the submitter never started submitting: {out.with_suffix('.err').read_text()}")
        time.sleep(0.01)
    assert proc.poll() is None, out.with_suffix(".err").read_text()


def _submitter_lives(kiosk: Path, tally: Tally, rng: random.Random, logs: Path) -> None:
    for life in range(KILLS):
        out = logs / f"submit-{life}.out"
        with open(out, "w") as fh, open(logs / f"submit-{life}.err", "w") as err:
            proc = subprocess.Popen([sys.executable, str(HERE / "submitter.py"), str(kiosk), str(PART_BYTES),
                                     str(PARTS), "0"], stdout=fh, stderr=err)
            if rng.random() < 0.2:
                _kill_after(proc, rng, 0.0, 1.0)  # anywhere, start-up and recovery included
            else:
                _wait_for(out, "begin", proc)  # once it submits, it is almost always inside submit
                _kill_after(proc, rng, 0.0, 0.4)
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


def _sync_lives(kiosk: Path, tally: Tally, rng: random.Random, logs: Path, stop: threading.Event) -> None:
    db = sqlite3.connect(kiosk / "queue.db", timeout=30)
    try:
        while tally.kills < KILLS and not stop.is_set():
            with open(logs / f"sync-{tally.kills}.err", "w") as err:
                proc = subprocess.Popen([str(BIN / "kiosk"), "--data-dir", str(kiosk), "sync"],
                                        stdout=subprocess.DEVNULL, stderr=err)
                _kill_after(proc, rng, 0.5, 1.5)
            tally.kills += 1
            # A row left UPLOADING means the worker died between its claim and the acknowledgement.
            tally.in_the_middle += db.execute("SELECT COUNT(*) FROM dossiers WHERE state = ?",
                                              (UPLOADING,)).fetchone()[0] > 0
    finally:
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
        submits, syncs, stop = Tally(), Tally(), threading.Event()
        killer = threading.Thread(target=_sync_lives, args=(kiosk, syncs, rng_sync, logs, stop))
        killer.start()
        try:
            _submitter_lives(kiosk, submits, rng_submit, logs)
        except BaseException:
            stop.set()  # abandon the sync worker's lives too
            raise
        finally:
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
