"""Ingest throughput of the central service: 1.5 MB dossiers from many kiosks at once, SQLite and PostgreSQL.

The question is whether one 2-core machine can take in a backlog of 25,000
dossiers (a busy week of a département, or a fleet coming back online)
in under 10 minutes. The real service runs as deployed (``kiosk-central
serve``, 2 uvicorn workers, fsync on for both SQLite and PostgreSQL);
``--kiosks`` enrolled devices, each with its own key and connection,
upload at once through the kiosk's own :class:`CentralClient` (declare,
PUT each sealed part, commit, check the signed acknowledgement). Packages
are sealed before the clock starts: sealing is the kiosk's work.

The baseline, measured in the same run with the same client threads, sends
the same requests and bytes to a bare Starlette app under the same uvicorn
that only reads and discards each body: the ratio says how much of raw HTTP
transfer the service keeps. Because the load generator shares the two cores
with the server, the CPU used by the client, the server workers and
PostgreSQL during the timed phase is printed too.

Afterwards every sent dossier must be listed once by ``kiosk-central
dossiers list`` with its package hash, and no upload left staged.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _central_server import (BIN, BenchKiosk, BuiltPackage, build_package, central_service,  # noqa: E402
                             cpu_seconds, enroll_kiosks, fresh_database, percentile, postgres, postgres_pids,
                             scratch_dir, sink_server, template_dossier)

GOAL_DOSSIERS = 25_000
GOAL_S = 600
MB = 1_000_000


def _own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _raw_transfer(http, kiosk: BenchKiosk, built: BuiltPackage) -> None:
    """The same requests as ``CentralClient.upload`` (signed, same bodies), answers ignored."""
    from titres.protocol import API, canonical, sign_manifest, sign_request

    key = kiosk.client.key
    manifest = built.package.manifest
    base = f"{API}/packages/{manifest['id']}"
    calls = [("PUT", base, canonical({"manifest": manifest, "signature": sign_manifest(manifest, key)}),
              "application/json")]
    calls += [("PUT", f"{base}/parts/{i}", part, "application/octet-stream") for i, part in enumerate(built.sealed)]
    calls.append(("POST", f"{base}/commit", b"", ""))
    for method, path, body, ctype in calls:
        headers = sign_request(key, kiosk.device_id, method, path, body, int(time.time()))
        if body:
            headers["Content-Type"] = ctype
        http.request(method, path, content=body, headers=headers).raise_for_status()


def _timed(kiosks: list[BenchKiosk], work: dict[str, list[BuiltPackage]], send, cpu_pids) -> dict:
    """Every kiosk sends its packages one after the other (as its sync worker does), all kiosks at once."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(kiosks) + 1)

    def one_kiosk(kiosk: BenchKiosk) -> None:
        start.wait()
        for built in work[kiosk.device_id]:
            t0 = time.perf_counter()
            for attempt in range(3):  # the kiosk's worker retries a retryable failure
                try:
                    send(kiosk, built)
                    break
                except Exception as exc:  # counted and reported, never hidden
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}"[:200])
                    time.sleep(0.5)
            else:
                continue
            with lock:
                latencies.append(time.perf_counter() - t0)

    with ThreadPoolExecutor(max_workers=len(kiosks)) as pool:
        futures = [pool.submit(one_kiosk, k) for k in kiosks]
        start.wait()
        cpu0 = {name: (cpu_seconds(pids()) if name != "client" else _own_cpu()) for name, pids in cpu_pids.items()}
        t0 = time.perf_counter()
        for f in futures:
            f.result()
        wall = time.perf_counter() - t0
        cpu1 = {name: (cpu_seconds(pids()) if name != "client" else _own_cpu()) for name, pids in cpu_pids.items()}
    count = len(latencies)
    wire = sum(b.wire_bytes for packages in work.values() for b in packages)
    return {
        "dossiers": count, "wall_s": round(wall, 2),
        "dossiers_per_s": round(count / wall, 1), "mb_per_s": round(wire / MB / wall, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 95) * 1000, 1) if latencies else None,
        "cores": {name: round((cpu1[name] - cpu0[name]) / wall, 2) for name in cpu_pids},
        "cpu_ms_per_dossier": {name: round((cpu1[name] - cpu0[name]) / max(count, 1) * 1000, 1) for name in cpu_pids},
        "errors": len(errors), "first_errors": sorted(set(errors))[:3],
    }


