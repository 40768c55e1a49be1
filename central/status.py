"""The citizen's view of a dossier: its state, by number and date of birth.

Unknown number and wrong birth date get the same answer, so the page cannot
be used to learn which numbers exist. A birth date has few possible values,
so wrong guesses are counted per number (in the database: any process may
answer): after ``MAX_FAILURES`` in ``WINDOW`` the number is refused, right
date or not, until the window ends.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from central.context import Services
from central.models import Captured, Dossier, DossierState, Predemande, StatusAttempts
from central.reasons import Notice
from central.texts import Texts
from titres.ids import is_valid_number, normalise_number

MAX_FAILURES = 10
WINDOW = timedelta(hours=1)


class TooManyAttempts(Exception):
    pass


def _attempts(db, number: str, now: datetime) -> StatusAttempts:
    row = db.get(StatusAttempts, number)
    if row is None:
        db.execute(delete(StatusAttempts).where(StatusAttempts.window_start < now - WINDOW))  # keep the table small
        row = StatusAttempts(number=number, window_start=now, failures=0)
        db.add(row)
        db.flush()
    elif now - row.window_start > WINDOW:
        row.window_start, row.failures = now, 0
    return row


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
    try:
        return _lookup(services, canonical, born)
    except IntegrityError:  # another process counted this number's first attempt at the same moment
        return _lookup(services, canonical, born)


def _lookup(services: Services, canonical: str, born: date) -> dict[str, Any] | None:
    now = datetime.now(timezone.utc)
    with services.db() as db, db.begin():
        attempts = _attempts(db, canonical, now)
        if attempts.failures >= MAX_FAILURES:
            raise TooManyAttempts(canonical)
        state, at, dossier = _state(db, canonical, born)
        if state is None:
            attempts.failures += 1
            return None
        returned = dossier is not None and state == DossierState.RETURNED
        reasons = {lang: return_lines(dossier, lang) if returned else [] for lang in ("fr", "en")}
    label = f"status.state.{state}"  # the words of central.texts, as the citizen reads them
    return {"number": canonical, "state": state, "label_fr": Texts("fr")(label), "label_en": Texts("en")(label),
            "updated_at": at.isoformat(timespec="seconds") if isinstance(at, datetime) else None,
            "reasons_fr": reasons["fr"], "reasons_en": reasons["en"]}


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

