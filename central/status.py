"""The citizen's view of a dossier: its state, by number and date of birth.

Unknown number and wrong birth date get the same answer, so the page cannot
be used to learn which numbers exist. A birth date has few possible values
and numbers are sequential, so a client that keeps getting no answer is
slowed (``central.throttle``: its failures across numbers, and for one
number). Never the number itself: a stranger's guesses must not block its
citizen. Every look-up is audited (``status_lookup``: the number, what was
answered, the client's address).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from central import audit, throttle
from central.context import Services
from central.models import Captured, Dossier, DossierState, Predemande
from central.reasons import Notice
from central.texts import Texts
from titres.ids import is_valid_number, normalise_number


#: How an unreadable number is named in the audit and the throttle: never as typed.
INVALID = "(numéro invalide)"


def canonical_number(text: str) -> str | None:
    chars = normalise_number(text or "")
    if len(chars) < 8 or len(chars) > 10 or not is_valid_number(chars):
        return None
    return f"{chars[:-6]}-{chars[-6:-1]}-{chars[-1]}"


def lookup(services: Services, number: str, birth_date: str | date, client: str = "") -> dict[str, Any] | None:
    """The dossier's state for the citizen, or None (no such number, or another birth date). Raises
    :class:`central.throttle.Throttled` while ``client`` must wait (refused before any read: nothing to audit;
    the log's refusal line says it)."""
    canonical = canonical_number(number)
    try:
        born = birth_date if isinstance(birth_date, date) else date.fromisoformat(str(birth_date).strip())
    except ValueError:
        born = None
    subject = canonical or INVALID  # never what was typed: it may be a name
    buckets = [throttle.Bucket.of("status.client", client), throttle.Bucket.of("status.number", client, subject)]
    now = services.now()
    throttle.take(services.db, buckets, now)
    with services.db() as db, db.begin():
        state, at, dossier = _state(db, canonical, born) if canonical and born else (None, None, None)
        _audit(db, subject, "trouvé" if state else "non trouvé", client)
        if state is None:
            return None
        throttle.untake(db, buckets)  # a right answer is no failure
        returned = dossier is not None and state == DossierState.RETURNED
        reasons = {lang: return_lines(dossier, lang) if returned else [] for lang in ("fr", "en")}
    label = f"status.state.{state}"  # the words of central.texts, as the citizen reads them
    return {"number": canonical, "state": state, "label_fr": Texts("fr")(label), "label_en": Texts("en")(label),
            "updated_at": at.isoformat(timespec="seconds") if isinstance(at, datetime) else None,
            "reasons_fr": reasons["fr"], "reasons_en": reasons["en"]}


def _audit(db, subject: str, outcome: str, client: str) -> None:
    audit.record(db, actor="(public)", role="public", action="status_lookup", detail=f"{subject} : {outcome}",
                 ip=client)


def return_lines(dossier: Dossier, lang: str) -> list[str]:
    """Why ``dossier`` was returned, in ``lang``: its notice's reasons (French where a reason has no English) and
    the agent's note, else the reasons as they were kept before notices existed (French)."""
    notice = Notice.from_dict(dossier.return_notice)
    lines = notice.lines(lang) if notice is not None else []
    return lines or [line.strip() for line in (dossier.return_reasons or "").splitlines() if line.strip()]


def _state(db, canonical: str, born: date) -> tuple[str | None, datetime | None, Dossier | None]:
    dossier = db.scalar(select(Dossier).where(Dossier.number == canonical))
    if dossier is not None:
        if dossier.birth_date != born:
            return None, None, None
        return dossier.state, dossier.sent_at or dossier.decided_at or dossier.received_at, dossier
    captured = db.scalar(select(Captured).where(Captured.number == canonical))
    pd = db.get(Predemande, captured.predemande_number) if captured else None
    if pd is None or pd.birth_date != born:
        return None, None, None
    return "captured", captured.seen_at, None

