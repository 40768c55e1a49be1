"""The service under systemd: ready once it serves, watched from the loops that answer requests.

``kiosk-central serve`` runs as ``Type=notify`` with ``WatchdogSec=``
(``systemd/kiosk-central.service``). What "alive" means is the event loop
that answers requests, since a blocked loop answers nothing however healthy
the process looks:

- **One worker**: the process is the server. It says ``READY=1`` once
  uvicorn listens, and pings from that server's own loop (uvicorn calls its
  ``callback_notify`` from the loop every second). A loop that a request
  blocks stops pinging, and systemd restarts the service.
- **Several workers**: uvicorn's supervisor asks each worker whether it is
  there through a pipe that a *thread* answers, so a worker whose loop is
  stuck still says yes. Each worker therefore beats from its loop into a
  file of its own (:func:`beat`), and :class:`Supervisor` kills a worker
  whose beat is older than the watchdog period (uvicorn then starts
  another). The supervisor alone speaks to systemd (the variables are taken
  out of the children's environment): ``READY=1`` once every worker serves,
  then a ping from its own loop while at least one does.

Outside systemd the workers are watched the same way, with a period of
:data:`UNSUPERVISED_PERIOD_S`.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import uvicorn
from uvicorn.supervisors import Multiprocess

from titres.sdnotify import Watchdog

HEARTBEATS = "KIOSK_CENTRAL_HEARTBEATS"  # the folder where each worker beats, set by the supervisor
UNSUPERVISED_PERIOD_S = 60.0

log = logging.getLogger("central.supervision")


async def beat() -> None:
    """A worker's heartbeat, called from its event loop. It writes the system's monotonic clock (the same in
    every process), so a change of the wall clock neither kills nor spares a worker."""
    folder = os.environ.get(HEARTBEATS)
    if folder:
        Path(folder, str(os.getpid())).write_text(f"{time.monotonic():.3f}")


class Heartbeats:
    """The workers' beats as their files tell them."""

    def __init__(self, folder: Path, limit_s: float, clock=time.monotonic):
        self.folder = folder
        self.limit_s = limit_s
        self._clock = clock

    def silent_for(self, pid: int, serving_since: float) -> float:
        """Seconds since the worker last beat, or since it was first seen serving if it has not beaten since."""
        try:
            last = float((self.folder / str(pid)).read_text())
        except FileNotFoundError:
            last = serving_since
        except ValueError:  # read while the worker was writing it: it is beating
            return 0.0
        return self._clock() - max(last, serving_since)

    def forget(self, pid: int) -> None:
        (self.folder / str(pid)).unlink(missing_ok=True)


class Supervisor(Multiprocess):
    """uvicorn's supervisor, which also restarts a worker whose loop has stopped and tells systemd how it goes."""

    def __init__(self, config: uvicorn.Config, sockets: list, watchdog: Watchdog, heartbeats: Heartbeats,
                 status: str, clock=time.monotonic):
        super().__init__(config, sockets)
        self.watchdog = watchdog
        self.heartbeats = heartbeats
        self.status = status
        self._clock = clock
        self._serving: dict[int, float] = {}  # pid -> when it was first seen serving
        self._ready = False

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()  # a worker that died or stopped answering its pipe is replaced
        if self.should_exit.is_set():
            return
        serving = 0
        for process in self.processes:
            pid = process.pid
            if pid not in self._serving:
                if process.is_ready(timeout=self.config.timeout_worker_healthcheck):
                    self._serving[pid] = self._clock()
                continue
            silent = self.heartbeats.silent_for(pid, self._serving[pid])
            if silent > self.heartbeats.limit_s:
                log.error("worker restarted: its event loop stopped answering",
                          extra={"worker": pid, "silent_s": round(silent, 1)})
                process.kill()  # the next round sees it dead and starts another
                process.join()
                continue
            serving += 1
        for pid in set(self._serving) - {p.pid for p in self.processes if p.process.is_alive()}:
            del self._serving[pid]
            self.heartbeats.forget(pid)
        if serving == len(self.processes) and not self._ready:
            self.watchdog.ready(self.status)
            self._ready = True
        if serving and self._ready:
            self.watchdog.ping()


class NotifyingServer(uvicorn.Server):
    """One worker's server: ``READY=1`` once it listens (its pings are its ``callback_notify``)."""

    def __init__(self, config: uvicorn.Config, watchdog: Watchdog, status: str):
        super().__init__(config)
        self.watchdog = watchdog
        self.status = status

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if self.started:
            self.watchdog.ready(self.status)