def _verify(data_dir: Path, db_url: str | None, sent: dict[str, str]) -> dict:
    """Every dossier sent is stored exactly once with its package hash; nothing is left staged."""
    from sqlalchemy import create_engine, text

    argv = [str(BIN / "kiosk-central"), "dossiers", "list", "--json", "--data-dir", str(data_dir)]
    listed = json.loads(subprocess.run(argv + (["--db", db_url] if db_url else []), capture_output=True,
                                       text=True, check=True).stdout)
    ids = [item["id"] for item in listed]
    hashes = {item["id"]: item["content_sha256"] for item in listed}
    engine = create_engine(db_url or f"sqlite:///{data_dir / 'central.db'}")
    with engine.connect() as conn:
        staged = conn.execute(text("SELECT count(*) FROM uploads")).scalar_one()
    engine.dispose()
    return {"sent": len(sent), "stored": len(ids), "missing": len(set(sent) - set(ids)),
            "unexpected": len(set(ids) - set(sent)), "duplicates": len(ids) - len(set(ids)),
            "hash_mismatch": sum(1 for i, h in sent.items() if hashes.get(i, h) != h), "staged_left": staged}


def _pg_sessions(db_url: str | None) -> int | None:
    """Connections PostgreSQL has accepted on this database so far (a pool that churns opens many)."""
    if not db_url:
        return None
    import psycopg

    with psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        return conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()").fetchone()[0]


