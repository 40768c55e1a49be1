"""Pré-demandes as the online form recorded them: imported from JSON, served to enrolled kiosks.

The JSON form is the kiosk's (``titres.predemande.PreDemande.from_dict``)
plus the rest of the online form — filiation, contact, adresses — which the
agents' console shows from the service's copy. A kiosk is given less
(:func:`for_kiosk`): what its screens show and its rules read, and only the
status of one it cannot use.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy.orm import Session

from central.context import Services
from central.models import Predemande
from titres.predemande import PreDemande


def _checked(record: Any) -> dict[str, Any]:
    """Refuse a record the kiosk could not read: it is parsed with the kiosk's own parser."""
    if not isinstance(record, dict):
        raise ValueError("a pré-demande is a JSON object")
    try:
        PreDemande.from_dict(record)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"pré-demande {record.get('number', '?')}: {exc}") from exc
    return record


def upsert(db: Session, record: dict[str, Any]) -> None:
    record = _checked(record)
    row = db.get(Predemande, record["number"])
    born = date.fromisoformat(record["person"]["birth_date"])
    status = record.get("status", "validated")
    if row is None:
        db.add(Predemande(number=record["number"], status=status, birth_date=born, data=record))
    elif row.consumed_by is None:  # a consumed one stays consumed whatever the import says
        row.status, row.birth_date, row.data = status, born, record
        row.updated_at = datetime.now(timezone.utc)


def import_records(services: Services, records: Iterable[Any]) -> int:
    count = 0
    with services.db() as db, db.begin():
        for record in records:
            upsert(db, record)
            count += 1
    return count


def import_file(services: Services, path: Path) -> int:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return import_records(services, data if isinstance(data, list) else [data])


def demo_records() -> list[dict[str, Any]]:
    """The demo set the simulated kiosk also knows: adults and minors, every motif."""
    return json.loads((resources.files("titres") / "data" / "demo_predemandes.json").read_text(encoding="utf-8"))


#: What a kiosk is given of a usable pré-demande: the name, birth date and place its screens show, and what
#: its rules read (titles, motif, the facts the form gave). Not the address, the filiation nor the contact.
KIOSK_FIELDS = ("number", "titles", "motif", "nationality", "hosted", "born_abroad_parents_abroad",
                "alternating_residence")
KIOSK_PERSON_FIELDS = ("surname", "given_names", "birth_date", "birth_place", "birth_country", "sex", "usage_name")
#: A kiosk is told only that it cannot use these: nobody is to be identified from a number read at a kiosk.
UNUSABLE = ("consumed", "declared", "expired")


def for_kiosk(db: Session, number: str) -> dict[str, Any] | None:
    """What a kiosk may read of pré-demande ``number`` (None: there is none): see :data:`KIOSK_FIELDS`."""
    row = db.get(Predemande, number)
    if row is None:
        return None
    if row.status in UNUSABLE:
        return {"number": row.number, "status": row.status}
    data = row.data if isinstance(row.data, dict) else {}
    person = data.get("person") if isinstance(data.get("person"), dict) else {}
    return {**{k: data[k] for k in KIOSK_FIELDS if k in data}, "status": row.status,
            "person": {k: person[k] for k in KIOSK_PERSON_FIELDS if k in person}}
