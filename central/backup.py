"""Backing the service up while it runs, and restoring it elsewhere: ``kiosk-central backup`` / ``restore``.

A backup is a directory that is the service's user's alone (0700, files 0600):

- ``database.sqlite.sealed`` (SQLite's online backup API) or
  ``database.pgdump.sealed`` (``pg_dump --format=custom``): one consistent
  snapshot, taken while the service goes on receiving dossiers, sealed to
  the service's own key as it is written (``central.sealedfile``): the
  database holds names, birth dates and pré-demandes in clear;
- ``blobs/``: the sealed parts of every dossier in that snapshot (and of the
  uploads in progress, as far as they came), copied from the blob store and
  checked against their hashes (the kiosks sealed them to the same key);
- ``keys/`` only with ``--with-keys``. Kept apart (offline, as
  docs/central.md advises), the key makes a stolen backup worthless: it
  reveals nothing, neither documents nor identities;
- ``backup.json``, written last: what the backup holds, each file's SHA-256,
  and the public halves of the service's keys. A directory without it is an
  unfinished backup and is never restored.

Why the snapshot comes first: parts reach the blob store before their
dossier's row is committed, and dossiers are never deleted, so every part a
snapshot names is in the store when the copy starts. On PostgreSQL the list
of parts is read in the very snapshot ``pg_dump`` exports (``--snapshot``).

``restore`` checks every file against ``backup.json`` before it writes
anything, only into a service that has no database yet, and with keys that
match the backup's; the parts go first and the database last, so an
interrupted restore is simply run again. The schema is then migrated, so an
older backup opens in a newer version.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from nacl.public import PublicKey

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from central import __version__, sealedfile
from central.blobstore import BlobMissing, BlobStore, create_blobstore
from central.config import CentralConfig
from central.datadir import make_private
from central.ingest import part_key
from central.keys import load_keys
from titres.protocol import sha256_hex
from titres.durable import fsync_dir, write_durably

FORMAT = 1
MANIFEST = "backup.json"
KEY_FILES = ("sealing.key", "signing.key")


class BackupRefused(Exception):
    """The backup or the restore cannot be done as asked; the message (French, then English) says why."""


@dataclass(frozen=True)
class Summary:
    dossiers: int
    parts: int
    bytes: int

    def __str__(self) -> str:
        return f"{self.dossiers} dossiers, {self.parts} parts, {self.bytes} bytes"


def _refused(french: str, english: str) -> BackupRefused:
    return BackupRefused(f"{french}\n{english}")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write(root: Path, name: str, data: bytes) -> dict[str, Any]:
    """``root/name`` written durably, each folder it needs made durably too (a backup survives a power cut); its
    entry in ``backup.json``."""
    path = root / name
    for folder in reversed([p for p in path.parents if p != root and root in p.parents and not p.exists()]):
        folder.mkdir(mode=0o700)
        fsync_dir(folder.parent)
    write_durably(path, data)
    path.chmod(0o600)  # whatever the caller's umask: the folder is 0700 already
    return {"sha256": sha256_hex(data), "size": len(data)}


def _engine(url: str) -> str:
    """``sqlite`` or ``postgresql``: a backup restores into the engine it came from."""
    return "sqlite" if url.startswith("sqlite") else "postgresql"


# -- PostgreSQL's tools, without a password on their command line -------------------------------------------

def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    if versions:
        return str(versions[-1])
    raise _refused(f"{name} est introuvable : installez le client PostgreSQL (apt install postgresql-client).",
                   f"{name} was not found: install PostgreSQL's client (apt install postgresql-client).")


def _pg_args(url: URL) -> tuple[list[str], dict[str, str]]:
    """libpq's options for a SQLAlchemy URL; the password goes in the environment (argv is public in ps)."""
    args, env = [], dict(os.environ)
    host = url.host or url.query.get("host")
    if host:
        args += ["--host", str(host)]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args + ["--dbname", str(url.database)], env


@contextmanager
def _pg(tool: str, args: list[str], env: dict[str, str], **pipe) -> Iterator[subprocess.Popen]:
    """A PostgreSQL tool whose standard input or output the block streams; a failure is raised in its own words."""
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen([_pg_tool(tool), *args], env=env, stderr=errors, **pipe)
        try:
            yield proc
        finally:
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
            code = proc.wait()
        if code != 0:
            errors.seek(0)
            raise RuntimeError(f"{tool} failed ({code}): {errors.read().decode(errors='replace').strip()[-2000:]}")


# -- backup -------------------------------------------------------------------------------------------------

#: What the snapshot holds that has parts in the blob store: (id, manifest, stored) of the dossiers (stored: every
#: part must be there) and of the uploads in progress (their parts as far as they came).
_DATABASE = {"sqlite": "database.sqlite.sealed", "postgresql": "database.pgdump.sealed"}
_LISTED = "SELECT id, manifest, 1 FROM dossiers UNION ALL SELECT dossier_id, manifest, 0 FROM uploads"
Listed = list[tuple[str, dict, bool]]

