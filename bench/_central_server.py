"""What ``bench_ingest.py`` and ``bench_console.py`` share: the real central service run as a subprocess.

The benchmarks time the service as it is deployed (``kiosk-central serve``
with its uvicorn workers, a real SQLite file or a real PostgreSQL with fsync
on), driven over loopback HTTP by the kiosk's own client code. This module
starts and stops those processes, makes a fresh database per run, enrolls
kiosks the way a technician does (a one-time token, then ``POST /enroll``),
and builds realistic sealed packages from the kiosk's own dossier model.

It also holds the baseline servers, bare Starlette apps served by the same
uvicorn with the same number of workers: ``sink_app`` reads each request's
body and throws it away (its throughput is "raw HTTP transfer" on this
machine), and ``store_app`` stores each body durably the way any upload
service would (temporary file, fsync, rename, fsync the directory), so a
figure can be compared with plain transfer and with plain durable storage.

Nothing here is imported by the service or the kiosk: bench code only.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

if TYPE_CHECKING:
    from titres.dossier import Dossier

#: Where the benchmarks' own PostgreSQL lives: apart from the tests' one (port 54329, fsync off).
PG_ENV = {"KIOSK_PG_FSYNC": "on", "KIOSK_PG_DIR": "/tmp/kiosk-pg-bench", "KIOSK_PG_PORT": "54330"}


# -- the baseline server ---------------------------------------------------------------
def _sink_app():
    """A Starlette app that reads every body whole, as the service's ``_body`` does, and discards it."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def discard(request):
        await request.body()
        return JSONResponse({})

    return Starlette(routes=[Route("/{path:path}", discard, methods=["GET", "PUT", "POST"])])


def sink_app():
    """uvicorn factory (``_central_server:sink_app``): each worker builds its own."""
    return _sink_app()


#: Where ``store_app`` keeps bodies; set by ``store_server`` for the process it starts.
STORE_DIR_ENV = "BENCH_STORE_DIR"


def _store_durably(root: Path, path: str, body: bytes) -> None:
    """What a plain storage upload does: temporary file, fsync, rename, fsync the directory."""
    from titres.durable import write_durably

    target = root.joinpath(*[p for p in path.split("/") if p not in ("", ".", "..")])
    target.parent.mkdir(parents=True, exist_ok=True)
    write_durably(target, body, concurrent=True)


def _store_app(root: Path):
    """A Starlette app that reads every body whole and stores it durably under its path, off the event loop."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def store(request):
        body = await request.body()
        if request.method == "PUT":
            await run_in_threadpool(_store_durably, root, request.url.path, body)
        return JSONResponse({})

    return Starlette(routes=[Route("/{path:path}", store, methods=["GET", "PUT", "POST"])])


def store_app():
    """uvicorn factory (``_central_server:store_app``): the directory comes from ``store_server``."""
    return _store_app(Path(os.environ[STORE_DIR_ENV]))


# -- processes -------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=2.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no answer from {url} after {timeout_s} s")


@dataclass
class Server:
    """A server process we started; ``stop`` ends it (and its workers) by its own process group."""

    proc: subprocess.Popen
    base_url: str
    log: Path

    def pids(self) -> list[int]:
        return process_tree(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # uvicorn's supervisor stops its workers on SIGTERM
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the group we made with start_new_session
                self.proc.wait()


def _spawn(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    out = open(log, "ab")
    try:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True,
                                env={**os.environ, **(env or {})})
    finally:
        out.close()


@contextmanager
def central_service(data_dir: Path, db_url: str | None, workers: int) -> Iterator[Server]:
    """``kiosk-central serve`` on a free port, answering ``/healthz``, stopped on exit."""
    port = free_port()
    argv = [str(BIN / "kiosk-central"), "serve", "--port", str(port), "--data-dir", str(data_dir),
            "--workers", str(workers)] + (["--db", db_url] if db_url else [])
    log = data_dir.parent / f"serve-{port}.log"
    # Plain HTTP on loopback: the console's cookies must not be Secure-only here.
    server = Server(_spawn(argv, log, {"KIOSK_CENTRAL_SECURE_COOKIES": "0"}), f"http://127.0.0.1:{port}", log)
    try:
        _wait_http(server.base_url + "/healthz", server.proc)
        yield server
    finally:
        server.stop()


@contextmanager
def sink_server(workers: int, log_dir: Path) -> Iterator[Server]:
    """The baseline: ``sink_app`` run by the service's own runner, with its worker count, settings and socket."""
    port = free_port()
    argv = [str(BIN / "python"), str(Path(__file__).resolve()), "sink", "--port", str(port), "--workers", str(workers)]
    log = log_dir / f"sink-{port}.log"
    server = Server(_spawn(argv, log), f"http://127.0.0.1:{port}", log)
    try:
        _wait_http(server.base_url + "/ping", server.proc)
        yield server
    finally:
        server.stop()


