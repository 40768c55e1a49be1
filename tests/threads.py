"""The tests' helper threads: a thread's exception fails the test, with its own message.

A plain ``threading.Thread`` that raises only prints a warning (pytest's
``PytestUnhandledThreadExceptionWarning``), and the test goes on to fail
later on a consequence, if at all: the kill -9 test once reported "sync
kills 1" for a thread that had died of ``no such table: dossiers``.

Every test that starts a thread of its own starts it here::

    with HelperThreads() as threads:
        killer = threads.start(kill_the_sync_worker, threads.stop)
        ...                  # threads.check() fails at once if a helper died
        killer.join()        # raises the helper's own exception, if it raised

Leaving the block sets :attr:`HelperThreads.stop`, joins every thread and
raises the exception of one that raised (several: an ``ExceptionGroup``),
or fails if one is still running past the deadline; an exception of the
block itself is kept as the ``__context__`` of the thread's. The deadline
is generous: the tests run on two cores shared with other work.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from typing import Any, Callable

#: How long a helper may run after its test asked it to end: minutes, for a loaded machine.
DEADLINE_S = 300.0


class HelperThread:
    """One helper: its target runs on a daemon thread; what it raises is kept for :meth:`join`."""

    def __init__(self, target: Callable[..., Any], args: tuple, kwargs: dict, name: str,
                 finished: threading.Event) -> None:
        self.name = name
        self.error: BaseException | None = None
        self._reported = False
        self._call = (target, args, kwargs)
        self._finished = finished
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        target, args, kwargs = self._call
        try:
            target(*args, **kwargs)
        except BaseException as exc:  # kept for the test's thread, which raises it
            self.error = exc
        finally:
            self._finished.set()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout_s: float = DEADLINE_S) -> None:
        """Wait for the thread; raise its own exception if it raised, fail if it runs past ``timeout_s``."""
        self._thread.join(timeout_s)
        self._raise(timeout_s)

    def _raise(self, timeout_s: float) -> None:
        if self._thread.is_alive():
            frame = sys._current_frames().get(self._thread.ident)
            where = "".join(traceback.format_stack(frame)) if frame is not None else "(no stack)\n"
            raise AssertionError(f"helper thread {self.name!r} still running after {timeout_s:g} s, at:\n{where}")
        if self.error is not None and not self._reported:
            self._reported = True  # raised once: leaving the block does not raise it a second time
            self.error.add_note(f"(raised in helper thread {self.name!r})")
            raise self.error


class HelperThreads:
    """The helper threads of one test (or fixture); a context manager, see the module's docstring."""

    def __init__(self, deadline_s: float = DEADLINE_S) -> None:
        self.deadline_s = deadline_s
        #: Set when the block is left: a helper that loops until told waits on it.
        self.stop = threading.Event()
        self._threads: list[HelperThread] = []
        self._finished = threading.Event()  # set whenever a helper ends, so that waits wake at once

    def __enter__(self) -> "HelperThreads":
        return self

    def start(self, target: Callable[..., Any], *args: Any, name: str | None = None, **kwargs: Any) -> HelperThread:
        """Run ``target(*args, **kwargs)`` on a new helper thread, named ``name`` (default: the target's)."""
        helper = HelperThread(target, args, kwargs, name or getattr(target, "__name__", "helper"), self._finished)
        self._threads.append(helper)
        helper._thread.start()
        return helper

    def check(self) -> None:
        """Raise now the exception of a helper that has ended by raising: a test need not wait to fail."""
        for helper in self._threads:
            if not helper.is_alive():
                helper._raise(0)

    def until(self, condition: Callable[[], bool], what: str, timeout_s: float = DEADLINE_S) -> None:
        """Wait until ``condition()`` holds; fail with a helper's own exception as soon as one raises,
        or with ``what`` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            self.check()
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not after {timeout_s:g} s")
            self._finished.wait(0.01)
            self._finished.clear()

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        deadline = time.monotonic() + self.deadline_s
        failures: list[BaseException] = []
        for helper in self._threads:
            helper._thread.join(max(0.0, deadline - time.monotonic()))
            try:
                helper._raise(self.deadline_s)
            except BaseException as error:  # every helper's, not only the first one's
                failures.append(error)
        if len(failures) == 1:
            raise failures[0]
        if failures:
            raise BaseExceptionGroup(f"{len(failures)} helper threads failed", failures)
