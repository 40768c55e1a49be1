"""A kiosk process that only submits dossiers, built from the app's own parts, for the kill -9 test.

It opens the outbox exactly as the app does at start (``open_outbox`` with
recovery, the provisioned device's signer) and submits dossiers of random
bytes in a loop. Before each submit it prints ``begin ID`` and after
``submit`` returns ``done ID NUMBER``, one ``write`` each, so the test
knows which dossiers were promised to a citizen (a receipt would print
only after ``done``) and which were cut in the middle.

Usage: python submitter.py DATA_DIR PART_BYTES PARTS PAUSE_S
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from kiosk.config import load_config
from titres.dossier import Dossier
from titres.ids import uuid7
from kiosk.runtime import open_outbox


def new_dossier(site_id: str, kiosk_code: str, part_bytes: int, parts: int) -> Dossier:
    dossier = Dossier(
        id=str(uuid7()), site_id=site_id, kiosk_code=kiosk_code,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), language="fr",
        predemande_number="A1B2C3D4E5", predemande_fetched=False, predemande=None,
        case={"title": "cni", "motif": "renewal"}, checklist=[f"doc{i}" for i in range(parts)],
    )
    for i in range(parts):
        dossier.attach(f"documents/doc{i}", "image/jpeg", os.urandom(part_bytes))
    return dossier


def main(data_dir: str, part_bytes: str, parts: str, pause_s: str) -> None:
    config = load_config(data_dir=Path(data_dir))
    with open_outbox(config, recover=True) as outbox:
        while True:
            dossier = new_dossier(config.site.site_id, config.site.kiosk_code, int(part_bytes), int(parts))
            sys.stdout.write(f"begin {dossier.id}\n")
            sys.stdout.flush()
            number = outbox.submit(dossier, lambda n: {"dossier_number": n})
            sys.stdout.write(f"done {dossier.id} {number}\n")
            sys.stdout.flush()
            time.sleep(float(pause_s))


if __name__ == "__main__":
    main(*sys.argv[1:])
