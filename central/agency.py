"""What the service knows of pré-demande numbers at the agency: its last answer for each, reused while recent.

A kiosk's look-up asks the agency first (``central.ants``), with a short
timeout: a citizen is waiting. An answer on record for the number from the
last ``ants_reuse_minutes`` is reused instead, so a citizen who scans twice,
or two kiosks, cost the agency one call. When the agency does not answer,
the look-up goes on without it, as a kiosk offline does, and the number
stays "not checked" (no status, or an older one with its time), which the
agent sees.

The agency is asked outside any database transaction: its time is not the
database's, and a slow agency must not hold a connection.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.ants import REFUSED, AgencyUnavailable
from central.context import Services
from central.models import AgencyCheck

log = logging.getLogger("central.agency")


@dataclass(frozen=True)
class Check:
    """What the service knows of a number's status at the agency: ``status`` None when it never had an answer."""

    status: str | None
    checked_at: datetime | None

    @property
    def refused(self) -> bool:
        return self.status in REFUSED


def last_seen(db: Session, number: str) -> Check:
    """The agency's last answer on record for ``number``."""
    row = db.get(AgencyCheck, number)
    return Check(row.status, row.checked_at) if row is not None else Check(None, None)


def check(services: Services, number: str) -> Check:
    """The agency's status for ``number``, reused if recent, else asked; status None when it could not be had.

    The connector must be on (``services.ants``)."""
    assert services.ants is not None
    now = services.now()
    with services.db() as db:
        seen = last_seen(db, number)
    reuse_for = timedelta(minutes=services.config.ants_reuse_minutes)
    if seen.status is not None and timedelta(0) <= now - seen.checked_at <= reuse_for:
        return seen
    try:
        answer = services.ants.status(number)
    except AgencyUnavailable as exc:
        _record(services, number, None, str(exc))
        log.warning("the agency did not answer: the look-up goes on without its status", extra={"error": str(exc)})
        return Check(None, seen.checked_at)
    _record(services, number, answer.status, "")
    return Check(answer.status, now)


def _record(services: Services, number: str, status: str | None, error: str) -> None:
    """Keep the attempt: an answer replaces the status and its time; a failure only says when and why."""
    now = services.now()
    values = {"tried_at": now, "error": error[:200]}
    if status is not None:
        values.update(status=status, checked_at=now)
    for _ in range(2):  # two processes may record the same number first: the loser updates
        with services.db() as db, db.begin():
            if db.execute(update(AgencyCheck).where(AgencyCheck.number == number).values(**values)).rowcount:
                return
            try:
                with db.begin_nested():
                    db.add(AgencyCheck(number=number, **values))
                return
            except IntegrityError:
                continue
