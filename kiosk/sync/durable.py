"""Writing files so that they survive a power cut: temporary name, fsync, rename, fsync the directory."""

from __future__ import annotations

import os
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
