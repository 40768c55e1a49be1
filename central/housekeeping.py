"""The service's housekeeping threads: one pass of work every so often, from the application's start to its stop.

The purge of stale uploads (``central.ingest``) and the citizens' mail
(``central.mail``) are both a :class:`Housekeeper`: a subclass says what a
pass is (:meth:`Housekeeper.run_once`) and how often; the thread makes one at
start, one whenever :meth:`Housekeeper.wake` is called, and one every
``interval_s``. A pass that fails is logged and counted, and the next one
comes at its time: the thread does not die of an error, and
:attr:`Housekeeper.alive` tells whether it runs. Tests call ``run_once`` on
their own thread, and wait on :meth:`Housekeeper.wait_for_passes`, never on a
sleep.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

#: A call to another system that failed waits 1, 2, 4 … minutes before the next try, at most ``MAX_RETRY``: the
#: citizens' mail (``central.mail``) and the agency's calls (``central.appointments``) alike.
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=6)


def retry_delay(attempts: int) -> timedelta:
    """How long a call waits after its ``attempts``-th failed try: 1, 2, 4 … minutes, at most ``MAX_RETRY``."""
    return min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 20), MAX_RETRY)


class Housekeeper:
    #: The thread's name, and what a pass does, as the log says when one fails.
    name = "housekeeping"
    what = "housekeeping"

    def __init__(self, interval_s: float, log: logging.Logger) -> None:
        self.interval_s = interval_s
        self.log = log
        self.passes = 0  # passes made by the thread, failed ones included
        self.failures = 0
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._passed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._sessions: sessionmaker | None = None
        self._flag = ""

    def run_once(self) -> object:
        """One pass, now, on the caller's thread."""
        raise NotImplementedError

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 60.0) -> None:
        """Ask the thread to end and wait for the pass in progress, if any. Stopping twice is harmless."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        if self._sessions is not None and event.contains(self._sessions, "after_commit", self._committed):
            event.remove(self._sessions, "after_commit", self._committed)
            event.remove(self._sessions, "after_rollback", self._rolled_back)

    def wake_on_commits(self, sessions: sessionmaker, flag: str) -> None:
        """Make a pass when a commit of ``sessions`` carries ``flag`` in its ``info``: whoever writes work for this
        housekeeper in a transaction sets it, so the work goes right after the commit; a rollback drops it."""
        self._sessions, self._flag = sessions, flag
        if not event.contains(sessions, "after_commit", self._committed):
            event.listen(sessions, "after_commit", self._committed)
            event.listen(sessions, "after_rollback", self._rolled_back)

    def _committed(self, session: Session) -> None:
        if session.info.pop(self._flag, False):
            self.wake()

    def _rolled_back(self, session: Session) -> None:
        session.info.pop(self._flag, None)

    def wake(self) -> None:
        """Make a pass now (the thread's), rather than at the next interval."""
        self._wake.set()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait_for_passes(self, count: int, timeout_s: float) -> bool:
        """Wait until the thread has made ``count`` passes; False if it has not within ``timeout_s``."""
        with self._passed:
            return self._passed.wait_for(lambda: self.passes >= count, timeout_s)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()  # before the pass: a wake during it asks for the next one
            try:
                self.run_once()
            except Exception:  # the next pass may succeed (a database restarting, a blob store away)
                self.failures += 1
                self.log.exception("%s failed; next pass in %g s", self.what, self.interval_s)
            with self._passed:
                self.passes += 1
                self._passed.notify_all()
            self._wake.wait(self.interval_s)
