"""Keeping the kiosk's resident memory flat across sessions (glibc's allocator, Linux).

A session handles a few large buffers (a 2028x1520 still is 9 MB, its
intermediate arrays more) on a worker thread. glibc's defaults are tuned for
throughput, not for a long-running appliance: after a large block is freed
it raises its mmap threshold, so the next large blocks come from the heap
and stay there, and each thread gets its own arena that keeps what it once
held. Pinning the threshold at 1 MiB gives large buffers back to the system
as soon as they are freed, two arenas are plenty for one UI thread and one
worker, and trimming after a session returns what the citizen's session
left. On other C libraries these calls are skipped.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("kiosk.ui.memory")

M_ARENA_MAX = -8
M_MMAP_THRESHOLD = -3


def _libc():
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def tune_allocator(mmap_threshold: int = 1 << 20, arenas: int = 2) -> bool:
    """Call once at start-up, before the worker threads exist. True when the settings took."""
    libc = _libc()
    if libc is None:
        return False
    ok = bool(libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(libc.mallopt(M_ARENA_MAX, arenas))
    log.debug("allocator tuned", extra={"ok": ok})
    return ok


def release_free_memory() -> None:
    """Give freed heap memory back to the system (after a session ends)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
