"""The central service's tables (SQLAlchemy 2). Migrations in ``central/migrations`` follow these.

What is personal is kept to what the console and the citizen's status page
need (names, birth date, the dossier's summary); document images,
fingerprints and the signature stay sealed in the blob store exactly as the
kiosk sent them, and are opened only when an authorised agent looks.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (JSON, BigInteger, Date, DateTime, ForeignKey, Index, Integer, String, Text,
                        TypeDecorator, UniqueConstraint, false)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on both engines (SQLite hands back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Role(enum.StrEnum):
    AGENT = "agent"            # validates the dossiers of their own mairie
    SUPERVISOR = "supervisor"  # validates for every mairie
    TECHNICIAN = "technician"  # fleet, devices, enrollment tokens; no personal data
    ADMIN = "admin"            # accounts, sites, tokens, devices, audit log; no personal data


class DossierState(enum.StrEnum):
    RECEIVED = "received"
    VALIDATED = "validated"
    RETURNED = "returned"
    SENT = "sent"  # transmitted to the préfecture


class Site(Base):
    __tablename__ = "sites"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    opening_hours: Mapped[str] = mapped_column(String(300), default="")
    #: The language a kiosk of this mairie greets citizens in ("fr" or "en"), sent when it enrolls.
    default_language: Mapped[str] = mapped_column(String(8), default="fr", server_default="fr")
    #: Its time zone (IANA): a kiosk in Cayenne prints Cayenne's time on its receipts. Sent when it enrolls.
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris", server_default="Europe/Paris")
    #: The reasons an agent of this mairie picks from when returning a dossier (``central.reasons``); None: the defaults.
    return_reasons: Mapped[list[Any] | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16))
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.id"), nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    #: Set when an administrator gave a temporary password: the next login must choose a new one.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A console login. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class EnrollmentToken(Base):
    __tablename__ = "enrollment_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    device_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), index=True)
    kiosk_code: Mapped[str] = mapped_column(String(8), unique=True)
    public_key: Mapped[str] = mapped_column(String(64), unique=True)
    hostname: Mapped[str] = mapped_column(String(100), default="")
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(nullable=True)
    software_version: Mapped[str] = mapped_column(String(40), default="")
    #: The last heartbeat as sent: queue depth by state, oldest queued age, self-test summary.
    heartbeat: Mapped[dict[str, Any]] = mapped_column(default=dict)
    selftest_ok: Mapped[bool | None] = mapped_column(nullable=True)
    selftest_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Counter(Base):
    """Sequences that must not depend on the engine (kiosk codes)."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Predemande(Base):
    """A pré-demande as the online form recorded it (``data`` is its JSON form)."""

    __tablename__ = "predemandes"
    number: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="validated")
    birth_date: Mapped[date] = mapped_column(Date)
    data: Mapped[dict[str, Any]] = mapped_column()
    consumed_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Upload(Base):
    """A package whose manifest is declared and whose parts are arriving (not yet a dossier)."""

    __tablename__ = "uploads"
    dossier_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    manifest: Mapped[dict[str, Any]] = mapped_column()
    signature: Mapped[str] = mapped_column(String(128))
    package_sha256: Mapped[str] = mapped_column(String(64))
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)


class Captured(Base):
    """A dossier a kiosk has told us about (heartbeat or declared upload) but not yet delivered."""

    __tablename__ = "captured"
    dossier_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    predemande_number: Mapped[str] = mapped_column(String(16), default="")
    device_id: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Dossier(Base):
    __tablename__ = "dossiers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    state: Mapped[str] = mapped_column(String(16), default=DossierState.RECEIVED.value)
    created_at: Mapped[datetime]  # at the kiosk
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    package_sha256: Mapped[str] = mapped_column(String(64))
    manifest: Mapped[dict[str, Any]] = mapped_column()
    signature: Mapped[str] = mapped_column(String(128))
    flags: Mapped[list[Any]] = mapped_column(default=list)
    predemande_number: Mapped[str] = mapped_column(String(16), index=True)
    surname: Mapped[str] = mapped_column(String(200), default="")
    given_names: Mapped[str] = mapped_column(String(200), default="")
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: The dossier's JSON (``titres/dossier.py``) less nothing: documents, fingers, case, checklist.
    content: Mapped[dict[str, Any]] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    return_reasons: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: What the citizen is told of a return, in their language and the other (``central.reasons.Notice``).
    return_notice: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    #: Bumped by every verdict and decision: a page drawn at an older version cannot change the dossier.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Who has the dossier open to work on it (a user id), since when, and when their page last said so.
    holder_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    held_since: Mapped[datetime | None] = mapped_column(nullable=True)
    held_seen_at: Mapped[datetime | None] = mapped_column(nullable=True)

    #: The agent's worklist (one mairie) and the supervisor's (every mairie), in reception order: of every
    #: state (« Tous »), and of one state (« À vérifier », oldest first, does not walk two years of decided ones).
    __table_args__ = (Index("dossiers_site_received", "site_id", "received_at"),
                      Index("dossiers_received", "received_at"),
                      Index("dossiers_site_state_received", "site_id", "state", "received_at"),
                      Index("dossiers_state_received", "state", "received_at"))


