"""The outbox: dossiers sealed on the kiosk, durable when ``submit`` returns, waiting for sync.

Patterns of SQLite-backed queues (litequeue, persist-queue), hardened:

* one row per dossier keyed by its UUIDv7, inserted ``ON CONFLICT DO
  NOTHING``: submitting the same dossier twice can never make two copies;
* WAL with ``synchronous=FULL`` (``NORMAL`` may lose the last commits on a
  power cut);
* the sealed parts and a manifest are written durably (temporary name,
  fsync, rename, fsync the directory) *before* the row commits, so a row
  never points at a missing file;
* at the app's start, a blob directory with a complete manifest but no row
  (the process died between the files and the commit) is adopted rather
  than lost; at the sync worker's start, rows it left ``UPLOADING`` go
  back to ``QUEUED``.

A provisioned kiosk also signs the package's wire manifest (every part's
size and hash) with its device key at submit, so what the service later
verifies was fixed at capture time, and ``verify()`` notices a manifest
altered on the card since.

Only non-personal metadata is readable here: id, number, site, times,
sizes, hashes, flags, and the receipt's non-personal content for reprints.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import time
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, Callable

from nacl.public import PublicKey

from titres.dossier import Dossier
from titres.errors import DiskFull, QueueError
from titres.ids import dossier_number
from titres.durable import fsync_dir, make_dir_durably, write_durably
from titres.protocol import DeviceSigner, Package, build_manifest, canonical, package_sha256, verify_manifest
from kiosk.sync.seal import seal

SCHEMA = """
CREATE TABLE IF NOT EXISTS dossiers (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    state INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    site_id TEXT NOT NULL,
    kiosk_code TEXT NOT NULL,
    flags TEXT NOT NULL,
    manifest TEXT NOT NULL,
    receipt TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_try_at REAL NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    ack TEXT
);
CREATE INDEX IF NOT EXISTS dossiers_state ON dossiers(state, next_try_at);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class State(IntEnum):
    QUEUED = 0
    UPLOADING = 1
    ACKNOWLEDGED = 2
    PURGED = 3
    CORRUPT = 9  # a sealed part no longer matches its hash: kept aside, reported, never uploaded


@dataclass(frozen=True)
class QueuedDossier:
    id: str
    number: str
    state: State
    created_at: str
    flags: list[str]
    manifest: dict[str, Any]
    receipt: dict[str, Any]
    attempts: int
    last_error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "number": self.number, "state": self.state.name.lower(),
            "created_at": self.created_at, "flags": self.flags, "attempts": self.attempts,
            "last_error": self.last_error, "size": sum(p["size"] for p in self.manifest["parts"]),
            "package_sha256": package_sha256(self.manifest["parts"]),
        }


MANIFEST = "manifest.json"


