"""``kiosk queue export DIR``: the sealed packages on a USB stick, for a site cut off for days.

Each dossier becomes a folder ``DIR/<id>/`` holding ``package.json`` (the
wire manifest and the device's signature over it, exactly what an upload
declares) and the sealed parts ``p000.sealed``…, copied as they are: the
stick carries nothing readable. ``kiosk-central import DIR`` feeds them
through the same ingest as an upload, so a dossier exported *and* later
synced is still stored once. Exporting changes nothing in the queue.
"""

from __future__ import annotations

import json
from pathlib import Path

from nacl.signing import SigningKey

from titres.durable import make_dir_durably, write_durably
from kiosk.sync.outbox import Outbox, State
from titres.protocol import sign_manifest

PACKAGE_FILE = "package.json"


def export_queue(outbox: Outbox, device_id: str, key: SigningKey, dest: Path) -> list[str]:
    """Write every dossier not yet acknowledged to ``dest``; return their numbers."""
    dest = Path(dest)
    make_dir_durably(dest)
    exported = []
    for queued in outbox.list(states=(State.QUEUED, State.UPLOADING)):
        package = outbox.package(queued.id, device_id)
        folder = dest / queued.id
        make_dir_durably(folder)
        for index, read in enumerate(package.parts):
            write_durably(folder / f"p{index:03d}.sealed", read())
        body = {"manifest": package.manifest, "signature": package.signature or sign_manifest(package.manifest, key)}
        write_durably(folder / PACKAGE_FILE, json.dumps(body, sort_keys=True).encode())  # last: marks it complete
        exported.append(queued.number)
    return exported