class Verdict(Base):
    """The agent's verdict on one document of a dossier."""

    __tablename__ = "verdicts"
    dossier_id: Mapped[str] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), primary_key=True)
    requirement: Mapped[str] = mapped_column(String(64), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(24))  # conforme, non_conforme, original
    comment: Mapped[str] = mapped_column(String(500), default="")
    agent: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class DossierEvent(Base):
    """A dossier's history, for the agent and for the citizen's status."""

    __tablename__ = "dossier_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dossier_id: Mapped[str] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")


class AuditEntry(Base):
    """Who looked at or changed what. Written in the same transaction as what it records."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(48))
    dossier_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str] = mapped_column(String(64), default="")


class MailState(enum.StrEnum):
    PENDING = "pending"  # to send (again, after ``next_attempt_at``)
    SENT = "sent"
    FAILED = "failed"    # refused for good by the mail server (a bad address): shown to the agents


class OutgoingMail(Base):
    """A message to a citizen about their dossier, written in the transaction of the decision it tells.

    One per dossier and kind (``returned``, ``validated``): a decision is
    made once, so is its message. The sender (``central.mail``) delivers
    it after the commit and retries until the mail server takes it.
    """

    __tablename__ = "outgoing_mail"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dossier_id: Mapped[str] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(8), default="fr")
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=MailState.PENDING.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (UniqueConstraint("dossier_id", "kind", name="outgoing_mail_once"),
                      Index("outgoing_mail_due", "state", "next_attempt_at"))


class Throttle(Base):
    """A client's failures, alone or on one account or number, and until when it waits (``central.throttle``)."""

    __tablename__ = "throttles"
    scope: Mapped[str] = mapped_column(String(24), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (Index("throttles_blocked_until", "blocked_until"),)


class AgencyCheck(Base):
    """What the agency last said of a pré-demande number (``central.agency``): ``status`` and ``checked_at`` from
    its last answer (none yet: None), ``tried_at`` and ``error`` from the last time it was asked."""

    __tablename__ = "agency_checks"
    number: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    checked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    tried_at: Mapped[datetime] = mapped_column(default=utcnow)
    error: Mapped[str] = mapped_column(String(200), default="")


class AgencyCall(Base):
    """A call the agency must get (``central.appointments``): a dossier's appointment declared, or removed. Made
    in the transaction of what it tells, and retried until the agency takes it; done calls stay, as a record."""

    __tablename__ = "agency_calls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dossier_id: Mapped[str] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(8))  # declare, remove
    number: Mapped[str] = mapped_column(String(16))
    meeting_point: Mapped[str] = mapped_column(String(200))
    meeting_point_id: Mapped[str] = mapped_column(String(64))
    appointment_date: Mapped[str] = mapped_column(String(19))
    management_url: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(8), default="pending")  # pending, done
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (UniqueConstraint("dossier_id", "action", name="agency_calls_once"),
                      Index("agency_calls_due", "state", "next_attempt_at"))


class HelpState(enum.StrEnum):
    OPEN = "open"                  # the citizen asked; no agent has answered yet
    ACKNOWLEDGED = "acknowledged"  # an agent said « J'arrive »; the kiosk shows "Un agent arrive"
    CLOSED = "closed"              # the kiosk closed it (the agent came, or the session ended)


class HelpRequest(Base):
    """A citizen's « Besoin d'aide ? » at a kiosk. Nothing personal: which kiosk, which screen, since when.

    The id is made by the kiosk; ``device_id`` is the only device that may
    update the row. Times are the service's own (a Raspberry Pi has no
    reliable clock): ``raised_at`` and ``screen_since`` are computed from the
    durations the kiosk reports, ``updated_at`` is when the kiosk last spoke.
    """

    __tablename__ = "help_requests"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    screen: Mapped[str] = mapped_column(String(24))
    raised_at: Mapped[datetime]
    screen_since: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default=HelpState.OPEN.value)
    acknowledged_at: Mapped[datetime | None] = mapped_column(nullable=True)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime]

    #: The banner's question on every console page: the live requests, most recently heard of.
    __table_args__ = (Index("help_requests_live", "state", "updated_at"),)