def run_backend(backend: str, db_url: str | None, args) -> dict:
    """One backend end to end: service, kiosks, packages, baseline, timed ingest, verification."""
    import httpx

    scratch = scratch_dir(f"bench-ingest-{backend}-", args.scratch)
    data_dir = scratch / "central"
    try:
        with central_service(data_dir, db_url, args.workers) as server:
            sites = [f"Mairie de Bench {i:03d}" for i in range(max(1, args.kiosks // 2))]
            kiosks = enroll_kiosks(server.base_url, data_dir, db_url, args.kiosks, sites)
            template = template_dossier()
            per_kiosk = -(-args.dossiers // args.kiosks)
            warmup = {k.device_id: [build_package(k, template)] for k in kiosks}
            work = {k.device_id: [build_package(k, template) for _ in range(per_kiosk)] for k in kiosks}
            sent = {b.package.manifest["id"]: b.package.manifest["package_sha256"]
                    for packages in list(warmup.values()) + list(work.values()) for b in packages}
            dossier_mb = next(iter(work.values()))[0].wire_bytes / MB

            # Baseline: the same requests to a server that discards them, same client threads.
            with sink_server(args.workers, scratch) as sink:
                sinks = {k.device_id: httpx.Client(base_url=sink.base_url, timeout=120.0) for k in kiosks}

                def raw(kiosk: BenchKiosk, built: BuiltPackage) -> None:
                    _raw_transfer(sinks[kiosk.device_id], kiosk, built)

                _timed(kiosks, warmup, raw, {})
                baseline = _timed(kiosks, work, raw, {"client": None, "server": sink.pids})
                for client in sinks.values():
                    client.close()

            def upload(kiosk: BenchKiosk, built: BuiltPackage) -> None:
                kiosk.client.upload(built.package)

            cpu = {"client": None, "server": server.pids}
            if db_url:
                cpu["postgres"] = postgres_pids
            _timed(kiosks, warmup, upload, {})
            sessions = _pg_sessions(db_url)
            ingest = _timed(kiosks, work, upload, cpu)
            if sessions is not None:
                ingest["pg_connections_opened"] = _pg_sessions(db_url) - sessions - 1
            for k in kiosks:
                k.client.close()
        check = _verify(data_dir, db_url, sent)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    rate = ingest["dossiers_per_s"]
    return {
        "backend": backend, "kiosks": args.kiosks, "workers": args.workers, "dossier_mb": round(dossier_mb, 3),
        "ingest": ingest, "raw_http": baseline,
        "ratio_ingest_over_raw": round(rate / baseline["dossiers_per_s"], 2) if baseline["dossiers_per_s"] else None,
        "projected_25000_min": round(GOAL_DOSSIERS / rate / 60, 1) if rate else None,
        "goal_met": bool(rate) and GOAL_DOSSIERS / rate < GOAL_S,
        "check": check, "data_dir": str(scratch) if args.keep else None,
    }


def print_report(res: dict) -> None:
    i, b, c = res["ingest"], res["raw_http"], res["check"]
    print(f"[{res['backend']}] {i['dossiers']} dossiers of {res['dossier_mb']} MB from {res['kiosks']} kiosks, "
          f"{res['workers']} workers: {i['dossiers_per_s']} dossiers/s, {i['mb_per_s']} MB/s, "
          f"latency p50 {i['p50_ms']} ms p95 {i['p95_ms']} ms, errors {i['errors']}")
    print(f"    raw HTTP transfer of the same bytes: {b['dossiers_per_s']} dossiers/s, {b['mb_per_s']} MB/s "
          f"(p50 {b['p50_ms']} ms); ingest / raw = {res['ratio_ingest_over_raw']}")
    print(f"    25,000 dossiers in {res['projected_25000_min']} min (goal < {GOAL_S // 60} min: "
          f"{'met' if res['goal_met'] else 'MISSED'}); cores busy during ingest {i['cores']}, "
          f"during raw {b['cores']}")
    print(f"    CPU per dossier (ms) during ingest {i['cpu_ms_per_dossier']}, during raw {b['cpu_ms_per_dossier']}"
          + (f"; PostgreSQL connections opened {i['pg_connections_opened']}" if "pg_connections_opened" in i else ""))
    ok = c["missing"] == c["unexpected"] == c["duplicates"] == c["hash_mismatch"] == c["staged_left"] == 0
    print(f"    check: {c['stored']} stored / {c['sent']} sent, missing {c['missing']}, duplicates {c['duplicates']}, "
          f"hash mismatches {c['hash_mismatch']}, staged uploads left {c['staged_left']} -> {'OK' if ok else 'FAILED'}")
    if i["first_errors"]:
        print(f"    errors seen: {i['first_errors']}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kiosks", type=int, default=50, help="concurrent enrolled devices (default 50)")
    parser.add_argument("--dossiers", type=int, default=1000, help="timed dossiers per backend (default 1000)")
    parser.add_argument("--workers", type=int, default=2, help="server processes (default 2)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--quick", action="store_true", help="10 kiosks, 100 dossiers: a smoke run under a minute")
    parser.add_argument("--scratch", default="/tmp",
                        help="where the service's data directory goes (default /tmp, the real disk; /dev/shm "
                             "shows what fsync costs)")
    parser.add_argument("--keep", action="store_true", help="keep the data directories (printed)")
    args = parser.parse_args(argv)
    if args.quick:
        args.kiosks, args.dossiers = min(args.kiosks, 10), min(args.dossiers, 100)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    results = {}
    if "sqlite" in backends:
        results["sqlite"] = run_backend("sqlite", None, args)
        print_report(results["sqlite"])
    if "postgresql" in backends:
        with postgres() as admin_url:
            results["postgresql"] = run_backend("postgresql", fresh_database(admin_url, "bench_ingest"), args)
        print_report(results["postgresql"])
    return results


if __name__ == "__main__":
    print(json.dumps(main()))
