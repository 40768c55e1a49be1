"""Sync (issue 4): submit latency, drain throughput to the service, and a fleet reconnecting at once.

Three questions about the offline queue and its sync, answered on the real
code, the real disk and the real service, each against a baseline measured
in the same run:

* **submit**: how long does ``Outbox.submit`` keep a citizen waiting for a
  1.5 MB dossier (seal 10 parts, write each durably, sign the manifest,
  commit the row with ``synchronous=FULL``)? Goal: p99 under 100 ms. The
  baseline writes the same number of bytes to one new file with one
  ``write`` + ``fsync``, so the ratio is the price of sealing and of the
  durability discipline; an instrumented pass splits the time.
* **drain**: how fast does one kiosk's ``SyncWorker.run_once`` empty its
  outbox into ``kiosk-central serve`` over loopback, against a plain
  ``httpx.Client`` PUTting the same sealed files one after the other to
  (a) a server that discards them (raw HTTP transfer) and (b) a server that
  stores each durably (plain durable upload)? Goal: at least 0.8 of the
  baseline.
* **storm**: ``--storm-kiosks`` enrolled kiosks, each with its own outbox of
  ``--storm-dossiers`` smaller dossiers, start their sync workers (real
  backoff with jitter) at the same instant against one service: time to
  drain, failed attempts and why, per-kiosk completion, server CPU.

After the drain and the storm every dossier the kiosks queued must be listed
once by ``kiosk-central dossiers list --json``, with the kiosk's number, site
and package hash, acknowledged on the kiosk, and no upload left staged.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue as queue_module
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _central_server import (BIN, attachment_size, central_service, cpu_seconds, enroll_kiosks,  # noqa: E402
                             new_dossier, percentile, scratch_dir, sink_server, store_server, template_dossier)

MB = 1_000_000
SUBMIT_P99_GOAL_MS = 100.0
DRAIN_RATIO_GOAL = 0.8
SITE = "Mairie de Bench"
#: The sync worker's wait between rounds when nothing was sent (``SyncWorker.run_forever``'s default).
IDLE_S = 2.0


# -- shared ----------------------------------------------------------------------------
def _own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _mount_of(path: Path) -> dict[str, str]:
    """The filesystem under ``path``: the figures include real fsyncs only if it is a disk, not tmpfs."""
    path, best = str(path.resolve()), ("?", "/", "?")
    for line in Path("/proc/mounts").read_text().splitlines():
        device, mount, fs = line.split()[:3]
        if (path == mount or path.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best[1]):
            best = (device, mount, fs)
    return {"device": best[0], "mount": best[1], "fs": best[2]}


def _receipt_for(site_name: str) -> Callable[[str], dict[str, Any]]:
    """The receipt content kept with each dossier for reprints, as the controller hands it to ``submit``."""
    from kiosk.core.receipt import Receipt

    def content(number: str) -> dict[str, Any]:
        return Receipt(mairie=site_name, address="1 place de la Mairie, 00000 Bench",
                       opening_hours="lundi-vendredi 9h-12h, 14h-17h",
                       printed_at=datetime.now().strftime("%d/%m/%Y %H:%M"), dossier_number=number,
                       predemande_masked="B2******F6",
                       originals=("Ancienne carte d'identité", "Justificatif de domicile de moins d'un an"),
                       language="fr").as_dict()

    return content


def _check(data_dir: Path, queued: dict[str, tuple[str, str, str, str]]) -> dict[str, Any]:
    """Compare what the kiosks queued (id → number, site, package hash, kiosk state) with what the service lists.

    Zero loss: every queued id listed, acknowledged on its kiosk. Zero
    duplicates: no id and no number listed twice, nothing listed that no
    kiosk queued. Same content: number, site and package hash equal.
    """
    argv = [str(BIN / "kiosk-central"), "dossiers", "list", "--json", "--data-dir", str(data_dir)]
    listed = json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)
    by_id = {item["id"]: item for item in listed}
    ids, numbers = [item["id"] for item in listed], [item["number"] for item in listed]
    with sqlite3.connect(data_dir / "central.db") as db:
        staged = db.execute("SELECT count(*) FROM uploads").fetchone()[0]
    result = {
        "queued": len(queued), "stored": len(listed),
        "missing": len(set(queued) - set(by_id)), "unexpected": len(set(by_id) - set(queued)),
        "duplicate_ids": len(ids) - len(set(ids)), "duplicate_numbers": len(numbers) - len(set(numbers)),
        "mismatched": sum(1 for i, (number, site, sha, _) in queued.items() if i in by_id
                          and (by_id[i]["number"], by_id[i]["site"], by_id[i]["content_sha256"]) != (number, site, sha)),
        "not_acknowledged_on_kiosk": sum(1 for *_, state in queued.values() if state != "acknowledged"),
        "staged_left": staged,
    }
    result["ok"] = all(v == 0 for k, v in result.items() if k not in ("queued", "stored")) \
        and result["stored"] == result["queued"]
    return result


def _queued(outbox, site_id: str) -> dict[str, tuple[str, str, str, str]]:
    out = {}
    for q in outbox.list():
        d = q.as_dict()
        out[q.id] = (q.number, site_id, d["package_sha256"], d["state"])
    return out


def _rates(count: int, wire: int, wall: float, client_cpu: float, server_cpu: float) -> dict[str, Any]:
    return {"dossiers": count, "wall_s": round(wall, 2), "dossiers_per_s": round(count / wall, 2),
            "mb_per_s": round(wire / MB / wall, 1),
            "cpu_ms_per_dossier": {"client": round(client_cpu / count * 1000, 1),
                                   "server": round(server_cpu / count * 1000, 1)}}


# -- 1. submit -------------------------------------------------------------------------
def _plain_write(path: Path, data: bytes) -> float:
    t0 = time.perf_counter()
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return time.perf_counter() - t0


def _split(outbox, submit_one: Callable[[], float], count: int) -> dict[str, Any]:
    """Where a submit's time goes: a separate pass with timers around sealing, fsync, files and SQLite.

    Separate so the timed pass stays untouched; the wrappers cost microseconds.
    """
    import kiosk.sync.outbox as outbox_module

    spent: Counter[str] = Counter()
    calls: Counter[str] = Counter()

    def timed(name: str, fn):
        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent[name] += time.perf_counter() - t0
                calls[name] += 1
        return wrapper

    saved = (outbox_module.seal, outbox_module.write_durably, outbox_module.make_dir_durably, os.fsync)
    outbox_module.seal = timed("seal", saved[0])
    outbox_module.write_durably = timed("files", saved[1])
    outbox_module.make_dir_durably = timed("files", saved[2])
    os.fsync = timed("fsync", saved[3])
    outbox._allocate_number = timed("sqlite", outbox._allocate_number)
    outbox._insert = timed("sqlite", outbox._insert)
    try:
        total = sum(submit_one() for _ in range(count))
    finally:
        outbox_module.seal, outbox_module.write_durably, outbox_module.make_dir_durably, os.fsync = saved
        del outbox._allocate_number, outbox._insert

    def ms(seconds: float) -> float:
        return round(seconds / count * 1000, 2)

    return {"submits": count, "total_ms": ms(total), "seal_ms": ms(spent["seal"]),
            "fsync_ms": ms(spent["fsync"]), "fsyncs": calls["fsync"] // count,
            "write_rename_ms": ms(spent["files"] - spent["fsync"]), "sqlite_ms": ms(spent["sqlite"]),
            "rest_ms": ms(total - spent["seal"] - spent["files"] - spent["sqlite"])}


def bench_submit(args, scratch: Path) -> dict[str, Any]:
    """``Outbox.submit`` of 1.5 MB dossiers on the disk, interleaved with the plain write + fsync baseline."""
    from nacl.public import PrivateKey
    from nacl.signing import SigningKey

    from kiosk.sync.outbox import Outbox
    from titres.protocol import DeviceSigner

    template = template_dossier()
    receipt_for = _receipt_for(SITE)
    plain_dir = scratch / "submit-plain"
    plain_dir.mkdir()
    # A provisioned kiosk: the manifest is signed at submit, as in production.
    signer = DeviceSigner(str(uuid.uuid4()), SigningKey.generate())
    with Outbox(scratch / "submit-kiosk", PrivateKey.generate().public_key, signer=signer) as outbox:
        def submit_one() -> float:
            dossier = new_dossier(template, "mairie-de-bench", "K01")  # the session's work, not timed
            t0 = time.perf_counter()
            outbox.submit(dossier, receipt_for)
            return time.perf_counter() - t0

        for _ in range(3):  # warm-up: the database's first pages, first imports
            submit_one()
        sample = outbox.list(limit=1)[0]
        on_disk = sum(f.stat().st_size for f in (outbox.blobs / sample.id).iterdir())
        blob = os.urandom(on_disk)
        submits, plain = [], []
        for i in range(args.submits):
            submits.append(submit_one())
            plain.append(_plain_write(plain_dir / f"{i:05d}", blob))
        split = _split(outbox, submit_one, max(10, args.submits // 4))
        parts = len(sample.manifest["parts"])

    def stats(values: list[float]) -> dict[str, float]:
        return {"p50_ms": round(percentile(values, 50) * 1000, 1), "p99_ms": round(percentile(values, 99) * 1000, 1),
                "mean_ms": round(sum(values) / len(values) * 1000, 1), "max_ms": round(max(values) * 1000, 1)}

    s, p = stats(submits), stats(plain)
    return {"submits": args.submits, "parts": parts, "bytes_on_disk": on_disk, "disk": _mount_of(scratch),
            "submit": s, "plain_write_fsync": p, "split": split,
            "ratio_p50": round(s["p50_ms"] / p["p50_ms"], 1), "ratio_p99": round(s["p99_ms"] / p["p99_ms"], 1),
            "goal_p99_ms": SUBMIT_P99_GOAL_MS, "goal_met": s["p99_ms"] < SUBMIT_P99_GOAL_MS}


def print_submit(r: dict[str, Any]) -> None:
    s, p, x, d = r["submit"], r["plain_write_fsync"], r["split"], r["disk"]
    print(f"[submit] {r['submits']} dossiers of {r['bytes_on_disk'] / MB:.3f} MB on disk ({r['parts']} sealed parts "
          f"+ manifest), scratch on {d['device']} {d['fs']} (mount {d['mount']})")
    print(f"    Outbox.submit          p50 {s['p50_ms']} ms  p99 {s['p99_ms']} ms  mean {s['mean_ms']} ms  "
          f"max {s['max_ms']} ms   (goal p99 < {SUBMIT_P99_GOAL_MS:.0f} ms: {'met' if r['goal_met'] else 'MISSED'})")
    print(f"    one write + fsync      p50 {p['p50_ms']} ms  p99 {p['p99_ms']} ms  mean {p['mean_ms']} ms  "
          f"max {p['max_ms']} ms   (baseline, same bytes, same run)")
    print(f"    submit / plain         p50 x{r['ratio_p50']}  p99 x{r['ratio_p99']}")
    print(f"    split ({x['submits']} instrumented submits, mean {x['total_ms']} ms): sealing {x['seal_ms']} ms, "
          f"{x['fsyncs']} fsyncs {x['fsync_ms']} ms, write + rename {x['write_rename_ms']} ms, "
          f"SQLite (number + row, synchronous=FULL) {x['sqlite_ms']} ms, rest (JSON, hashes, signature) "
          f"{x['rest_ms']} ms")


# -- 2. drain --------------------------------------------------------------------------
def _plain_upload(server, warm: list[tuple[str, list[Path]]], files: list[tuple[str, list[Path]]],
                  wire: int) -> dict[str, Any]:
    """One plain ``httpx.Client`` PUTting every sealed part file, one after the other, as a plain uploader would."""
    import httpx

    with httpx.Client(base_url=server.base_url, timeout=120.0) as http:
        def send(batch: list[tuple[str, list[Path]]]) -> None:
            for dossier_id, paths in batch:
                for index, path in enumerate(paths):
                    http.put(f"/{dossier_id}/{index}", content=path.read_bytes(),
                             headers={"Content-Type": "application/octet-stream"}).raise_for_status()

        send(warm)
        cpu0, server0 = _own_cpu(), cpu_seconds(server.pids())
        t0 = time.perf_counter()
        send(files)
        wall = time.perf_counter() - t0
        return _rates(len(files), wire, wall, _own_cpu() - cpu0, cpu_seconds(server.pids()) - server0)


def bench_drain(args, scratch: Path) -> dict[str, Any]:
    """One enrolled kiosk's full outbox drained by ``SyncWorker.run_once``, against plain uploads of its files."""
    from kiosk.sync.client import CentralClient
    from kiosk.sync.outbox import Outbox, State
    from titres.protocol import DeviceSigner
    from kiosk.sync.seal import recipient_key
    from kiosk.sync.worker import SyncWorker

    data_dir = scratch / "drain-central"
    template = template_dossier()
    receipt_for = _receipt_for(SITE)
    with central_service(data_dir, None, args.workers) as server:
        [enrolled] = enroll_kiosks(server.base_url, data_dir, None, 1, [SITE])
        enrolled.client.close()
        key, service_key = enrolled.client.key, enrolled.client.service_key
        client = CentralClient.connect(server.base_url, timeout_s=30.0, device_id=enrolled.device_id, key=key,
                                       service_key=service_key)  # the kiosk's production timeout
        outbox = Outbox(scratch / "drain-kiosk", recipient_key(enrolled.sealing_public_key),
                        signer=DeviceSigner(enrolled.device_id, key))
        try:
            worker = SyncWorker(outbox, client, enrolled.device_id)

            def fill(count: int) -> list[tuple[str, list[Path]]]:
                for _ in range(count):
                    outbox.submit(new_dossier(template, enrolled.site_id, enrolled.kiosk_code), receipt_for)
                return [(q.id, [outbox.blobs / q.id / p["file"] for p in q.manifest["parts"]])
                        for q in outbox.list(states=(State.QUEUED,))]

            # Warm-up, untimed: the service worker on this connection, the first heartbeat.
            warm = fill(2)
            warm_report = worker.run_once()
            files = fill(args.drain_dossiers)
            wire = sum(p.stat().st_size for _, paths in files for p in paths)
            baselines = {}
            with sink_server(args.workers, scratch) as sink:
                baselines["discard"] = _plain_upload(sink, warm, files, wire)
            with store_server(args.workers, scratch, scratch / "drain-store") as store:
                baselines["durable"] = _plain_upload(store, warm, files, wire)
            shutil.rmtree(scratch / "drain-store", ignore_errors=True)

            cpu0, server0 = _own_cpu(), cpu_seconds(server.pids())
            t0 = time.perf_counter()
            report = worker.run_once()
            wall = time.perf_counter() - t0
            drain = _rates(report["sent"] or 1, wire, wall, _own_cpu() - cpu0, cpu_seconds(server.pids()) - server0)
            drain["report"], drain["warmup_report"] = report, warm_report
            queued = _queued(outbox, enrolled.site_id)
        finally:
            outbox.close()
            client.close()
    return {
        "dossiers": len(files), "dossier_mb": round(wire / len(files) / MB, 3), "workers": args.workers,
        "drain": drain, "plain_discard": baselines["discard"], "plain_durable": baselines["durable"],
        "ratio_vs_discard": round(drain["dossiers_per_s"] / baselines["discard"]["dossiers_per_s"], 2),
        "ratio_vs_durable": round(drain["dossiers_per_s"] / baselines["durable"]["dossiers_per_s"], 2),
        "goal_ratio": DRAIN_RATIO_GOAL, "check": _check(data_dir, queued),
    }


