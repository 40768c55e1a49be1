"""What a power cut may leave on disk, worked out from the file operations a piece of code made.

Killing the process (``tests/faults/test_kill9.py``) never loses the page
cache, so it cannot tell a write that was fsynced from one that merely
reached the kernel. Here every operation of the outbox's durable-write
layer (create, write, fsync, rename, mkdir, unlink, directory fsync, and
each SQLite commit) is performed for real *and* applied to a model of the
tree, which can then list the disk images a power cut after any prefix of
those operations may leave, under a pessimistic model:

* a file's bytes are durable up to its last fsync; what was written since
  may be lost, torn or garbage;
* a name created, renamed or removed is durable once its directory is
  fsynced; before that, any subset of a directory's pending name changes
  may have reached the disk (a rename alone is atomic);
* the SQLite database is the image of its last completed commit: with WAL
  and ``synchronous=FULL`` a commit is atomic and durable when it returns
  (``test_power_loss`` checks that fsync on the real system calls).

The recorder patches only what ``titres.durable`` and
``kiosk.sync.outbox`` call (their ``open``, ``os`` and ``shutil``, and
``Path.mkdir``/``Path.unlink`` for paths under the recorded root), and
:meth:`Recorder.check_complete` compares the model with the real tree, so
an operation it failed to see fails the test instead of passing unseen.
"""

from __future__ import annotations

import builtins
import copy
import hashlib
import itertools
import os
import pathlib
import shutil
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

FILE, DIR = "file", "dir"
#: How unsynced file contents may come back after the cut.
CONTENTS = ("lost", "complete", "torn", "garbage")

Tree = dict[str, "bytes | Tree"]


class Killed(BaseException):
    """The process dies here (``kill -9``): the page cache survives, the process does not.

    A ``BaseException``, so the code under test cannot catch it as an error and go on."""


@dataclass(frozen=True)
class Op:
    """One operation, in model terms (inodes are the model's own numbers)."""

    kind: str  # link, unlink, rename, truncate, write, sync, commit
    dir: int = 0
    name: str = ""
    dst: str = ""
    ino: int = 0
    node: str = FILE
    offset: int = 0
    data: bytes = b""
    path: str = ""  # for messages only

    def __str__(self) -> str:
        if self.kind == "write":
            return f"write {len(self.data)} bytes at {self.offset} to {self.path}"
        if self.kind == "commit":
            return "sqlite commit"
        if self.kind == "rename":
            return f"rename {self.path} to {self.dst}"
        if self.kind == "link":
            return f"{'mkdir' if self.node == DIR else 'create'} {self.path}"
        if self.kind == "unlink":
            return f"{'rmdir' if self.node == DIR else 'unlink'} {self.path}"
        return f"{'fsync directory' if self.node == DIR else 'fsync'} {self.path}"


@dataclass
class Node:
    kind: str
    data: bytearray = field(default_factory=bytearray)  # a file as the page cache holds it
    synced: bytes = b""  # a file as its last fsync left it
    entries: dict[str, int] = field(default_factory=dict)  # a directory's names now
    durable: dict[str, int] = field(default_factory=dict)  # ... and as its last fsync left them


@dataclass(frozen=True)
class Image:
    """One disk a power cut may leave: the tree under the root, and the database file."""

    tree: Tree
    db: bytes | None
    label: str

    def key(self) -> str:
        digest = hashlib.sha256()

        def walk(tree: Tree, prefix: str) -> None:
            for name in sorted(tree):
                value = tree[name]
                if isinstance(value, dict):
                    digest.update(f"d {prefix}{name}\n".encode())
                    walk(value, f"{prefix}{name}/")
                else:
                    digest.update(f"f {prefix}{name} {hashlib.sha256(value).hexdigest()}\n".encode())

        walk(self.tree, "")
        digest.update(self.db or b"")
        return digest.hexdigest()

    def write_to(self, root: Path, database: str = "queue.db") -> None:
        def write(tree: Tree, where: Path) -> None:
            where.mkdir(parents=True, exist_ok=True)
            for name, value in tree.items():
                if isinstance(value, dict):
                    write(value, where / name)
                else:
                    (where / name).write_bytes(value)

        write(self.tree, root)
        if self.db is not None:
            (root / database).write_bytes(self.db)


