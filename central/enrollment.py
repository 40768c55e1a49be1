"""Enrollment: one-time tokens for a mairie, exchanged by a kiosk for its place in the fleet.

A token is 128 random bits shown once; only its SHA-256 is stored, so the
database leaks no usable token. Redeeming is one ``UPDATE … WHERE used_at
IS NULL``: two kiosks racing on one token cannot both enroll.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from central.context import Services
from central.models import Counter, Device, EnrollmentToken, Site
from titres.ids import encode
from titres.protocol import ProtocolError

TOKEN_TTL = timedelta(days=7)


def _hash(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()


def slug(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:64] or "site"


class UnknownSite(ValueError):
    """No mairie has this id or name. Mairies are added on purpose (``central.sites.create_site``), never by a
    token or an account that names one: a typo must not make a second mairie."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Aucune mairie « {name[:200]} » : ajoutez-la d'abord (page « Mairies » de la console, "
                         "ou kiosk-central site create).")
        self.name = name


def site_by_name(db: Session, name: str) -> Site | None:
    """A site by its id or its exact name, or None."""
    name = name.strip()
    return db.get(Site, name) or db.scalar(select(Site).where(Site.name == name))


def existing_site(db: Session, name: str) -> Site:
    """As :func:`site_by_name`, but an unknown mairie is an error (:class:`UnknownSite`)."""
    site = site_by_name(db, name)
    if site is None:
        raise UnknownSite(name)
    return site


def new_token() -> str:
    """128 random bits, URL-safe, never starting with ``-``.

    A technician types ``kiosk provision --token TOKEN``; a token starting
    with a dash (1 in 64 of ``token_urlsafe``) is read by the shell tools
    as an option and the enrollment fails for no visible reason.
    """
    while True:
        token = secrets.token_urlsafe(16)
        if not token.startswith("-"):
            return token


@dataclass(frozen=True)
class IssuedToken:
    """A token as it was made: what the console prints on the enrollment sheet."""

    token: str
    site_name: str  # the mairie's name, even when the technician typed its id
    expires_at: datetime


def issue_token(services: Services, site_name: str, created_by: str, ttl: timedelta = TOKEN_TTL) -> IssuedToken:
    """A token for an existing mairie (its id or its name); :class:`UnknownSite` otherwise."""
    token = new_token()
    expires_at = datetime.now(timezone.utc) + ttl
    with services.db() as db, db.begin():
        site = existing_site(db, site_name)
        db.add(EnrollmentToken(token_hash=_hash(token), site_id=site.id, created_by=created_by,
                               expires_at=expires_at))
        return IssuedToken(token, site.name, expires_at)


def create_token(services: Services, site_name: str, created_by: str, ttl: timedelta = TOKEN_TTL) -> str:
    """:func:`issue_token`'s token alone (the shell prints nothing else)."""
    return issue_token(services, site_name, created_by, ttl).token


def _next_kiosk_code(db: Session) -> str:
    """Three characters of Crockford base 32, from a counter: unique across the fleet by construction."""
    value = db.execute(update(Counter).where(Counter.name == "kiosk_code").values(value=Counter.value + 1)
                       .returning(Counter.value)).scalar_one()  # one atomic statement on both engines
    return "K" + encode(value, 3)


def enroll(services: Services, token: str, public_key_hex: str, hostname: str = "",
           software_version: str = "") -> Device:
    try:
        if len(bytes.fromhex(public_key_hex)) != 32:
            raise ValueError
    except (ValueError, TypeError):
        raise ProtocolError("malformed_key", "public_key must be 32 bytes in hex (Ed25519)") from None
    if not isinstance(token, str) or not 8 <= len(token) <= 100:
        raise ProtocolError("bad_token", "this enrollment token is not valid")
    now = datetime.now(timezone.utc)
    device_id = str(uuid.uuid4())
    with services.db() as db, db.begin():
        claimed = db.execute(
            update(EnrollmentToken)
            .where(EnrollmentToken.token_hash == _hash(token), EnrollmentToken.used_at.is_(None),
                   EnrollmentToken.expires_at > now)
            .values(used_at=now, device_id=device_id)
            .returning(EnrollmentToken.site_id)
        ).first()
        if claimed is None:
            raise ProtocolError("bad_token", "this enrollment token is unknown, expired or already used")
        if db.scalar(select(Device.id).where(Device.public_key == public_key_hex.lower())):
            raise ProtocolError("key_in_use", "this public key is already enrolled")
        device = Device(id=device_id, site_id=claimed.site_id, kiosk_code=_next_kiosk_code(db),
                        public_key=public_key_hex.lower(), hostname=str(hostname)[:100],
                        software_version=str(software_version)[:40], enrolled_at=now)
        db.add(device)
    return device


def revoke_device(services: Services, device_id: str, by: str) -> bool:
    with services.db() as db, db.begin():
        device = db.get(Device, device_id)
        if device is None:
            return False
        if device.revoked_at is None:
            device.revoked_at, device.revoked_by = datetime.now(timezone.utc), by[:64]
        return True