def print_drain(r: dict[str, Any]) -> None:
    d, a, b, c = r["drain"], r["plain_discard"], r["plain_durable"], r["check"]

    def row(name: str, x: dict[str, Any]) -> str:
        cpu = x["cpu_ms_per_dossier"]
        return (f"    {name:<44} {x['dossiers_per_s']:>6} dossiers/s {x['mb_per_s']:>6} MB/s   "
                f"CPU/dossier client {cpu['client']} ms, server {cpu['server']} ms")

    print(f"[drain] {r['dossiers']} dossiers of {r['dossier_mb']} MB (sealed parts), one kiosk, loopback, "
          f"service and baselines with {r['workers']} workers")
    print(row("SyncWorker.run_once -> kiosk-central serve", d) + f"   {d['report']}")
    print(row("(a) plain httpx PUTs -> server that discards", a))
    print(row("(b) plain httpx PUTs -> server that fsyncs", b))
    ok = "met" if r["ratio_vs_durable"] >= DRAIN_RATIO_GOAL else "MISSED"
    print(f"    drain / (a) raw HTTP transfer = {r['ratio_vs_discard']}; drain / (b) plain durable upload = "
          f"{r['ratio_vs_durable']} (goal >= {DRAIN_RATIO_GOAL} against (b): {ok}; against (a): "
          f"{'met' if r['ratio_vs_discard'] >= DRAIN_RATIO_GOAL else 'MISSED'})")
    print(f"    check: {_check_line(c)}")


