"""Transmission of validated dossiers to the préfecture.

The national instruction system's interface is not open to us, so the
stand-in writes each validated dossier's sealed package and manifest to a
directory (one folder per dossier) and marks it sent; a real connector
replaces ``_deliver`` only. A dossier is marked sent in the same
transaction that records the event, after its files are durable.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

from central.context import Services
from central.ingest import part_key
from central.models import Dossier, DossierEvent, DossierState
from titres.durable import make_dir_durably, write_durably


def _deliver(services: Services, dossier: Dossier, out: Path) -> None:
    folder = out / dossier.number
    make_dir_durably(folder)
    for index, part in enumerate(dossier.manifest["parts"]):
        write_durably(folder / f"p{index:03d}.sealed", services.blobs.get(part_key(dossier.id, index, part["sha256"])))
    write_durably(folder / "manifest.json", json.dumps(dossier.manifest, sort_keys=True).encode())


def transmit_validated(services: Services, out: Path | None = None, limit: int = 1000) -> int:
    out = out or services.config.data_dir / "prefecture"
    out.mkdir(parents=True, exist_ok=True)
    sent = 0
    with services.db() as db:
        ids = list(db.scalars(select(Dossier.id).where(Dossier.state == DossierState.VALIDATED.value).limit(limit)))
    for dossier_id in ids:
        with services.db() as db, db.begin():
            dossier = db.get(Dossier, dossier_id, with_for_update=True)
            if dossier is None or dossier.state != DossierState.VALIDATED.value:
                continue  # another process got there first
            _deliver(services, dossier, out)
            dossier.state, dossier.sent_at = DossierState.SENT.value, datetime.now(timezone.utc)
            db.add(DossierEvent(dossier_id=dossier.id, kind="sent", actor="transmission",
                                detail="transmis à la préfecture"))
            sent += 1
    return sent
