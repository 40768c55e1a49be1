"""The files through which a simulator is driven and observed from outside its process."""

from __future__ import annotations

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
