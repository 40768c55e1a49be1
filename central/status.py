"""The citizen's view of a dossier: its state, by number and date of birth.

Unknown number and wrong birth date get the same answer, so the page cannot
be used to learn which numbers exist or to guess a birth date one number at
a time faster than by chance.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from central.context import Services
from central.models import Captured, Dossier, Predemande
from kiosk.ids import is_valid_number, normalise_number

LABELS = {
    "captured": ("Enregistré à la borne, en attente de transmission", "Captured at the kiosk, waiting to be sent"),
    "received": ("Reçu, en attente de vérification par un agent", "Received, waiting for an agent's check"),
    "validated": ("Validé par la mairie", "Validated by the town hall"),
    "returned": ("Renvoyé : la mairie vous contactera", "Returned: the town hall will contact you"),
    "sent": ("Transmis à la préfecture pour instruction", "Sent to the préfecture"),
}


def canonical_number(text: str) -> str | None:
    chars = normalise_number(text or "")
    if len(chars) < 8 or len(chars) > 10 or not is_valid_number(chars):
        return None
    return f"{chars[:-6]}-{chars[-6:-1]}-{chars[-1]}"


def lookup(services: Services, number: str, birth_date: str | date) -> dict[str, Any] | None:
    canonical = canonical_number(number)
    try:
        born = birth_date if isinstance(birth_date, date) else date.fromisoformat(str(birth_date).strip())
    except ValueError:
        return None
    if canonical is None:
        return None
    with services.db() as db:
        dossier = db.scalar(select(Dossier).where(Dossier.number == canonical))
        if dossier is not None:
            if dossier.birth_date != born:
                return None
            state, at = dossier.state, dossier.sent_at or dossier.decided_at or dossier.received_at
        else:
            captured = db.scalar(select(Captured).where(Captured.number == canonical))
            pd = db.get(Predemande, captured.predemande_number) if captured else None
            if pd is None or pd.birth_date != born:
                return None
            state, at = "captured", captured.seen_at
    fr, en = LABELS[state]
    return {"number": canonical, "state": state, "label_fr": fr, "label_en": en,
            "updated_at": at.isoformat(timespec="seconds") if isinstance(at, datetime) else None}
