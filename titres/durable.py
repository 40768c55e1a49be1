"""Writing files so that they survive a power cut: temporary name, fsync, rename, fsync the directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes, concurrent: bool = False) -> None:
    """After this returns, ``path`` holds ``data`` whole, or (on a crash before) does not exist.

    ``concurrent``: other processes may write the same path at the same time
    (the central service's blob store), so each writer uses its own temporary name.
    """
    suffix = f".{os.getpid()}.{os.urandom(4).hex()}.tmp" if concurrent else ".tmp"
    tmp = path.with_name(f".{path.name}{suffix}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def make_dir_durably(path: Path) -> None:
    if not path.exists():
        path.mkdir(parents=True)
        fsync_dir(path.parent)


def write_atomic(path: Path, data: bytes) -> Path:
    """Write to a temporary name then rename, so a reader never sees half a file; not fsynced.

    For files another process reads while this one writes them and that a
    power cut may lose (a simulator's state, a help request, a cached
    recording), never for a citizen's dossier (:func:`write_durably`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path