@contextmanager
def store_server(workers: int, log_dir: Path, store_dir: Path) -> Iterator[Server]:
    """The durable-upload baseline: ``store_app`` writing into ``store_dir``, run like ``sink_server``."""
    port = free_port()
    store_dir.mkdir(parents=True, exist_ok=True)
    argv = [str(BIN / "python"), str(Path(__file__).resolve()), "store", "--port", str(port), "--workers", str(workers)]
    log = log_dir / f"store-{port}.log"
    server = Server(_spawn(argv, log, {STORE_DIR_ENV: str(store_dir)}), f"http://127.0.0.1:{port}", log)
    try:
        _wait_http(server.base_url + "/ping", server.proc)
        yield server
    finally:
        server.stop()


def _main(argv: list[str] | None = None) -> int:
    """``sink`` or ``store``: serve a baseline app through ``central.server.run_app`` (TCP_NODELAY with several
    workers)."""
    import argparse

    from central.server import run_app

    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["sink", "store"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    run_app(f"_central_server:{args.command}_app", "127.0.0.1", args.port, args.workers)
    return 0


# -- PostgreSQL ------------------------------------------------------------------------
@contextmanager
def postgres() -> Iterator[str]:
    """The benchmarks' PostgreSQL (fsync on, its own directory and port); yields the admin URL, stops it after."""
    env = {**os.environ, **PG_ENV}
    out = subprocess.run([str(REPO / "scripts" / "postgres"), "start"], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"scripts/postgres start failed: {out.stderr.strip()}")
    url = out.stdout.strip().split("=", 1)[1]
    try:
        yield url
    finally:
        subprocess.run([str(REPO / "scripts" / "postgres"), "stop"], env=env, capture_output=True)


def postgres_pids() -> list[int]:
    """The postmaster and its backends (to count the database's share of the CPU)."""
    try:
        pid = int((Path(PG_ENV["KIOSK_PG_DIR"]) / "data" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    return process_tree(pid)


def fresh_database(admin_url: str, prefix: str) -> str:
    """CREATE DATABASE with a unique name; return its URL (the schema is made by the service's migrations)."""
    import psycopg

    name = f"{prefix}_{int(time.time() * 1000)}"
    with psycopg.connect(admin_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


# -- CPU accounting --------------------------------------------------------------------
def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes, with their reaped children's."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / tick


# -- kiosks and dossiers ---------------------------------------------------------------
@dataclass
class BenchKiosk:
    """One enrolled device: its own key, its own HTTP connection, its own number counter."""

    device_id: str
    site_id: str
    kiosk_code: str
    client: object  # kiosk.sync.client.CentralClient
    sealing_public_key: str
    counter: int = 0


def make_tokens(data_dir: Path, db_url: str | None, sites: list[str]) -> list[str]:
    """One enrollment token per entry of ``sites``, made as ``kiosk-central token create`` does, in one process."""
    from central.config import load_config
    from central.context import build_services
    from central.enrollment import create_token, site_by_name
    from central.sites import create_site

    services = build_services(load_config(env={}, data_dir=str(data_dir), db_url=db_url))
    try:
        with services.db() as db, db.begin():  # tokens are made only for existing mairies
            for name in dict.fromkeys(sites):
                if site_by_name(db, name) is None:
                    create_site(db, actor="bench", role="cli", name=name)
        return [create_token(services, site, created_by="bench") for site in sites]
    finally:
        services.close()


def enroll_kiosks(base_url: str, data_dir: Path, db_url: str | None, count: int, sites: list[str],
                  timeout_s: float = 120.0) -> list[BenchKiosk]:
    """``count`` kiosks spread over ``sites``, each enrolled over HTTP with its own Ed25519 key."""
    import httpx
    from nacl.signing import SigningKey, VerifyKey

    from kiosk.sync.client import CentralClient

    tokens = make_tokens(data_dir, db_url, [sites[i % len(sites)] for i in range(count)])
    kiosks = []
    for token in tokens:
        key = SigningKey.generate()
        client = CentralClient(httpx.Client(base_url=base_url, timeout=timeout_s))
        answer = client.enroll(token, bytes(key.verify_key).hex(), "bench-kiosk", "bench")
        client.device_id, client.key = answer["device_id"], key
        client.service_key = VerifyKey(bytes.fromhex(answer["verify_key"]))
        kiosks.append(BenchKiosk(answer["device_id"], answer["site"]["id"], answer["kiosk_code"], client,
                                 answer["sealing_public_key"]))
    return kiosks


def template_dossier() -> dict:
    """A dossier's JSON form as the kiosk's own session makes it (adult, loss of a CNI).

    Driven through :class:`kiosk.core.session.Session`: ``bench_scenario``'s bare
    session (:mod:`_session`), so the shape (case, checklist, documents, stamps, fingers,
    attachments) is the kiosk's and follows it when the model changes: 4
    document photos, 2 fingerprints with their templates, a signature.
    """
    from _session import consented_session, session_inputs

    return consented_session(*session_inputs(), lambda: datetime.now(timezone.utc)).submit().to_dict()


#: Attachment sizes (plaintext bytes) by name prefix: a ~1.5 MB dossier.
SIZES = {"documents/": 335_000, "fingerprints/": 70_000, "signature": 20_000}
TEMPLATE_BYTES = 512  # an R307 template (kiosk/hal/sim/fingerprint.py)


def attachment_size(name: str) -> int:
    if name.endswith(".tpl"):
        return TEMPLATE_BYTES
    return next(size for prefix, size in SIZES.items() if name.startswith(prefix))


def new_dossier(template: dict, site_id: str, kiosk_code: str, number: str | None = None,
                size: Callable[[str], int] = attachment_size,
                payload: Callable[[str], bytes] | None = None) -> Dossier:
    """A fresh :class:`titres.dossier.Dossier` from ``template`` (new UUIDv7, now), as a session hands it over.

    Attachments are random bytes of ``size(name)`` (or ``payload(name)``);
    ``number`` None leaves the number to the outbox, as on a kiosk.
    """
    from titres.dossier import Dossier
    from titres.ids import uuid7

    d = Dossier.from_json(json.dumps(template))
    d.id, d.number = str(uuid7()), number
    d.site_id, d.kiosk_code = site_id, kiosk_code
    d.created_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for name, att in list(d.attachments.items()):
        d.attach(name, att.media_type, payload(name) if payload else os.urandom(size(name)))
    return d


@dataclass
class BuiltPackage:
    package: object  # titres.protocol.Package, parts already sealed in memory
    sealed: list[bytes]
    wire_bytes: int


def build_package(kiosk: BenchKiosk, template: dict, person: dict | None = None,
                  payload: Callable[[str], bytes] | None = None) -> BuiltPackage:
    """One dossier of ``kiosk``, sealed to the service as the kiosk's outbox seals it.

    Attachments are fresh random bytes (sealing makes them incompressible on
    the wire anyway); part 0 is the dossier JSON whose ``attachments`` list
    each plaintext's name, media type, SHA-256 and size, which is what the
    service checks at commit. ``payload(name)`` gives other plaintext (real
    images, for pages that show them).
    """
    from titres.ids import dossier_number
    from titres.protocol import Package
    from titres.protocol import build_manifest, canonical
    from kiosk.sync.seal import recipient_key, seal

    kiosk.counter += 1
    d = new_dossier(template, kiosk.site_id, kiosk.kiosk_code, dossier_number(kiosk.kiosk_code, kiosk.counter),
                    payload=payload)
    if person and d.predemande:
        d.predemande = {**d.predemande, "person": {**d.predemande["person"], **person}}
    recipient = recipient_key(kiosk.sealing_public_key)
    plain = [d.to_json()] + [bytes(att.data) for _, att in sorted(d.attachments.items())]
    sealed = [seal(p, recipient) for p in plain]
    parts = [{"size": len(b), "sha256": hashlib.sha256(b).hexdigest()} for b in sealed]
    stub = seal(canonical({"predemande_number": d.predemande_number}), recipient).hex()
    manifest = build_manifest(dossier_id=d.id, number=d.number, created_at=d.created_at, site_id=d.site_id,
                              kiosk_code=d.kiosk_code, device_id=kiosk.device_id, flags=d.flags, parts=parts,
                              status_stub=stub)
    package = Package(manifest, [lambda b=b: b for b in sealed])
    return BuiltPackage(package, sealed, sum(len(b) for b in sealed))


def scratch_dir(prefix: str, parent: str = "/tmp") -> Path:
    """A new directory for one run's data (blobs, SQLite file, logs), on the disk under test."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


if __name__ == "__main__":
    sys.exit(_main())