def _snapshot_sqlite(db_url: str, out: BinaryIO, public_key: PublicKey) -> tuple[Listed, str]:
    """The whole database in one step of the online backup API (a consistent snapshot beside the writers), into
    memory, then sealed: its plaintext never touches the backup's disk. (SQLite serves small deployments: the
    database is tens of megabytes, the documents being in the blob store.)"""
    source = sqlite3.connect(f"file:{make_url(db_url).database}?mode=rw", uri=True, timeout=60)  # never made here
    memory = sqlite3.connect(":memory:")
    try:
        source.backup(memory)  # pages=-1: one step, under one read transaction
    finally:
        source.close()
    try:
        rows = memory.execute(_LISTED).fetchall()
        revision = memory.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        image = memory.serialize()
    finally:
        memory.close()
    sealedfile.seal([image], public_key, out)
    return [(r[0], json.loads(r[1]), bool(r[2])) for r in rows], revision


def _snapshot_postgres(db_url: str, out: BinaryIO, public_key: PublicKey) -> tuple[Listed, str]:
    """``pg_dump`` of the snapshot in which the parts are listed (``pg_export_snapshot``), sealed as it streams."""
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                rows = conn.execute(text(_LISTED)).all()
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
                args, env = _pg_args(make_url(db_url))
                # The exported snapshot lives as long as this transaction: pg_dump runs inside it.
                with _pg("pg_dump", ["--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                                     *args], env, stdout=subprocess.PIPE) as dump:
                    sealedfile.seal(iter(lambda: dump.stdout.read(sealedfile.CHUNK), b""), public_key, out)
    finally:
        engine.dispose()
    return [(r[0], r[1] if isinstance(r[1], dict) else json.loads(r[1]), bool(r[2])) for r in rows], revision


def _parts(rows: Listed) -> Iterator[tuple[str, dict, bool]]:
    """(key, part, required) for every part the snapshot names: a dossier's are required, an upload's are not
    (a kiosk sends again what did not come)."""
    for dossier_id, manifest, stored in rows:
        for index, part in enumerate(manifest["parts"]):
            yield part_key(dossier_id, index, part["sha256"]), part, stored


def backup(config: CentralConfig, dest: Path, with_keys: bool = False, blobs: BlobStore | None = None) -> Summary:
    """Back the service up into ``dest`` (a new or empty directory) while it runs, reading its parts from ``blobs``
    (by default the store ``config`` names)."""
    if dest.exists() and any(dest.iterdir()):
        raise _refused(f"{dest} n'est pas vide : une sauvegarde va dans un dossier nouveau ou vide.",
                       f"{dest} is not empty: a backup goes into a new or empty directory.")
    engine = _engine(config.database_url)
    if engine == "sqlite" and not Path(make_url(config.database_url).database).is_file() \
            or not (config.keys_dir / "sealing.key").is_file():
        raise _refused(f"Aucun service dans {config.data_dir} (ni base ni clés) : vérifiez --data-dir et --db.",
                       f"No service in {config.data_dir} (no database, no keys): check --data-dir and --db.")
    make_private(config.data_dir)  # a service whose files others can read is refused here too
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    dest.chmod(0o700)
    keys = load_keys(config.keys_dir)
    blobs = blobs or create_blobstore(config)
    database = dest / _DATABASE[engine]
    snapshot = _snapshot_sqlite if engine == "sqlite" else _snapshot_postgres
    with open(database, "wb") as out:
        database.chmod(0o600)
        rows, revision = snapshot(config.database_url, out, keys.sealing.public_key)
        out.flush()
        os.fsync(out.fileno())
    files = {database.name: {"sha256": _sha256_file(database), "size": database.stat().st_size}}
    dossiers = sum(1 for _, _, stored in rows if stored)
    missing, copied, total = [], 0, 0
    for key, part, required in _parts(rows):
        try:
            data = blobs.get(key)
        except BlobMissing:
            if required:
                missing.append(key)
            continue
        if sha256_hex(data) != part["sha256"]:
            if required:
                missing.append(key)
            continue
        files[f"blobs/{key}"] = _write(dest, f"blobs/{key}", data)
        copied, total = copied + 1, total + len(data)
    if missing:
        raise RuntimeError(f"{len(missing)} parts of stored dossiers are missing or damaged in the blob store, "
                           f"for example {missing[0]}: the backup is not complete (no {MANIFEST} written)")
    if with_keys:
        for name in KEY_FILES:
            files[f"keys/{name}"] = _write(dest, f"keys/{name}", (config.keys_dir / name).read_bytes())
    manifest = {"format": FORMAT, "service_version": __version__, "schema_revision": revision, "engine": engine,
                "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "dossiers": dossiers, "with_keys": with_keys,
                "keys": {"sealing_public": keys.sealing_public_hex, "verify": keys.verify_hex},
                "files": files}
    _write(dest, MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
    return Summary(dossiers, copied, total)


# -- restore ------------------------------------------------------------------------------------------------

def read_manifest(source: Path) -> dict[str, Any]:
    """The backup's manifest, after every file it lists was found whole (nothing is written before this)."""
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except FileNotFoundError:
        raise _refused(f"{source} n'est pas une sauvegarde terminée ({MANIFEST} manque).",
                       f"{source} is not a finished backup ({MANIFEST} is missing).") from None
    except ValueError:
        raise _refused(f"{source / MANIFEST} est illisible.", f"{source / MANIFEST} cannot be read.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _refused(f"{source} est une sauvegarde d'un format inconnu.", f"{source} is a backup of an unknown "
                       f"format ({manifest.get('format') if isinstance(manifest, dict) else '?'}).")
    for name, expected in manifest["files"].items():
        path = source / name
        if ".." in Path(name).parts or not path.is_file() or path.stat().st_size != expected["size"] \
                or _sha256_file(path) != expected["sha256"]:
            raise _refused(f"La sauvegarde est abîmée : {name} manque ou a changé. Rien n'a été restauré.",
                           f"The backup is damaged: {name} is missing or changed. Nothing was restored.")
    return manifest


def _has_database(config: CentralConfig) -> bool:
    if _engine(config.database_url) == "sqlite":
        path = Path(make_url(config.database_url).database)
        return path.exists() and path.stat().st_size > 0
    engine = create_engine(config.database_url)
    try:
        return bool(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _install_keys(config: CentralConfig, source: Path, manifest: dict[str, Any]) -> None:
    """The target's keys must be the backup's: without them no part it holds can be opened."""
    expected = manifest["keys"]["sealing_public"]
    if (config.keys_dir / "sealing.key").exists():
        if load_keys(config.keys_dir).sealing_public_hex != expected:
            raise _refused(f"Les clés de {config.keys_dir} ne sont pas celles de la sauvegarde : ses dossiers ne "
                           "pourraient pas être ouverts. Rien n'a été restauré.",
                           f"The keys in {config.keys_dir} are not the backup's: its dossiers could not be "
                           "opened. Nothing was restored.")
        return
    if not manifest["with_keys"]:
        raise _refused(f"La sauvegarde ne contient pas les clés du service (c'est voulu) : copiez sealing.key et "
                       f"signing.key de leur copie hors ligne dans {config.keys_dir} (droits 0600), puis relancez.",
                       f"The backup holds no keys (by design): copy sealing.key and signing.key from their offline "
                       f"copy into {config.keys_dir} (mode 0600), then run restore again.")
    config.keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name in KEY_FILES:
        _write(config.keys_dir, name, (source / "keys" / name).read_bytes())


def restore(config: CentralConfig, source: Path) -> Summary:
    """Restore the backup in ``source`` into the service ``config`` describes, which has no database yet."""
    manifest = read_manifest(source)
    engine = _engine(config.database_url)
    if manifest["engine"] != engine:
        raise _refused(f"Cette sauvegarde vient de {manifest['engine']} ; elle se restaure dans {manifest['engine']} "
                       f"seulement, pas dans {engine}.",
                       f"This backup comes from {manifest['engine']} and restores into {manifest['engine']} only, "
                       f"not {engine}.")
    make_private(config.data_dir)
    if _has_database(config):
        raise _refused("Le service cible a déjà une base de données : restaurez dans un service neuf (un dossier "
                       "de données vide, une base PostgreSQL créée vide). Rien n'a été restauré.",
                       "The target service already has a database: restore into a new one (an empty data "
                       "directory, an empty PostgreSQL database). Nothing was restored.")
    _install_keys(config, source, manifest)
    private_key = load_keys(config.keys_dir).sealing
    try:  # a whole pass first: a database is restored whole or not at all
        with open(source / _DATABASE[engine], "rb") as f:
            for _ in sealedfile.unseal(f, private_key):
                pass
    except sealedfile.NotSealedToUs as exc:
        raise _refused(f"La base de la sauvegarde ne s'ouvre pas avec ces clés ({exc}). Rien n'a été restauré.",
                       f"The backup's database does not open with these keys ({exc}). Nothing was restored.") from None
    blobs = create_blobstore(config)
    parts = total = 0
    for name, described in sorted(manifest["files"].items()):
        if name.startswith("blobs/"):
            blobs.put(name.removeprefix("blobs/"), (source / name).read_bytes())
            parts, total = parts + 1, total + described["size"]
    # The database last: once it is there the service is whole.
    sealed = source / _DATABASE[engine]
    if engine == "sqlite":
        path = Path(make_url(config.database_url).database)
        staged = path.with_name(path.name + ".restoring")
        with open(sealed, "rb") as f, open(staged, "wb") as out:
            staged.chmod(0o600)
            for chunk in sealedfile.unseal(f, private_key):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(staged, path)
        fsync_dir(path.parent)
    else:
        args, env = _pg_args(make_url(config.database_url))
        with _pg("pg_restore", ["--no-owner", "--no-privileges", "--exit-on-error", *args], env,
                 stdin=subprocess.PIPE) as load, open(sealed, "rb") as f:
            for chunk in sealedfile.unseal(f, private_key):
                load.stdin.write(chunk)
    return Summary(manifest["dossiers"], parts, total)
