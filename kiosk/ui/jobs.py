"""Running the controller's jobs off the UI thread, and their results back on it.

A :class:`~kiosk.controller.Job` has a blocking ``work()`` (camera, decoder,
sensor, network, disk, printer). :class:`JobRunner` runs it on one worker
thread, so the devices are only ever used by one job at a time, and hands
the outcome to ``job.deliver`` on the UI thread through ``post`` (the app
passes ``Clock.schedule_once``), where the session may be changed safely. A
follow-up job (printing after submitting, looking up after a scan) is queued
the same way.

Nothing here imports Kivy: the runner is tested with a plain queue as ``post``.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

from titres.errors import KioskError

log = logging.getLogger("kiosk.ui.jobs")

#: ``post(fn)`` must call ``fn()`` soon on the UI thread.
Post = Callable[[Callable[[], None]], None]
#: Called on the UI thread with a job's ``(result, error)`` once it has been delivered to the session.
Done = Callable[[Any, BaseException | None], None]


@dataclass(frozen=True)
class Task:
    """Work that is not a citizen's job (technician screens): run on the same worker, nothing delivered
    to the session; the caller's ``on_done`` gets the result."""

    name: str
    work: Callable[[], Any]

    def deliver(self, session, result: Any, error: BaseException | None) -> None:
        return None


class JobRunner:
    """One worker thread for slow work; results delivered on the UI thread, in order.

    ``busy`` counts jobs submitted and not yet delivered, so a screen can
    disable its buttons while a photo or a finger is being taken and a
    preview loop can skip a frame instead of queueing a backlog.
    """

    def __init__(self, session, post: Post, on_error: Callable[[str, BaseException], None] | None = None) -> None:
        self.session = session
        self._post = post
        self._on_error = on_error
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-job")
        self._lock = threading.Lock()
        self._pending: dict[str, int] = {}
        self._closed = False

    # -- state -------------------------------------------------------------
    @property
    def busy(self) -> int:
        with self._lock:
            return sum(self._pending.values())

    def pending(self, name: str) -> int:
        """Jobs named ``name`` (``scan``, ``photo``…) submitted and not yet delivered."""
        with self._lock:
            return self._pending.get(name, 0)

    # -- running -----------------------------------------------------------
    def submit(self, job, on_done: Done | None = None) -> Future | None:
        """Run ``job.work()`` on the worker; ``job.deliver`` then ``on_done`` on the UI thread."""
        if job is None:
            return None
        with self._lock:
            if self._closed:
                return None
            self._pending[job.name] = self._pending.get(job.name, 0) + 1
        try:
            return self._pool.submit(self._work, job, on_done)
        except RuntimeError:  # the pool was shut down between the check and the submit
            self._finished(job)
            return None

    def _work(self, job, on_done: Done | None) -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = job.work()
        except KioskError as exc:
            error = exc
        except Exception as exc:  # a bug or a library's raw error: the citizen must not wait forever
            log.exception("job failed unexpectedly", extra={"job": job.name})
            error = KioskError(f"{type(exc).__name__}: {exc}")
        self._post(lambda: self._deliver(job, result, error, on_done))

    def _deliver(self, job, result: Any, error: BaseException | None, on_done: Done | None) -> None:
        """On the UI thread."""
        self._finished(job)
        follow_up = None
        try:
            follow_up = job.deliver(self.session, result, error)
        except KioskError as exc:
            # Typically InvalidTransition: the citizen moved on (Back) while the job ran.
            log.warning("job result not applied", extra={"job": job.name, "error": repr(exc)})
        except Exception as exc:
            log.exception("applying a job's result failed", extra={"job": job.name})
            if self._on_error is not None:
                self._on_error(job.name, exc)
        if on_done is not None:
            try:
                on_done(result, error)
            except Exception as exc:
                log.exception("a screen's job callback failed", extra={"job": job.name})
                if self._on_error is not None:
                    self._on_error(job.name, exc)
        if follow_up is not None:
            self.submit(follow_up)

    def _finished(self, job) -> None:
        with self._lock:
            left = self._pending.get(job.name, 0) - 1
            if left > 0:
                self._pending[job.name] = left
            else:
                self._pending.pop(job.name, None)

    def close(self, wait: bool = True) -> None:
        """Stop taking jobs; with ``wait``, let the one running finish (its result is not delivered)."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=True)
