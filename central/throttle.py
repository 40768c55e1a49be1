"""Throttles: a client that keeps failing waits longer and longer, and that client only.

A lock on an account, or on a dossier number, is a weapon: whoever knows a
login could keep its owner out by failing five times a quarter of an hour,
and whoever knows a number could block its citizen's status check. So no
bucket here belongs to an account or a number alone. Each is a client's
(its address, as :func:`central.clientaddr.client_address` reads it), or a
client's for one account or one number:

* a client that fails on one account waits, from its sixth failure, 30 s,
  then 1, 2, 4 … minutes, at most 15: another client, the owner at their
  desk, is not slowed at all;
* a client that fails on many accounts (password spraying) waits from its
  twentieth failure, at most an hour;
* the status page counts every look-up of a client (200 numbers in a
  second was possible), and its failures per number.

A success forgets the client's failures on that account or number, not the
client's own count. A bucket with no failure for ``forget_s`` starts again.
Counts live in the database, so every process of the service shares them.
Administrators see the active ones and can lift them (the console's
*Freinages* page; « Déverrouiller » on an account lifts every wait on it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.models import Throttle


@dataclass(frozen=True)
class Policy:
    """``free`` failures, then a wait of ``base_s`` doubled at each further failure, up to ``max_s``."""

    free: int
    base_s: float
    max_s: float
    forget_s: float

    def wait_after(self, failures: int) -> float:
        if failures <= self.free:
            return 0.0
        return min(self.max_s, self.base_s * 2 ** min(failures - self.free - 1, 30))


#: scope → its policy. ``*.client`` buckets are keyed by the client alone, the others by client and subject.
POLICIES = {
    "login.account": Policy(free=5, base_s=30, max_s=15 * 60, forget_s=3600),
    "login.client": Policy(free=20, base_s=60, max_s=3600, forget_s=3600),
    "status.number": Policy(free=5, base_s=60, max_s=3600, forget_s=3600),
    "status.client": Policy(free=30, base_s=60, max_s=3600, forget_s=15 * 60),
}
#: The longest key kept: a client's address and a login or a number, already bounded by the forms.
KEY_MAX = 300


@dataclass(frozen=True)
class Bucket:
    scope: str
    key: str

    @classmethod
    def of(cls, scope: str, client: str, subject: str | None = None) -> "Bucket":
        if scope not in POLICIES:
            raise ValueError(f"unknown throttle scope {scope!r}")
        key = client if subject is None else f"{client}|{subject}"
        return cls(scope, key[:KEY_MAX])


class Throttled(Exception):
    """The client must wait ``wait_s`` seconds before it tries again."""

    def __init__(self, wait_s: float) -> None:
        super().__init__(f"wait {wait_s:.0f} s")
        self.wait_s = wait_s

    @property
    def minutes(self) -> int:
        """The wait as the page says it: whole minutes, at least one."""
        return max(1, math.ceil(self.wait_s / 60))


def check(db: Session, buckets: list[Bucket], now: datetime) -> None:
    """Raise :class:`Throttled` if any of ``buckets`` is still waiting."""
    wait = 0.0
    for bucket in buckets:
        row = db.get(Throttle, (bucket.scope, bucket.key))
        if row is not None and row.blocked_until is not None and row.blocked_until > now:
            wait = max(wait, (row.blocked_until - now).total_seconds())
    if wait > 0:
        raise Throttled(wait)


def count(db: Session, buckets: list[Bucket], now: datetime) -> None:
    """One more try that counts (a failure; every status look-up) in each bucket, and its wait, in the caller's
    transaction."""
    for bucket in buckets:
        policy = POLICIES[bucket.scope]
        row = _row(db, bucket, now, policy)
        failures = db.execute(update(Throttle).where(Throttle.scope == bucket.scope, Throttle.key == bucket.key)
                              .values(failures=Throttle.failures + 1, last_at=now)
                              .returning(Throttle.failures)).scalar_one()
        wait = policy.wait_after(failures)
        if wait:
            db.execute(update(Throttle).where(Throttle.scope == row.scope, Throttle.key == row.key)
                       .values(blocked_until=now + timedelta(seconds=wait)))


def forget(db: Session, buckets: list[Bucket]) -> None:
    """A success: these buckets start again."""
    for bucket in buckets:
        db.execute(delete(Throttle).where(Throttle.scope == bucket.scope, Throttle.key == bucket.key))


def active(db: Session, now: datetime) -> list[Throttle]:
    """The buckets that make a client wait now, longest wait first (the administrators' page)."""
    return list(db.scalars(select(Throttle).where(Throttle.blocked_until > now)
                           .order_by(Throttle.blocked_until.desc(), Throttle.scope, Throttle.key)))


def waiting_until(db: Session, scope: str, now: datetime) -> dict[str, datetime]:
    """For each subject (account, number) some client waits on in ``scope``: until when, at the latest."""
    out: dict[str, datetime] = {}
    for row in db.scalars(select(Throttle).where(Throttle.scope == scope, Throttle.blocked_until > now)):
        subject = row.key.rpartition("|")[2]
        out[subject] = max(out.get(subject, row.blocked_until), row.blocked_until)
    return out


def clear(db: Session, scope: str, key: str) -> bool:
    """An administrator lifts a wait: True if there was one."""
    return db.execute(delete(Throttle).where(Throttle.scope == scope, Throttle.key == key)).rowcount > 0


def clear_subject(db: Session, scope: str, subject: str) -> int:
    """Every client's bucket for one account or number (an administrator helping its owner): how many."""
    return db.execute(delete(Throttle).where(Throttle.scope == scope,
                                             Throttle.key.like(f"%|{_escaped(subject)}", escape="\\"))).rowcount


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _row(db: Session, bucket: Bucket, now: datetime, policy: Policy) -> Throttle:
    """The bucket's row, made if missing, started again if forgotten (safe beside another process)."""
    row = db.get(Throttle, (bucket.scope, bucket.key))
    if row is None:
        # Keep the table small: the buckets nobody failed in for longer than any policy remembers.
        db.execute(delete(Throttle).where(Throttle.last_at < now - timedelta(seconds=max(
            p.forget_s for p in POLICIES.values()))))
        try:
            with db.begin_nested():
                row = Throttle(scope=bucket.scope, key=bucket.key, failures=0, last_at=now)
                db.add(row)
        except IntegrityError:  # another process made it meanwhile
            row = db.get(Throttle, (bucket.scope, bucket.key), populate_existing=True)
    elif (now - row.last_at).total_seconds() > policy.forget_s and (
            row.blocked_until is None or row.blocked_until <= now):
        db.execute(update(Throttle).where(Throttle.scope == row.scope, Throttle.key == row.key)
                   .values(failures=0, blocked_until=None))
    return row
