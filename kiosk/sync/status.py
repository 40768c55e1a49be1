"""What the sync worker last knew of the central service, for the maintenance screen and ``kiosk status``.

The worker is another process (``kiosk-sync.service``); the UI cannot ask it
anything. So the worker leaves a small JSON file in the data directory:
when it last reached the service, when it last delivered a dossier, its
last error. It is rewritten only when one of those changes (a delivery, a
new error, a heartbeat a minute), not at every idle round, to spare the SD
card, and without fsync: losing it in a power cut loses a status line, not data.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

STATUS_FILE = "sync-status.json"


@dataclass(frozen=True)
class SyncStatus:
    #: Unix times; 0 means never.
    last_contact_at: float = 0.0
    last_delivery_at: float = 0.0
    last_error: str = ""
    last_error_at: float = 0.0

    def contact(self, now: float) -> "SyncStatus":
        return replace(self, last_contact_at=now, last_error="")

    def delivered(self, now: float) -> "SyncStatus":
        return replace(self, last_contact_at=now, last_delivery_at=now, last_error="")

    def failed(self, error: str, now: float) -> "SyncStatus":
        """``last_error_at`` is when this error was first seen: the same error again changes nothing (and
        the file is not rewritten at every retry)."""
        error = error[:500]
        return self if error == self.last_error else replace(self, last_error=error, last_error_at=now)


def write_status(data_dir: Path, status: SyncStatus) -> None:
    path = Path(data_dir) / STATUS_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(status), ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def read_status(data_dir: Path) -> SyncStatus | None:
    """The worker's last status, or None if it never wrote one (not provisioned, never started)."""
    try:
        data = json.loads((Path(data_dir) / STATUS_FILE).read_text(encoding="utf-8"))
        return SyncStatus(**{k: data[k] for k in asdict(SyncStatus()) if k in data})
    except (OSError, ValueError, TypeError):
        return None
