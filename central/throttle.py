"""Throttles: a client that keeps failing waits longer and longer, and that client only.

A lock on an account, or on a dossier number, is a weapon: whoever knows a
login could keep its owner out by failing five times a quarter of an hour,
and whoever knows a number could block its citizen's status check. So no
bucket here belongs to an account or a number alone. Each is a client's
(its address, as :func:`central.clients.client_address` reads it; an IPv6
client by its /64), or a client's for one account or one number:

* after 5 failures on one account, a client waits 30 s, then twice as long
  at each further failure, at most 15 min: another client, the owner at
  their desk, is not slowed at all;
* after 20 failures across accounts (password spraying), at most an hour;
* on the status page, after 5 wrong answers for one number, or 30 across
  numbers (guessing birth dates, walking sequential numbers).

A try is counted before it is made (:func:`take`), so tries sent at once
cannot all slip under the limit; one that succeeds is taken back
(:func:`untake`), and a login forgets the client's failures on that account.
A bucket with no try for ``forget_s`` starts again. Counts live in the
database, so every process of the service shares them. Administrators see
the waits and can lift them (the console's *Freinages* page; « Déverrouiller »
on an account lifts every wait on it).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from central.models import Throttle

log = logging.getLogger("central.throttle")


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
    "status.client": Policy(free=30, base_s=60, max_s=3600, forget_s=3600),
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
        key = _client_key(client) if subject is None else f"{_client_key(client)}|{subject}"
        return cls(scope, key[:KEY_MAX])


def _client_key(address: str) -> str:
    """An IPv6 client by its /64 (one subscriber's line: a client cannot escape by changing its suffix); an IPv4
    client, or anything else, as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)


class Throttled(Exception):
    """The client must wait ``wait_s`` seconds before it tries again."""

    def __init__(self, wait_s: float) -> None:
        super().__init__(f"wait {wait_s:.0f} s")
        self.wait_s = wait_s

    @property
    def minutes(self) -> int:
        """The wait as the page says it: whole minutes, at least one."""
        return max(1, math.ceil(self.wait_s / 60))

    @property
    def retry_after_s(self) -> int:
        """The wait as the answer's ``Retry-After`` says it: the minutes the page said, in seconds."""
        return self.minutes * 60


def take(sessions: sessionmaker[Session], buckets: list[Bucket], now: datetime) -> None:
    """Count one try in each bucket before it is made, in a transaction of its own; raise :class:`Throttled`,
    counting nothing, if a bucket is waiting.

    Counting first is what holds under concurrent tries: each one's UPDATE is
    atomic and takes the row's lock (on SQLite, the database's), so of thirty
    tries sent at once the ones after the limit find the wait set. A try that
    succeeds is taken back (:func:`untake`) or forgotten (:func:`forget`).
    """
    with sessions() as db, db.begin():
        for bucket in buckets:
            policy = POLICIES[bucket.scope]
            count = _increment(db, bucket, policy, now)
            if count is None:
                row = db.get(Throttle, (bucket.scope, bucket.key))
                until = row.blocked_until if row is not None else None  # lifted this very moment: a second
                raise Throttled((until - now).total_seconds() if until else 1.0)  # rolls back what was counted
            wait = policy.wait_after(count)
            if wait:
                db.execute(update(Throttle).where(Throttle.scope == bucket.scope, Throttle.key == bucket.key)
                           .values(blocked_until=now + timedelta(seconds=wait)))
    _clean(sessions, now)


def untake(db: Session, buckets: list[Bucket]) -> None:
    """A counted try that succeeded is no failure: take it back (in the caller's transaction)."""
    for bucket in buckets:
        db.execute(update(Throttle).where(Throttle.scope == bucket.scope, Throttle.key == bucket.key,
                                          Throttle.failures > 0).values(failures=Throttle.failures - 1))


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


def _increment(db: Session, bucket: Bucket, policy: Policy, now: datetime) -> int | None:
    """The bucket's count after this try (started again if forgotten), or None while it waits."""
    where = (Throttle.scope == bucket.scope, Throttle.key == bucket.key)
    forgotten = now - timedelta(seconds=policy.forget_s)
    bump = (update(Throttle).where(*where, or_(Throttle.blocked_until.is_(None), Throttle.blocked_until <= now))
            .values(failures=case((Throttle.last_at < forgotten, 1), else_=Throttle.failures + 1), last_at=now,
                    blocked_until=None)
            .returning(Throttle.failures))
    count = db.execute(bump).scalar_one_or_none()
    if count is not None:
        return count
    if db.scalar(select(Throttle.scope).where(*where)) is not None:
        return None  # the row is there and waiting
    try:
        with db.begin_nested():
            db.add(Throttle(scope=bucket.scope, key=bucket.key, failures=1, last_at=now))
        return 1
    except IntegrityError:  # another process made it meanwhile: count on it
        return db.execute(bump).scalar_one_or_none()


def _clean(sessions: sessionmaker[Session], now: datetime) -> None:
    """Drop, now and then, the buckets nobody tried for longer than any policy remembers: best effort, in a
    transaction of its own (two processes cleaning at once may collide; the next try cleans again)."""
    if secrets.randbelow(100):
        return
    oldest = now - timedelta(seconds=max(p.forget_s for p in POLICIES.values()))
    try:
        with sessions() as db, db.begin():
            db.execute(delete(Throttle).where(Throttle.last_at < oldest,
                                              or_(Throttle.blocked_until.is_(None), Throttle.blocked_until <= now)))
    except DBAPIError as exc:
        log.info("throttle clean-up skipped", extra={"error": type(exc.orig).__name__})
