"""The files through which a simulator is driven and observed from outside its process."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class ControlFile:
    """A small text file a person or a scenario edits to change a simulator's state.

    :meth:`poll` is cheap (one ``stat``) so a device can call it on every
    frame or reading. A change is recognised by modification time, size and
    inode together: editors that save by renaming a new file, and two writes
    within one timestamp tick of a coarse file system, are both seen.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._seen: tuple[int, int, int] | None = None

    def poll(self) -> tuple[bool, str | None]:
        """``(changed, text)``: ``text`` is ``None`` when the file is absent (or was removed)."""
        try:
            st = self.path.stat()
            key: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            key = None
        if key == self._seen:
            return False, None
        self._seen = key
        if key is None:
            return True, None
        try:
            return True, self.path.read_text(encoding="utf-8")
        except FileNotFoundError:  # removed between stat and read
            self._seen = None
            return True, None


def write_atomic(path: Path, data: bytes) -> Path:
    """Write to a temporary name then rename, so a reader never sees half a file.

    Not fsynced: these files are for observing a simulator, not for keeping
    a citizen's data (the outbox does that, durably).
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