def _check_line(c: dict[str, Any]) -> str:
    return (f"{c['stored']} listed by kiosk-central / {c['queued']} queued on the kiosks, missing {c['missing']}, "
            f"unexpected {c['unexpected']}, duplicate ids {c['duplicate_ids']}, duplicate numbers "
            f"{c['duplicate_numbers']}, number/site/hash mismatches {c['mismatched']}, not acknowledged on the kiosk "
            f"{c['not_acknowledged_on_kiosk']}, staged uploads left {c['staged_left']} -> "
            f"{'OK' if c['ok'] else 'FAILED'}")


# -- 3. storm --------------------------------------------------------------------------
def storm_size(scale: int) -> Callable[[str], int]:
    """The 1.5 MB layout scaled down by ``scale``: same parts; fingerprint templates keep the sensor's 512 bytes."""
    return lambda name: attachment_size(name) if name.endswith(".tpl") else max(1, attachment_size(name) // scale)


def _reason(error: str) -> str:
    """A failed attempt's cause, in a few words: the exception's type, or the status and the service's code."""
    m = re.search(r"unreachable: (\w+)", error)
    if m:
        return m.group(1)
    m = re.search(r"answered (\d{3}) (\S*)", error) or re.search(r"refused \((\d{3}) (\w*)\)", error)
    if m:
        return f"HTTP {m.group(1)} {m.group(2)}".rstrip(":")
    return error[:80]


class _Failures:
    """Counts the sync worker's own failure logs (upload and heartbeat) by cause, across a process's threads."""

    def __init__(self):
        import logging

        self.counts: Counter[str] = Counter()
        self.examples: dict[str, str] = {}
        self._lock = threading.Lock()
        outer = self

        class Handler(logging.Handler):
            def emit(self, record):
                error = str(getattr(record, "error", ""))
                key = f"{record.getMessage()}: {_reason(error)}"
                with outer._lock:
                    outer.counts[key] += 1
                    outer.examples.setdefault(key, error[:300])

        self.handler = Handler(logging.WARNING)


def _storm_kiosk(outbox, worker, start: threading.Event, stop: threading.Event) -> dict[str, Any]:
    """One kiosk coming back: ``run_forever``'s loop (round, then idle wait if nothing went), until its queue is empty."""
    start.wait()
    outbox.requeue_interrupted()
    rounds = failed = 0
    try:
        while True:
            report = worker.run_once()
            rounds += 1
            failed += report["failed"] + report["corrupt"]
            counts = outbox.counts()
            if counts["queued"] + counts["uploading"] == 0:
                return {"done": time.monotonic(), "rounds": rounds, "failed": failed, "left": 0}
            if stop.is_set():
                return {"done": None, "rounds": rounds, "failed": failed,
                        "left": counts["queued"] + counts["uploading"]}
            if report["sent"] == 0:
                stop.wait(IDLE_S)
    except Exception as exc:  # the worker itself died: in production systemd restarts it; here it is a finding
        return {"done": None, "rounds": rounds, "failed": failed, "left": -1,
                "crash": f"{type(exc).__name__}: {exc}"[:300]}


def storm_client(specs: list[dict[str, str]], base_url: str, root: str, options: dict[str, Any],
                 ready, go, stop, results) -> None:
    """One client process of the storm: build its kiosks' outboxes, then run all their sync workers from one instant.

    Runs in a spawned process; reports through ``ready`` (after building) and
    ``results`` (after draining), and starts when ``go`` is set.
    """
    import logging
    import random

    from nacl.signing import SigningKey, VerifyKey

    from kiosk.sync.client import CentralClient
    from kiosk.sync.outbox import Outbox
    from titres.protocol import DeviceSigner
    from kiosk.sync.seal import recipient_key
    from kiosk.sync.worker import SyncWorker

    failures = _Failures()
    sync_log = logging.getLogger("kiosk.sync")
    sync_log.addHandler(failures.handler)
    sync_log.setLevel(logging.WARNING)
    sync_log.propagate = False

    t0 = time.monotonic()
    template = template_dossier()
    size = storm_size(options["scale"])
    kiosks = []
    for spec in specs:
        key = SigningKey(bytes.fromhex(spec["key"]))
        outbox = Outbox(Path(root) / spec["device_id"], recipient_key(spec["sealing"]),
                        signer=DeviceSigner(spec["device_id"], key))
        receipt_for = _receipt_for(spec["site_name"])
        for _ in range(options["dossiers"]):
            outbox.submit(new_dossier(template, spec["site_id"], spec["kiosk_code"], size=size), receipt_for)
        client = CentralClient.connect(base_url, timeout_s=options["timeout_s"], device_id=spec["device_id"], key=key,
                                       service_key=VerifyKey(bytes.fromhex(spec["verify"])))
        worker = SyncWorker(outbox, client, spec["device_id"], base_s=options["base_s"], max_s=options["max_s"],
                            rng=random.Random())
        kiosks.append((spec, outbox, client, worker))
    wire = sum(p["size"] for _, outbox, _, _ in kiosks for q in outbox.list() for p in q.manifest["parts"])
    ready.put({"pid": os.getpid(), "build_s": round(time.monotonic() - t0, 1), "wire_bytes": wire,
               "dossiers": len(kiosks) * options["dossiers"]})

    start, local_stop = threading.Event(), threading.Event()
    outcomes: list[dict[str, Any] | None] = [None] * len(kiosks)

    def run(i: int) -> None:
        outcomes[i] = _storm_kiosk(kiosks[i][1], kiosks[i][3], start, local_stop)

    threads = [threading.Thread(target=run, args=(i,), name=f"kiosk-{i}") for i in range(len(kiosks))]
    for t in threads:
        t.start()

    def watch_stop() -> None:
        # Polled, not ``stop.wait()``: a process that exits while blocked in a multiprocessing Event's wait
        # leaves a sleeper behind, and the parent's later ``stop.set()`` then waits for it forever.
        while not stop.is_set() and not local_stop.is_set():
            time.sleep(0.5)
        local_stop.set()

    watcher = threading.Thread(target=watch_stop, daemon=True)
    watcher.start()
    while not go.is_set():
        time.sleep(0.05)
    cpu0 = _own_cpu()
    start.set()
    for t in threads:
        t.join()
    cpu = _own_cpu() - cpu0
    local_stop.set()
    watcher.join()
    queued = {}
    for (spec, outbox, client, _), outcome in zip(kiosks, outcomes):
        queued.update(_queued(outbox, spec["site_id"]))
        outcome["device_id"] = spec["device_id"]
        outbox.close()
        client.close()
    results.put({"pid": os.getpid(), "cpu_s": cpu, "kiosks": outcomes, "queued": queued,
                 "failures": dict(failures.counts), "examples": failures.examples})


def _collect(q, count: int, procs: list, deadline: float, stop) -> list[dict[str, Any]]:
    """``count`` messages from ``q``; sets ``stop`` at ``deadline``; raises if a process dies with nothing sent."""
    out: list[dict[str, Any]] = []
    grace = deadline + 120
    while len(out) < count:
        try:
            out.append(q.get(timeout=1.0))
            continue
        except queue_module.Empty:
            pass
        now = time.monotonic()
        if now > deadline and not stop.is_set():
            stop.set()
        dead = [p for p in procs if p.exitcode not in (None, 0)]
        if dead or now > grace:
            raise RuntimeError(f"storm client processes failed (exit codes {[p.exitcode for p in procs]}) "
                               f"or sent nothing by the deadline")
    return out


def _server_log_findings(log: Path) -> dict[str, int]:
    """What the service logged during the run: tracebacks, 'database is locked', error-level lines, refusals."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return {"tracebacks": text.count("Traceback (most recent call last)"),
            "database_is_locked": text.count("database is locked"),
            "error_lines": sum(1 for line in text.splitlines() if '"level": "error"' in line or "ERROR" in line),
            "requests_refused": text.count('"msg": "device request refused"')}


def bench_storm(args, scratch: Path) -> dict[str, Any]:
    """``--storm-kiosks`` kiosks with full outboxes start syncing at once against one service."""
    data_dir = scratch / "storm-central"
    options = {"dossiers": args.storm_dossiers, "scale": args.storm_scale, "timeout_s": 30.0,
               "base_s": args.storm_base_s, "max_s": args.storm_max_s}
    procs_n = max(1, min(args.storm_procs, args.storm_kiosks))
    ctx = multiprocessing.get_context("spawn")
    ready, results, go, stop = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Event()
    procs: list = []
    with central_service(data_dir, None, args.workers) as server:
        t0 = time.monotonic()
        sites = [f"{SITE} {i:03d}" for i in range(max(1, args.storm_kiosks // 2))]
        enrolled = enroll_kiosks(server.base_url, data_dir, None, args.storm_kiosks, sites)
        enroll_s = time.monotonic() - t0
        for k in enrolled:
            k.client.close()
        # enroll_kiosks gives kiosk i a token for sites[i % len(sites)]
        specs = [{"device_id": k.device_id, "site_id": k.site_id, "site_name": sites[i % len(sites)],
                  "kiosk_code": k.kiosk_code, "key": bytes(k.client.key).hex(), "sealing": k.sealing_public_key,
                  "verify": bytes(k.client.service_key).hex()} for i, k in enumerate(enrolled)]
        try:
            for i in range(procs_n):
                procs.append(ctx.Process(target=storm_client, args=(specs[i::procs_n], server.base_url,
                                                                    str(scratch / "storm-kiosks"), options,
                                                                    ready, go, stop, results)))
                procs[-1].start()
            t0 = time.monotonic()
            built = _collect(ready, procs_n, procs, time.monotonic() + 3600, stop)
            build_s = time.monotonic() - t0
            server0 = cpu_seconds(server.pids())
            t_go = time.monotonic()
            go.set()
            outcomes = _collect(results, procs_n, procs, t_go + args.storm_deadline_s, stop)
            server_cpu = cpu_seconds(server.pids()) - server0
        finally:
            stop.set()
            go.set()
            for p in procs:
                p.join(timeout=30)
                if p.is_alive():
                    p.terminate()
                    p.join()
    kiosks = [k for o in outcomes for k in o["kiosks"]]
    done = [k["done"] - t_go for k in kiosks if k["done"] is not None]
    queued = {i: v for o in outcomes for i, v in o["queued"].items()}
    failures: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for o in outcomes:
        failures.update(o["failures"])
        for key, text in o["examples"].items():
            examples.setdefault(key, text)
    total = sum(b["dossiers"] for b in built)
    wire = sum(b["wire_bytes"] for b in built)
    drain_s = max(done) if len(done) == len(kiosks) else None
    return {
        "kiosks": args.storm_kiosks, "dossiers_per_kiosk": args.storm_dossiers, "dossiers": total,
        "dossier_kb": round(wire / total / 1000, 1), "workers": args.workers, "client_processes": procs_n,
        "base_s": args.storm_base_s, "max_s": args.storm_max_s, "idle_s": IDLE_S, "timeout_s": options["timeout_s"],
        "enroll_s": round(enroll_s, 1), "build_s": round(build_s, 1),
        "drain_s": round(drain_s, 1) if drain_s else None,
        "dossiers_per_s": round(total / drain_s, 1) if drain_s else None,
        "mb_per_s": round(wire / MB / drain_s, 1) if drain_s else None,
        "kiosks_done": len(done), "kiosk_completion_s": {
            "p50": round(percentile(done, 50), 1), "p90": round(percentile(done, 90), 1),
            "p99": round(percentile(done, 99), 1), "max": round(max(done), 1)} if done else None,
        "failed_uploads": sum(k["failed"] for k in kiosks),
        "failures": dict(failures.most_common()), "failure_examples": examples,
        "crashes": [k["crash"] for k in kiosks if "crash" in k][:5],
        "rounds_max": max(k["rounds"] for k in kiosks),
        "server_cpu_s": round(server_cpu, 1),
        "server_cpu_ms_per_dossier": round(server_cpu / total * 1000, 1),
        "client_cpu_ms_per_dossier": round(sum(o["cpu_s"] for o in outcomes) / total * 1000, 1),
        "server_log": _server_log_findings(server.log),
        "check": _check(data_dir, queued),
    }


def print_storm(r: dict[str, Any]) -> None:
    c = r["kiosk_completion_s"] or {}
    print(f"[storm] {r['kiosks']} kiosks x {r['dossiers_per_kiosk']} dossiers = {r['dossiers']} dossiers of "
          f"{r['dossier_kb']} KB (1.5 MB layout / scale, 10 parts), all starting at once, {r['client_processes']} "
          f"client processes, one `kiosk-central serve --workers {r['workers']}` (SQLite)")
    print(f"    backoff base {r['base_s']} s, max {r['max_s']} s (production 5 s / 900 s), full jitter; idle wait "
          f"{r['idle_s']} s; HTTP timeout {r['timeout_s']} s; enrolment {r['enroll_s']} s, outboxes built in "
          f"{r['build_s']} s (untimed)")
    print(f"    drained in {r['drain_s']} s: {r['dossiers_per_s']} dossiers/s, {r['mb_per_s']} MB/s; kiosks done "
          f"{r['kiosks_done']}/{r['kiosks']}; per-kiosk completion p50 {c.get('p50')} s, p90 {c.get('p90')} s, "
          f"p99 {c.get('p99')} s, max {c.get('max')} s; most rounds by one kiosk {r['rounds_max']}")
    print(f"    failed upload attempts {r['failed_uploads']}; failures logged by the workers: "
          f"{r['failures'] or 'none'}")
    for key, text in list(r["failure_examples"].items())[:4]:
        print(f"      e.g. {key}: {text[:160]}")
    if r["crashes"]:
        print(f"    sync workers that died: {r['crashes']}")
    print(f"    server CPU {r['server_cpu_s']} s ({r['server_cpu_ms_per_dossier']} ms per dossier), client CPU "
          f"{r['client_cpu_ms_per_dossier']} ms per dossier; server log {r['server_log']}")
    print(f"    check: {_check_line(r['check'])}")


# -- main ------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="40 submits, 20 dossiers drained, storm of 50 kiosks x 4 dossiers (about a minute)")
    parser.add_argument("--only", choices=["submit", "drain", "storm"], help="run one benchmark only")
    parser.add_argument("--submits", type=int, default=200, help="timed submits (default 200)")
    parser.add_argument("--drain-dossiers", type=int, default=100, help="dossiers drained (default 100)")
    parser.add_argument("--storm-kiosks", type=int, default=500, help="kiosks in the storm (default 500)")
    parser.add_argument("--storm-dossiers", type=int, default=20, help="queued dossiers per kiosk (default 20)")
    parser.add_argument("--storm-scale", type=int, default=20,
                        help="storm dossiers are the 1.5 MB layout divided by this (default 20: ~80 KB)")
    parser.add_argument("--storm-procs", type=int, default=4, help="client processes running the kiosks (default 4)")
    parser.add_argument("--storm-base-s", type=float, default=1.0, help="sync backoff base (default 1 s; production 5)")
    parser.add_argument("--storm-max-s", type=float, default=60.0, help="sync backoff cap (default 60 s; production 900)")
    parser.add_argument("--storm-deadline-s", type=float, default=1800.0,
                        help="stop the storm after this long and report what is left (default 1800)")
    parser.add_argument("--workers", type=int, default=2, help="service (and baseline server) processes (default 2)")
    parser.add_argument("--scratch", default="/var/tmp",
                        help="parent of the run's scratch directory (default /var/tmp: the disk, not tmpfs)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (printed)")
    args = parser.parse_args(argv)
    if args.quick:
        args.submits, args.drain_dossiers = min(args.submits, 40), min(args.drain_dossiers, 20)
        args.storm_kiosks, args.storm_dossiers = min(args.storm_kiosks, 50), min(args.storm_dossiers, 4)
        args.storm_deadline_s = min(args.storm_deadline_s, 300.0)
    scratch = scratch_dir("bench-sync-", args.scratch)
    results: dict[str, Any] = {}
    try:
        for name, bench, show in (("submit", bench_submit, print_submit), ("drain", bench_drain, print_drain),
                                  ("storm", bench_storm, print_storm)):
            if args.only in (None, name):
                results[name] = bench(args, scratch)
                show(results[name])
                sys.stdout.flush()
    finally:
        if args.keep:
            print(f"scratch kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return results


if __name__ == "__main__":
    print(json.dumps(main()))