class Outbox:
    def __init__(self, data_dir: Path, recipient: PublicKey, min_free_bytes: int = 0,
                 clock: Callable[[], float] = time.time, recover: bool = True,
                 signer: DeviceSigner | None = None):
        """``recover`` only in the process that submits (the app), at its start: a tool that
        merely reads the queue must never clean up under a running kiosk's feet.

        ``signer``: the enrolled device's key. Without it (``--simulate`` before
        provisioning) the manifest is signed when the package is uploaded or exported."""
        self.data_dir = Path(data_dir)
        self.blobs = self.data_dir / "blobs"
        self.recipient = recipient
        self.signer = signer
        self.min_free_bytes = min_free_bytes
        self._clock = clock
        self.damaged = self.data_dir / "damaged"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Durable on its own, not only because SQLite happens to fsync the data directory.
        make_dir_durably(self.blobs)
        self.db_path = self.data_dir / "queue.db"
        self._db = sqlite3.connect(self.db_path, isolation_level=None, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(dossiers)")}
        if "ack" not in columns:  # a queue made before acknowledgements were kept
            self._db.execute("ALTER TABLE dossiers ADD COLUMN ack TEXT")
        if recover:
            self.recover()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Outbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- space --------------------------------------------------------------------
    def free_bytes(self) -> int:
        return shutil.disk_usage(self.data_dir).free

    def accepting(self, expected_bytes: int = 0) -> bool:
        """False when a new dossier would eat into the reserve: stop taking sessions rather than lose one."""
        return self.free_bytes() - expected_bytes > self.min_free_bytes

    # -- submit -------------------------------------------------------------------
    def _allocate_number(self, kiosk_code: str) -> str:
        """Take the next counter value in its own transaction: a crash leaves a gap, never a duplicate."""
        cur = self._db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            cur.execute("INSERT INTO counters(name, value) VALUES ('dossier', 0) ON CONFLICT(name) DO NOTHING")
            value = cur.execute("UPDATE counters SET value = value + 1 WHERE name = 'dossier' RETURNING value").fetchone()[0]
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return dossier_number(kiosk_code, value)

    def submit(self, dossier: Dossier, receipt_for: Callable[[str], dict[str, Any]]) -> str:
        """Seal ``dossier`` into the queue; return its human number once everything is durable.

        ``receipt_for(number)`` gives the receipt's non-personal content, kept
        for reprints. Submitting a dossier id already queued returns its number
        and writes nothing.
        """
        existing = self.get(dossier.id)
        if existing is not None:
            return existing.number
        plain_parts = [("dossier.json", dossier.to_json())] + [
            (name, att.data) for name, att in sorted(dossier.attachments.items())
        ]
        expected = sum(len(p) for _, p in plain_parts) + 4096
        if not self.accepting(expected):
            raise DiskFull(f"{self.free_bytes()} bytes free, reserve {self.min_free_bytes}")
        try:
            number = dossier.number or self._allocate_number(dossier.kiosk_code)
            dossier.number = number
            plain_parts[0] = ("dossier.json", dossier.to_json())
            directory = self.blobs / dossier.id
            make_dir_durably(directory)
            parts = []
            for index, (_, data) in enumerate(plain_parts):
                blob = seal(data, self.recipient)
                name = f"p{index:03d}.sealed"
                write_durably(directory / name, blob)
                parts.append({"file": name, "size": len(blob), "sha256": hashlib.sha256(blob).hexdigest()})
            # Sealed like the parts: lets the service tell the citizen "captured" before the upload.
            stub = seal(canonical({"predemande_number": dossier.predemande_number}), self.recipient).hex()
            manifest = {
                "id": dossier.id, "number": number, "created_at": dossier.created_at, "status_stub": stub,
                "site_id": dossier.site_id, "kiosk_code": dossier.kiosk_code,
                "flags": sorted(set(dossier.flags)), "parts": parts,
                "content_sha256": hashlib.sha256(plain_parts[0][1]).hexdigest(),
                "receipt": receipt_for(number),
            }
            if self.signer is not None:
                wire = self._wire(manifest, self.signer.device_id)
                manifest["wire"], manifest["signature"] = wire, self.signer.sign(wire)
            write_durably(directory / MANIFEST, json.dumps(manifest, sort_keys=True).encode())
            self._insert(manifest)
        except OSError as exc:
            if exc.errno == 28:  # ENOSPC
                raise DiskFull(str(exc)) from exc
            raise QueueError(f"cannot write the dossier: {exc}") from exc
        except sqlite3.Error as exc:
            raise QueueError(f"cannot record the dossier: {exc}") from exc
        return number

    #: What the row keeps of the manifest file (the rest has columns of its own).
    _KEPT = ("parts", "content_sha256", "status_stub", "wire", "signature")

    @staticmethod
    def _wire(manifest: dict[str, Any], device_id: str) -> dict[str, Any]:
        return build_manifest(dossier_id=manifest["id"], number=manifest["number"], created_at=manifest["created_at"],
                              site_id=manifest["site_id"], kiosk_code=manifest["kiosk_code"], device_id=device_id,
                              flags=manifest["flags"], parts=manifest["parts"],
                              status_stub=manifest.get("status_stub", ""))

    def _insert(self, manifest: dict[str, Any]) -> None:
        now = self._clock()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(
                "INSERT INTO dossiers(id, number, state, created_at, site_id, kiosk_code, flags, manifest, receipt, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
                (manifest["id"], manifest["number"], int(State.QUEUED), manifest["created_at"], manifest["site_id"],
                 manifest["kiosk_code"], json.dumps(manifest["flags"]), json.dumps({k: manifest[k] for k in self._KEPT if k in manifest}),
                 json.dumps(manifest["receipt"], ensure_ascii=False), now),
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # -- recovery and integrity ---------------------------------------------------
    def recover(self) -> dict[str, int]:
        """Adopt complete orphans and clear half-written files, at the app's start.

        Rows left ``UPLOADING`` are not touched: they belong to the sync
        process, which may be uploading right now and puts its own
        interrupted uploads back in line when it starts (``requeue_interrupted``)."""
        report = {"adopted": 0, "discarded": 0, "set_aside": 0}
        known = {row[0] for row in self._db.execute("SELECT id FROM dossiers")}
        for directory in sorted(p for p in self.blobs.iterdir() if p.is_dir()):
            for tmp in directory.glob(".*.tmp"):
                tmp.unlink()
            if directory.name in known:
                continue
            manifest_file = directory / MANIFEST
            try:
                manifest = json.loads(manifest_file.read_bytes()) if manifest_file.exists() else None
                if manifest is not None and not all(
                        isinstance(p, dict) and isinstance(p.get("file"), str) and isinstance(p.get("sha256"), str)
                        for p in manifest["parts"]):
                    raise ValueError("malformed part list")
            except (ValueError, AttributeError, KeyError, TypeError):
                # The write order never leaves a bad manifest under its final name: the card is damaged.
                # Kept aside for a technician (and named in the heartbeat), never deleted, never a reason
                # for the kiosk not to start.
                self._set_aside_orphan(directory)
                report["set_aside"] += 1
                continue
            if manifest and self._parts_intact(directory, manifest["parts"]):
                self._insert(manifest)
                report["adopted"] += 1
            else:
                shutil.rmtree(directory)
                fsync_dir(self.blobs)
                report["discarded"] += 1
        return report

    def _set_aside_orphan(self, directory: Path) -> None:
        make_dir_durably(self.damaged)
        directory.rename(self.damaged / directory.name)
        fsync_dir(self.damaged)
        fsync_dir(self.blobs)

    def damaged_orphans(self) -> list[str]:
        """Blob directories set aside at recovery because their manifest could not be read."""
        return sorted(p.name for p in self.damaged.iterdir()) if self.damaged.exists() else []

    @staticmethod
    def _parts_intact(directory: Path, parts: list[dict[str, Any]]) -> bool:
        for part in parts:
            path = directory / part["file"]
            if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != part["sha256"]:
                return False
        return True

    def verify(self) -> list[str]:
        """Check every waiting dossier's parts and signed manifest; mark failures CORRUPT (kept aside),
        return their ids."""
        return [q.id for q in self.list(states=(State.QUEUED, State.UPLOADING)) if self.set_aside_if_damaged(q)]

    def set_aside_if_damaged(self, q: QueuedDossier) -> str:
        """Mark ``q`` CORRUPT if its files or signed manifest no longer match; return the problem, or ""."""
        problem = self._damage(q)
        if problem:
            self._db.execute("UPDATE dossiers SET state = ?, last_error = ?, updated_at = ? WHERE id = ?",
                             (int(State.CORRUPT), problem, self._clock(), q.id))
        return problem

    def _damage(self, q: QueuedDossier) -> str:
        if not self._parts_intact(self.blobs / q.id, q.manifest["parts"]):
            return "sealed part does not match its hash"
        wire = q.manifest.get("wire")
        if wire is None:
            return ""
        row = self._db.execute("SELECT site_id, kiosk_code FROM dossiers WHERE id = ?", (q.id,)).fetchone()
        expected = self._wire({**q.manifest, "id": q.id, "number": q.number, "created_at": q.created_at,
                               "site_id": row[0], "kiosk_code": row[1], "flags": q.flags}, wire.get("device_id", ""))
        if wire != expected:
            return "signed manifest does not match the queued dossier"
        if self.signer is not None and wire["device_id"] == self.signer.device_id:
            try:
                verify_manifest(wire, q.manifest["signature"], self.signer.key.verify_key)
            except ValueError:
                return "manifest signature does not verify"
        return ""

    # -- reading ------------------------------------------------------------------
    def _row(self, row) -> QueuedDossier:
        return QueuedDossier(
            id=row[0], number=row[1], state=State(row[2]), created_at=row[3], flags=json.loads(row[4]),
            manifest=json.loads(row[5]), receipt=json.loads(row[6]), attempts=row[7], last_error=row[8],
        )

    _COLUMNS = "id, number, state, created_at, flags, manifest, receipt, attempts, last_error"

    def get(self, dossier_id: str) -> QueuedDossier | None:
        row = self._db.execute(f"SELECT {self._COLUMNS} FROM dossiers WHERE id = ?", (dossier_id,)).fetchone()
        return self._row(row) if row else None

    def by_number(self, number: str) -> QueuedDossier | None:
        row = self._db.execute(f"SELECT {self._COLUMNS} FROM dossiers WHERE number = ?", (number,)).fetchone()
        return self._row(row) if row else None

    def list(self, states: tuple[State, ...] | None = None, limit: int | None = None) -> list[QueuedDossier]:
        """Oldest first; every row unless ``limit`` (a listing that silently stopped would hide dossiers)."""
        where = f"WHERE state IN ({','.join('?' * len(states))})" if states else ""
        rows = self._db.execute(f"SELECT {self._COLUMNS} FROM dossiers {where} ORDER BY id LIMIT ?",
                                (*[int(s) for s in states or ()], -1 if limit is None else limit))
        return [self._row(r) for r in rows]

    def recent(self, limit: int = 10) -> list[QueuedDossier]:
        """The newest dossiers first, whatever their state (the maintenance screen's reprint list)."""
        rows = self._db.execute(f"SELECT {self._COLUMNS} FROM dossiers ORDER BY id DESC LIMIT ?", (limit,))
        return [self._row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        out = {s.name.lower(): 0 for s in State}
        for state, n in self._db.execute("SELECT state, COUNT(*) FROM dossiers GROUP BY state"):
            out[State(state).name.lower()] = n
        return out

    # -- sync ---------------------------------------------------------------------
    def claim_next(self) -> QueuedDossier | None:
        """Take the oldest dossier due for upload, marking it UPLOADING in one statement."""
        now = self._clock()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            row = self._db.execute(
                "UPDATE dossiers SET state = ?, updated_at = ? WHERE id = ("
                " SELECT id FROM dossiers WHERE state = ? AND next_try_at <= ? ORDER BY id LIMIT 1) RETURNING id",
                (int(State.UPLOADING), now, int(State.QUEUED), now)).fetchone()
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return self.get(row[0]) if row else None

    def acknowledge(self, dossier_id: str, ack: dict[str, Any]) -> None:
        """Keep the service's signed acknowledgement; only then may the sealed copy be purged."""
        self._db.execute(
            "UPDATE dossiers SET state = ?, ack = ?, last_error = NULL, updated_at = ? WHERE id = ? AND state IN (?, ?)",
            (int(State.ACKNOWLEDGED), json.dumps(ack, sort_keys=True), self._clock(), dossier_id,
             int(State.QUEUED), int(State.UPLOADING)))

    def release(self, dossier_id: str, error: str, retry_in_s: float) -> None:
        """An upload failed: back in line, with the error and the time of the next try."""
        now = self._clock()
        self._db.execute(
            "UPDATE dossiers SET state = ?, attempts = attempts + 1, last_error = ?, next_try_at = ?, updated_at = ?"
            " WHERE id = ? AND state = ?",
            (int(State.QUEUED), error[:500], now + retry_in_s, now, dossier_id, int(State.UPLOADING)))

    def requeue_interrupted(self) -> int:
        return self._db.execute("UPDATE dossiers SET state = ? WHERE state = ?",
                                (int(State.QUEUED), int(State.UPLOADING))).rowcount

    def retry_now(self) -> int:
        """Make every waiting dossier due at once (after a technician fixed the network)."""
        return self._db.execute("UPDATE dossiers SET next_try_at = 0 WHERE state = ?", (int(State.QUEUED),)).rowcount

    def purge(self, retention_s: float) -> int:
        """Delete the sealed copies of dossiers acknowledged longer ago than ``retention_s``."""
        limit = self._clock() - retention_s
        ids = [r[0] for r in self._db.execute("SELECT id FROM dossiers WHERE state = ? AND updated_at < ?",
                                              (int(State.ACKNOWLEDGED), limit))]
        for dossier_id in ids:
            directory = self.blobs / dossier_id
            if directory.exists():
                shutil.rmtree(directory)
                fsync_dir(self.blobs)
            self._db.execute("UPDATE dossiers SET state = ?, updated_at = ? WHERE id = ?",
                             (int(State.PURGED), self._clock(), dossier_id))
        return len(ids)

    def oldest_waiting_age_s(self) -> float:
        row = self._db.execute("SELECT MIN(created_at) FROM dossiers WHERE state IN (?, ?)",
                               (int(State.QUEUED), int(State.UPLOADING))).fetchone()
        if not row or not row[0]:
            return 0.0
        from datetime import datetime

        return max(0.0, self._clock() - datetime.fromisoformat(row[0]).timestamp())

    def waiting_stubs(self, limit: int = 200) -> list[dict[str, str]]:
        """Numbers and sealed status stubs of dossiers not yet delivered (for the heartbeat)."""
        return [{"id": q.id, "number": q.number, "status_stub": q.manifest.get("status_stub", "")}
                for q in self.list(states=(State.QUEUED, State.UPLOADING), limit=limit) if q.manifest.get("status_stub")]

    def package(self, dossier_id: str, device_id: str) -> Package:
        """The wire package of a queued dossier (``titres.protocol``), parts read on demand.

        It carries the signature made at submit when that manifest is exactly
        the one rebuilt from the row for ``device_id``; otherwise (queued
        before provisioning, or the kiosk was enrolled anew since) the
        uploader signs it with the current key."""
        q = self.get(dossier_id)
        if q is None:
            raise QueueError(f"no dossier {dossier_id}")
        row = self._db.execute("SELECT site_id, kiosk_code FROM dossiers WHERE id = ?", (dossier_id,)).fetchone()
        manifest = self._wire({**q.manifest, "id": q.id, "number": q.number, "created_at": q.created_at,
                               "site_id": row[0], "kiosk_code": row[1], "flags": q.flags}, device_id)
        signature = q.manifest.get("signature") if q.manifest.get("wire") == manifest else None
        directory = self.blobs / dossier_id
        return Package(manifest, [lambda f=p["file"]: (directory / f).read_bytes() for p in q.manifest["parts"]],
                       signature)

    def sealed_parts(self, dossier_id: str) -> list[bytes]:
        q = self.get(dossier_id)
        if q is None:
            raise QueueError(f"no dossier {dossier_id}")
        return [(self.blobs / dossier_id / p["file"]).read_bytes() for p in q.manifest["parts"]]