class Disk:
    """The model: page cache and durable state of every file and directory under one root."""

    ROOT = 1

    def __init__(self) -> None:
        self.nodes: dict[int, Node] = {self.ROOT: Node(DIR)}
        self.pending: list[tuple[int, Op]] = []  # (directory, name change) not yet fsynced, in order
        self.db: bytes | None = None
        self._next = self.ROOT + 1

    @classmethod
    def scan(cls, root: Path, database: str = "queue.db") -> tuple["Disk", dict[int, int]]:
        """The tree as it is now, all of it taken as durable; and the real inode → model inode map."""
        disk, real = cls(), {os.stat(root).st_ino: cls.ROOT}

        def walk(path: Path, ino: int) -> None:
            node = disk.nodes[ino]
            for child in sorted(path.iterdir()):
                if ino == cls.ROOT and (child.name == database or child.name.startswith(database + "-")):
                    continue  # the database is modelled by its commits
                child_ino = disk.new_ino()
                real[child.lstat().st_ino] = child_ino
                if child.is_dir():
                    disk.nodes[child_ino] = Node(DIR)
                    walk(child, child_ino)
                else:
                    data = child.read_bytes()
                    disk.nodes[child_ino] = Node(FILE, bytearray(data), data)
                node.entries[child.name] = node.durable[child.name] = child_ino

        walk(root, cls.ROOT)
        return disk, real

    def new_ino(self) -> int:
        self._next += 1
        return self._next - 1

    def lookup(self, parts: tuple[str, ...]) -> int:
        ino = self.ROOT
        for part in parts:
            ino = self.nodes[ino].entries[part]
        return ino

    def apply(self, op: Op) -> None:
        if op.kind == "link":
            self.nodes.setdefault(op.ino, Node(op.node))
            self._next = max(self._next, op.ino + 1)
            self.nodes[op.dir].entries[op.name] = op.ino
            self.pending.append((op.dir, op))
        elif op.kind == "unlink":
            del self.nodes[op.dir].entries[op.name]
            self.pending.append((op.dir, op))
        elif op.kind == "rename":
            entries = self.nodes[op.dir].entries
            entries[op.dst] = entries.pop(op.name)
            self.pending.append((op.dir, op))
        elif op.kind == "truncate":
            self.nodes[op.ino].data = bytearray()
        elif op.kind == "write":
            data = self.nodes[op.ino].data
            if len(data) < op.offset:
                data.extend(bytes(op.offset - len(data)))
            data[op.offset:op.offset + len(op.data)] = op.data
        elif op.kind == "sync":
            node = self.nodes[op.ino]
            if node.kind == FILE:
                node.synced = bytes(node.data)
            else:
                node.durable = dict(node.entries)
                self.pending = [(d, change) for d, change in self.pending if d != op.ino]
        elif op.kind == "commit":
            self.db = op.data
        else:
            raise ValueError(op.kind)

    # -- what the disk shows ------------------------------------------------------
    def page_cache(self) -> Tree:
        """The tree as running programs see it (what the real directory must hold)."""
        def tree(ino: int) -> Tree:
            out: Tree = {}
            for name, child in self.nodes[ino].entries.items():
                node = self.nodes[child]
                out[name] = tree(child) if node.kind == DIR else bytes(node.data)
            return out

        return tree(self.ROOT)

    def power_cuts(self, full_up_to: int = 6) -> Iterator[Image]:
        """Every disk a power cut at this point may leave (see the module's model).

        All subsets of the pending name changes when there are at most
        ``full_up_to`` of them; beyond, a covering selection (none, all, each
        prefix, each alone, all but each)."""
        dirty = {ino for ino, n in self.nodes.items() if n.kind == FILE and bytes(n.data) != n.synced}
        for chosen in _subsets(len(self.pending), full_up_to):
            for content in CONTENTS if dirty else CONTENTS[:1]:
                kept = set(chosen)
                names = "+".join(str(self.pending[i][1]) for i in chosen) or "none"
                label = f"names kept: {names}; unsynced data: {content if dirty else 'none'}"
                yield Image(self._durable_tree(self.ROOT, kept, dirty, content), self.db, label)

    def _durable_tree(self, ino: int, kept: set[int], dirty: set[int], content: str) -> Tree:
        entries = dict(self.nodes[ino].durable)
        for index, (directory, change) in enumerate(self.pending):
            if directory == ino and index in kept:
                if change.kind == "link":
                    entries[change.name] = change.ino
                elif change.kind == "unlink":
                    entries.pop(change.name, None)
                else:  # rename, atomic: the old name goes, the new name holds the inode
                    entries.pop(change.name, None)
                    entries[change.dst] = change.ino
        out: Tree = {}
        for name, child in entries.items():
            node = self.nodes[child]
            if node.kind == DIR:
                out[name] = self._durable_tree(child, kept, dirty, content)
            elif child not in dirty or content == "lost":
                out[name] = node.synced
            elif content == "complete":
                out[name] = bytes(node.data)
            elif content == "torn":
                out[name] = bytes(node.data[:len(node.data) // 2])
            else:
                out[name] = hashlib.shake_256(f"garbage {child}".encode()).digest(len(node.data))
        return out


def _subsets(n: int, full_up_to: int) -> Iterator[tuple[int, ...]]:
    if n <= full_up_to:
        for size in range(n + 1):
            yield from itertools.combinations(range(n), size)
        return
    everything = tuple(range(n))
    seen: set[tuple[int, ...]] = set()
    for subset in [(), everything, *(everything[:i] for i in range(1, n)), *((i,) for i in everything),
                   *(everything[:i] + everything[i + 1:] for i in everything)]:
        if subset not in seen:
            seen.add(subset)
            yield subset


def crash_images(baseline: Disk, ops: list[Op], start: int = 0, full_up_to: int = 6) -> Iterator[tuple[int, Image]]:
    """``(k, image)`` for each crash point k from ``start`` (k operations done) and each image it may leave."""
    disk = copy.deepcopy(baseline)
    for k in range(len(ops) + 1):
        if k >= start:
            for image in disk.power_cuts(full_up_to):
                yield k, image
        if k < len(ops):
            disk.apply(ops[k])


class Recorder:
    """Performs the file operations the code under test asks for under ``root``, and logs each one.

    ``kill_at``: raise :class:`Killed` instead of performing operation number
    ``kill_at`` (0-based), as a ``kill -9`` would stop the process there."""

    def __init__(self, root: Path, disk: Disk | None = None, real: dict[int, int] | None = None,
                 kill_at: int | None = None):
        self.root = Path(os.path.realpath(root))
        if disk is None:
            disk, real = Disk.scan(self.root)
        self.disk, self._real = disk, real if real is not None else {}
        self.baseline = copy.deepcopy(disk)
        self.ops: list[Op] = []
        self.kill_at = kill_at

    # -- bookkeeping --------------------------------------------------------------
    def _inside(self, path: Any) -> bool:
        try:
            return Path(os.path.realpath(path)).is_relative_to(self.root)
        except TypeError:
            return False

    def _step(self) -> None:
        if self.kill_at is not None and len(self.ops) >= self.kill_at:
            raise Killed(f"killed before operation {len(self.ops)}")

    def _log(self, op: Op) -> None:
        self.disk.apply(op)
        self.ops.append(op)

    def _where(self, path: Any) -> tuple[int, str]:
        relative = self._relative(path)
        return self.disk.lookup(relative.parts[:-1]), relative.name

    def _relative(self, path: Any) -> Path:
        return Path(os.path.realpath(path)).relative_to(self.root)

    def _model_ino(self, real_ino: int) -> int | None:
        return self._real.get(real_ino)

    # -- the operations -----------------------------------------------------------
    def open(self, file: Any, mode: str = "r", *args: Any, **kwargs: Any):
        if not self._inside(file) or mode in ("r", "rb", "rt"):
            return builtins.open(file, mode, *args, **kwargs)
        if mode != "wb":
            raise NotImplementedError(f"the recorder does not model open(..., {mode!r})")
        self._step()
        existed = os.path.exists(file)
        fh = builtins.open(file, mode, *args, **kwargs)
        real_ino = os.fstat(fh.fileno()).st_ino
        if existed:
            self._log(Op("truncate", ino=self._model_ino(real_ino), path=str(self._relative(file))))
        else:
            directory, name = self._where(file)
            ino = self.disk.new_ino()
            self._real[real_ino] = ino
            self._log(Op("link", dir=directory, name=name, ino=ino, node=FILE, path=str(self._relative(file))))
        return _RecordedFile(self, fh, ino, str(self._relative(file)))

    def fsync(self, fd: int) -> None:
        ino = self._model_ino(os.fstat(fd).st_ino)
        if ino is None:  # not under the root
            return os.fsync(fd)
        self._step()
        os.fsync(fd)
        path = os.readlink(f"/proc/self/fd/{fd}") if os.path.exists(f"/proc/self/fd/{fd}") else "?"
        self._log(Op("sync", ino=ino, node=self.disk.nodes[ino].kind,
                     path=str(self._relative(path)) if self._inside(path) else path))

    def replace(self, src: Any, dst: Any) -> None:
        if not self._inside(src):
            return os.replace(src, dst)
        self._step()
        ino = self._model_ino(os.lstat(src).st_ino)
        directory, name = self._where(src)
        dst_directory, dst_name = self._where(dst)
        if directory != dst_directory:
            raise NotImplementedError("the recorder models renames within one directory only")
        os.replace(src, dst)
        self._log(Op("rename", dir=directory, name=name, dst=dst_name, ino=ino, path=str(self._relative(src))))

    def unlink(self, path: Any) -> None:
        if not self._inside(path):
            return os.unlink(path)
        self._step()
        directory, name = self._where(path)
        relative = str(self._relative(path))
        os.unlink(path)
        self._log(Op("unlink", dir=directory, name=name, path=relative))

    def rmdir(self, path: Any) -> None:
        if not self._inside(path):
            return os.rmdir(path)
        self._step()
        directory, name = self._where(path)
        relative = str(self._relative(path))
        os.rmdir(path)
        self._log(Op("unlink", dir=directory, name=name, node=DIR, path=relative))

    def mkdir(self, path: Any, mode: int = 0o777) -> None:
        if not self._inside(path):
            return os.mkdir(path, mode)
        self._step()
        directory, name = self._where(path)
        os.mkdir(path, mode)
        ino = self.disk.new_ino()
        self._real[os.stat(path).st_ino] = ino
        self._log(Op("link", dir=directory, name=name, ino=ino, node=DIR, path=str(self._relative(path))))

    def rmtree(self, path: Any, *args: Any, **kwargs: Any) -> None:
        """``shutil.rmtree``, one recorded unlink at a time, so a crash can land between any two."""
        if args or kwargs or not self._inside(path):
            return shutil.rmtree(path, *args, **kwargs)
        for where, dirs, files in os.walk(path, topdown=False):
            for name in sorted(files):
                self.unlink(os.path.join(where, name))
            for name in sorted(dirs):
                self.rmdir(os.path.join(where, name))
        self.rmdir(path)

    def commit(self, db: sqlite3.Connection) -> None:
        self._log(Op("commit", data=db.serialize()))

    # -- installing it ------------------------------------------------------------
    @contextmanager
    def installed(self, *modules: ModuleType) -> Iterator["Recorder"]:
        """Route ``modules``' ``open``, ``os`` and ``shutil`` (and ``Path.mkdir``/``unlink``) through the recorder."""
        import pytest

        recorder = self
        original_mkdir, original_unlink = pathlib.Path.mkdir, pathlib.Path.unlink

        def mkdir(path: pathlib.Path, mode: int = 0o777, parents: bool = False, exist_ok: bool = False) -> None:
            if not recorder._inside(path):
                return original_mkdir(path, mode, parents, exist_ok)
            if path.is_dir() and exist_ok:
                return None
            missing = [p for p in (path, *path.parents) if not p.exists()][::-1]
            if not missing or (len(missing) > 1 and not parents):
                return original_mkdir(path, mode, parents, exist_ok)  # raises as it should
            for p in missing:
                recorder.mkdir(p, mode)
            return None

        def unlink(path: pathlib.Path, missing_ok: bool = False) -> None:
            if not recorder._inside(path) or (missing_ok and not path.exists()):
                return original_unlink(path, missing_ok)
            recorder.unlink(path)
            return None

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(pathlib.Path, "mkdir", mkdir)
            mp.setattr(pathlib.Path, "unlink", unlink)
            for module in modules:
                mp.setattr(module, "open", self.open, raising=False)
                mp.setattr(module, "os", _RecordedOs(self), raising=False)
                mp.setattr(module, "shutil", _RecordedShutil(self), raising=False)
            yield self

    def watch(self, db: sqlite3.Connection) -> "_RecordedConnection":
        """A stand-in for ``db`` that logs each commit that changed something, with the database as it then is."""
        if self.disk.db is None:
            self.disk.db = self.baseline.db = db.serialize()
        return _RecordedConnection(db, self)

    def check_complete(self, database: str = "queue.db") -> None:
        """Fail if the real tree or database differs from the model: an operation went past the recorder."""
        real = Disk.scan(self.root, database)[0].page_cache()
        model = self.disk.page_cache()
        if real != model:
            raise AssertionError("the recorder missed a file operation: the real tree differs from the model:\n"
                                 f"{_difference(real, model)}")
        if self.disk.db is not None:
            db = sqlite3.connect(self.root / database)
            try:
                if list(db.iterdump()) != _dump(self.disk.db):
                    raise AssertionError("the recorder missed a commit: the database differs from its last one")
            finally:
                db.close()


def _dump(image: bytes) -> list[str]:
    """The SQL content of a database image (bytes 18-19 set back to 1: memory databases have no WAL)."""
    db = sqlite3.connect(":memory:")
    try:
        db.deserialize(image[:18] + b"\x01\x01" + image[20:])
        return list(db.iterdump())
    finally:
        db.close()


def _difference(real: Tree, model: Tree, prefix: str = "") -> str:
    lines = []
    for name in sorted(set(real) | set(model)):
        a, b = real.get(name), model.get(name)
        if isinstance(a, dict) and isinstance(b, dict):
            lines.append(_difference(a, b, f"{prefix}{name}/"))
        elif a != b:
            def describe(v):
                return "absent" if v is None else "a directory" if isinstance(v, dict) else f"{len(v)} bytes"

            lines.append(f"  {prefix}{name}: real {describe(a)}, model {describe(b)}")
    return "\n".join(line for line in lines if line)


class _RecordedFile:
    def __init__(self, recorder: Recorder, fh: Any, ino: int, path: str):
        self._recorder, self._fh, self._ino, self._path = recorder, fh, ino, path

    def write(self, data: bytes) -> int:
        self._recorder._step()
        offset = self._fh.tell()
        written = self._fh.write(data)
        self._recorder._log(Op("write", ino=self._ino, offset=offset, data=bytes(data), path=self._path))
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    def __enter__(self) -> "_RecordedFile":
        return self

    def __exit__(self, *exc: Any) -> None:
        self._fh.close()


#: Calls that change files which the recorder does not model: using one fails loudly.
_UNMODELLED = {"rename", "renames", "link", "symlink", "truncate", "ftruncate", "write", "pwrite", "writev",
               "removedirs", "makedirs", "chmod", "fchmod", "copy", "copy2", "copyfile", "copytree", "move"}


class _RecordedOs:
    def __init__(self, recorder: Recorder):
        self._r = recorder
        self.fsync = self.fdatasync = recorder.fsync
        self.replace, self.unlink, self.remove = recorder.replace, recorder.unlink, recorder.unlink
        self.rmdir, self.mkdir = recorder.rmdir, recorder.mkdir

    def open(self, path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if self._r._inside(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC):
            raise NotImplementedError("the recorder does not model os.open for writing")
        return os.open(path, flags, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name in _UNMODELLED:
            raise NotImplementedError(f"the recorder does not model os.{name}")
        return getattr(os, name)


class _RecordedShutil:
    def __init__(self, recorder: Recorder):
        self.rmtree = recorder.rmtree

    def __getattr__(self, name: str) -> Any:
        if name in _UNMODELLED:
            raise NotImplementedError(f"the recorder does not model shutil.{name}")
        return getattr(shutil, name)


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class _RecordedConnection:
    def __init__(self, db: sqlite3.Connection, recorder: Recorder):
        self._db, self._recorder, self._changes = db, recorder, db.total_changes

    def _commits(self, sql: str) -> bool:
        verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        return verb in ("COMMIT", "END") or (not self._db.in_transaction and verb in _WRITES)

    def _run(self, target: Any, sql: str, *params: Any) -> Any:
        commits = self._commits(sql)
        if commits:
            self._recorder._step()
        result = target.execute(sql, *params)
        if not self._db.in_transaction:  # a transaction ended: committed, or rolled back
            if commits and self._db.total_changes != self._changes:
                self._recorder.commit(self._db)
            self._changes = self._db.total_changes
        return result

    def execute(self, sql: str, *params: Any) -> Any:
        return self._run(self._db, sql, *params)

    def cursor(self) -> "_RecordedCursor":
        return _RecordedCursor(self, self._db.cursor())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


class _RecordedCursor:
    def __init__(self, connection: _RecordedConnection, cursor: sqlite3.Cursor):
        self._connection, self._cursor = connection, cursor

    def execute(self, sql: str, *params: Any) -> Any:
        return self._connection._run(self._cursor, sql, *params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)
