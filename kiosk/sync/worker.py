"""The sync worker: a process of its own that drains the outbox to the central service.

It is separate from the UI (``kiosk sync``, its own systemd unit), so a UI
crash never stops sync and a sync crash never freezes the UI; the two meet
only in the outbox's SQLite file and blob directory.

Each round: send a heartbeat when due, then take due dossiers one at a time
(claimed with one ``UPDATE … RETURNING``), upload, keep the acknowledgement,
and on failure put the dossier back with exponential backoff and jitter
(so that a fleet coming back after an outage does not hit the service in
step). Acknowledged copies are purged after the retention period.
"""

from __future__ import annotations

import logging
import random
import shutil
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from kiosk import __version__
from titres.errors import PermanentSyncError, RetryableSyncError
from titres.sdnotify import Watchdog
from kiosk.sync.client import CentralClient
from kiosk.sync.outbox import Outbox, State
from kiosk.sync.status import SyncStatus, write_status

log = logging.getLogger("kiosk.sync")


def backoff_s(attempts: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(max, base·2^attempts)], never below one second."""
    return max(1.0, rng.uniform(0, min(max_s, base_s * (2 ** min(attempts, 30)))))


@dataclass
class SyncWorker:
    outbox: Outbox
    client: CentralClient
    device_id: str
    base_s: float = 5.0
    max_s: float = 900.0
    heartbeat_s: float = 60.0
    retention_s: float = 7 * 86400
    selftest: Callable[[], dict[str, Any] | None] = lambda: None
    clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)
    watchdog: Watchdog = field(default_factory=lambda: Watchdog(env={}))
    _last_heartbeat: float = float("-inf")
    last_error: str = ""
    #: Written to ``<data>/sync-status.json`` when it changes (see :mod:`kiosk.sync.status`).
    status: SyncStatus = field(default_factory=SyncStatus)
    _written: SyncStatus | None = None
    #: Relays a citizen's call for help (kiosk.sync.help); None: this worker carries dossiers only.
    help_relay: Any = None

    def _note(self, status: SyncStatus) -> None:
        self.status = status
        if status != self._written:
            try:
                write_status(self.outbox.data_dir, status)
                self._written = status
            except OSError as exc:  # a full disk must not stop deliveries
                log.warning("sync status not written", extra={"error": str(exc)})

    def heartbeat_payload(self) -> dict[str, Any]:
        return {
            "software_version": __version__, "queue": self.outbox.counts(),
            "oldest_queued_age_s": int(self.outbox.oldest_waiting_age_s()),
            "free_bytes": shutil.disk_usage(self.outbox.data_dir).free,
            "corrupt": ([q.id for q in self.outbox.list(states=(State.CORRUPT,), limit=50)]
                        + self.outbox.damaged_orphans())[:50],
            "selftest": self.selftest(), "captured": self.outbox.waiting_stubs(),
            "last_error": self.last_error,
        }

    def heartbeat(self) -> bool:
        try:
            self.client.heartbeat(self.heartbeat_payload())
        except (RetryableSyncError, PermanentSyncError) as exc:
            self.last_error = str(exc)
            self._note(self.status.failed(str(exc), self.clock()))
            log.warning("heartbeat failed", extra={"error": str(exc)})
            return False
        self._last_heartbeat = self.clock()
        self._note(self.status.contact(self._last_heartbeat))
        return True

    def upload_one(self) -> str | None:
        """Upload the next due dossier. Returns "sent", "failed", "corrupt", or None when nothing is due."""
        queued = self.outbox.claim_next()
        if queued is None:
            return None
        problem = self.outbox.set_aside_if_damaged(queued)
        if problem:
            # Never uploaded, never dropped: kept aside on the card and named in the next heartbeat.
            self.last_error = f"dossier {queued.number} set aside: {problem}"
            log.error("dossier set aside as corrupt", extra={"dossier": queued.id, "problem": problem})
            self._last_heartbeat = float("-inf")
            return "corrupt"
        try:
            ack = self.client.upload(self.outbox.package(queued.id, self.device_id), progress=self.watchdog.ping)
        except (RetryableSyncError, PermanentSyncError) as exc:
            # A permanent refusal waits for a person (fleet view, ``kiosk queue retry``), with the longest delay.
            delay = self.max_s if isinstance(exc, PermanentSyncError) else backoff_s(
                queued.attempts, self.base_s, self.max_s, self.rng)
            self.outbox.release(queued.id, str(exc), delay)
            self.last_error = str(exc)
            self._note(self.status.failed(str(exc), self.clock()))
            log.warning("upload failed", extra={"dossier": queued.id, "error": str(exc), "retry_in_s": round(delay)})
            return "failed"
        except BaseException:
            self.outbox.release(queued.id, "sync worker stopped during upload", 0)
            raise
        self.outbox.acknowledge(queued.id, ack)
        self.last_error = ""
        self._note(self.status.delivered(self.clock()))
        log.info("dossier delivered", extra={"dossier": queued.id, "number": queued.number})
        return "sent"

    def relay_help(self) -> None:
        if self.help_relay is None:
            return
        try:
            self.help_relay.pump()
        except Exception:  # the dossiers must go on whatever a help request does
            log.exception("help request relay failed")

    def run_once(self) -> dict[str, int]:
        """Drain what is due now (``kiosk sync --once``): stops at the first failure."""
        report = {"sent": 0, "failed": 0, "corrupt": 0, "purged": 0}
        while True:
            self.relay_help()  # between dossiers too: a citizen waiting for an agent does not wait for uploads
            outcome = self.upload_one()
            if outcome is None:
                break
            report[outcome] += 1
            if outcome == "failed":
                break
        report["purged"] = self.outbox.purge(self.retention_s)
        if self.clock() - self._last_heartbeat >= self.heartbeat_s:
            self.heartbeat()  # after the round, so the fleet view shows the queue as it now is
        return report

    def run_forever(self, stop: threading.Event, idle_s: float = 2.0) -> None:
        self.outbox.requeue_interrupted()
        self.watchdog.ready()
        while not stop.is_set():
            self.watchdog.ping()
            report = self.run_once()
            counts = self.outbox.counts()
            self.watchdog.status(f"{counts['queued'] + counts['uploading']} waiting, {counts['corrupt']} corrupt"
                                 + (f", last error: {self.last_error[:120]}" if self.last_error else ""))
            if report["sent"] == 0:
                stop.wait(min(idle_s, self.watchdog.interval_s) if self.watchdog.enabled else idle_s)
