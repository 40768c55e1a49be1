"""The central service's configuration: one typed object from the command line and the environment.

Nothing else reads ``os.environ``. Every process of a deployment gets the
same settings; none keeps state of its own (sessions, tokens, rate counters
and keys live in the database or the data directory), so several API
processes can run behind a load balancer on one PostgreSQL.

==========================  ===================================================
``KIOSK_CENTRAL_DATA``      data directory: SQLite file, blob store, keys
``KIOSK_CENTRAL_DB``        database URL (``postgresql+psycopg://…``); default
                            SQLite at ``<data>/central.db``
``KIOSK_CENTRAL_BLOBS``     ``fs`` (default, ``<data>/blobs``) or ``s3``
``KIOSK_CENTRAL_S3_*``      ``BUCKET``, ``ENDPOINT``, ``PREFIX`` for ``s3``
``KIOSK_CENTRAL_SECURE_COOKIES``  ``0`` only for plain-HTTP development
``KIOSK_CENTRAL_PUBLIC_URL``  where citizens reach the service (the status page
                            printed on receipts); default: the address a
                            kiosk enrolled at
``KIOSK_CENTRAL_SESSION_IDLE_MINUTES``  an agent's console session ends after
                            this many minutes without a click (default 30,
                            5 to 480)
``KIOSK_CENTRAL_SMTP_URL``  the mail server that tells citizens their dossier
                            was returned or validated:
                            ``smtp://host:25``, ``smtp+starttls://user@host:587``
                            or ``smtps://user@host:465``; unset: no mail is
                            sent, and the console says so
``KIOSK_CENTRAL_SMTP_PASSWORD``  that server's password (never logged)
``KIOSK_CENTRAL_MAIL_FROM``  the sender's address (``ne-pas-repondre@mairie.fr``)
``KIOSK_CENTRAL_TRUSTED_PROXIES``  the reverse proxies (addresses or networks,
                            comma-separated: ``127.0.0.1,10.0.0.0/24``) whose
                            ``X-Forwarded-For`` names the client; unset: the
                            loopback's (a local nginx); ``none``: nobody
``KIOSK_CENTRAL_LOG_LEVEL``  ``DEBUG``, ``INFO`` (default), ``WARNING`` or
                            ``ERROR``: the service's JSON log lines on stderr
``KIOSK_CENTRAL_ANTS_URL``  the agency's coordination API (``central.ants``),
                            e.g. ``https://api-coordination.rendezvouspasseport.ants.gouv.fr/api``;
                            unset: the connector is off
``KIOSK_CENTRAL_ANTS_TOKEN``  its token (``x-rdv-opt-auth-token``): from the
                            environment only, never logged
``KIOSK_CENTRAL_ANTS_TIMEOUT_S``  how long a look-up waits for the agency
                            (default 3, 0.5 to 30)
``KIOSK_CENTRAL_ANTS_REUSE_MINUTES``  an answer on record this recent is
                            reused rather than asked again (default 10,
                            0 to 1440)
==========================  ===================================================
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import unquote, urlsplit


#: Whom ``X-Forwarded-For`` is believed from when the setting is absent: a reverse proxy on the same host, the
#: documented deployment (``--host 127.0.0.1`` behind nginx). ``none`` believes nobody.
LOOPBACK_PROXIES = ("127.0.0.1", "::1")
#: The loopback by name too: where plain HTTP may carry a secret (the agency's emulator).
LOOPBACK_HOSTS = (*LOOPBACK_PROXIES, "localhost")


@dataclass(frozen=True)
class CentralConfig:
    data_dir: Path = Path("var/central")
    db_url: str = ""
    blob_backend: str = "fs"
    s3_bucket: str = ""
    s3_endpoint: str = ""
    s3_prefix: str = ""
    #: Agents' console sessions end after this much inactivity.
    session_idle_minutes: int = 30
    #: Cookies marked Secure: the console is served over HTTPS in production.
    secure_cookies: bool = True
    #: Staged parts of packages never committed are deleted after this many days.
    staging_retention_days: int = 14
    #: The service's address for citizens (``https://titres.example.fr``): kiosks print its status page.
    public_url: str = ""
    #: The mail server for citizens' notices (``central.mail``); empty: none is sent.
    smtp_url: str = ""
    smtp_password: str = field(default="", repr=False)
    mail_from: str = ""
    #: Reverse proxies whose ``X-Forwarded-For`` is believed (``central.clients``); no one else's.
    trusted_proxies: tuple[str, ...] = LOOPBACK_PROXIES
    #: The least important log lines written (``titres.logs``: JSON lines on stderr, for journald).
    log_level: str = "INFO"
    #: The agency's coordination API (``central.ants``); empty: the connector is off.
    ants_url: str = ""
    ants_token: str = field(default="", repr=False)
    ants_timeout_s: float = 3.0
    #: An agency answer this recent is reused instead of asking again.
    ants_reuse_minutes: int = 10

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{(self.data_dir / 'central.db').resolve()}"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def blobs_dir(self) -> Path:
        return self.data_dir / "blobs"


class ConfigError(ValueError):
    """A setting the service cannot start with; the message names it and says what is accepted."""


def _minutes(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigError(f"{name}={raw!r}: a whole number of minutes from {low} to {high} is expected")
    return int(raw)


def _seconds(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # NaN fails too
        raise ConfigError(f"{name}={raw!r}: a number of seconds from {low:g} to {high:g} is expected")
    return value


def check_ants(config: CentralConfig) -> None:
    """The agency's address is HTTPS (a loopback address may be plain HTTP: the emulator), and comes with a token:
    else the service refuses to start, rather than send the token in clear or ask without one."""
    if not config.ants_url:
        return
    parts = urlsplit(config.ants_url)
    loopback = parts.hostname in LOOPBACK_HOSTS
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ConfigError(f"KIOSK_CENTRAL_ANTS_URL must be https:// (http:// on the loopback only, for the "
                          f"emulator), not {parts.scheme or 'no scheme'}")
    if not config.ants_token:
        raise ConfigError("KIOSK_CENTRAL_ANTS_URL is set without KIOSK_CENTRAL_ANTS_TOKEN (the agency's token)")
    if not config.public_url:
        raise ConfigError("KIOSK_CENTRAL_ANTS_URL needs KIOSK_CENTRAL_PUBLIC_URL (--public-url): the agency links "
                          "each appointment to the citizen's status page")


#: The mail server's schemes and their default ports: plain (a relay on the host or its network), STARTTLS, TLS.
SMTP_SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")
_DOMAIN = re.compile(r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                     r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")


def plain_address(text: object) -> str | None:
    """``text`` if it is one plain e-mail address fit for a header, else None.

    One ``@``, at most 254 characters, ASCII letters, digits and the
    punctuation RFC 5321 allows in a local part, and a domain of dotted
    labels: no space, newline, comma, angle bracket or quote, so an address
    can never add a header or a second recipient. Stricter than the RFC on
    purpose (no quoted local parts, no international addresses).
    """
    if not isinstance(text, str) or len(text) > 254 or text.count("@") != 1:
        return None
    local, domain = text.split("@")
    return text if _LOCAL.fullmatch(local) and _DOMAIN.fullmatch(domain) else None


@dataclass(frozen=True)
class SmtpServer:
    """``KIOSK_CENTRAL_SMTP_URL`` read: where to connect, how, and as whom (the password stays in the config)."""

    scheme: str
    host: str
    port: int
    user: str = ""

    @property
    def tls(self) -> bool:
        return self.scheme == "smtps"

    @property
    def starttls(self) -> bool:
        return self.scheme == "smtp+starttls"


def smtp_server(url: str) -> SmtpServer:
    """Read a mail server's URL (``smtp://host:25``, ``smtp+starttls://user@host:587``, ``smtps://user@host:465``)."""
    name = "KIOSK_CENTRAL_SMTP_URL"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    if parts.scheme not in SMTP_SCHEMES:
        raise ConfigError(f"{name}: the scheme is smtp://, smtp+starttls:// or smtps://, not {parts.scheme or 'none'}")
    if not parts.hostname:
        raise ConfigError(f"{name}: no host")
    if parts.password is not None:
        raise ConfigError(f"{name}: put the password in KIOSK_CENTRAL_SMTP_PASSWORD, not in the URL")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(f"{name}: only a scheme, a user, a host and a port are expected")
    user = unquote(parts.username or "")
    if user and parts.scheme == "smtp":
        raise ConfigError(f"{name}: a login is sent only over TLS: use smtp+starttls:// or smtps://")
    return SmtpServer(parts.scheme, parts.hostname, port or SMTP_SCHEMES[parts.scheme], user)


def check_mail(config: CentralConfig) -> SmtpServer | None:
    """The mail server of ``config``, checked with its sender and password; None when no mail is to be sent."""
    if not config.smtp_url:
        return None
    server = smtp_server(config.smtp_url)
    if not config.mail_from:
        raise ConfigError("KIOSK_CENTRAL_MAIL_FROM is needed with KIOSK_CENTRAL_SMTP_URL: the address citizens' "
                          "mail is sent from (ne-pas-repondre@mairie.fr)")
    if plain_address(config.mail_from) is None:
        raise ConfigError(f"KIOSK_CENTRAL_MAIL_FROM={config.mail_from!r}: one plain address is expected "
                          "(ne-pas-repondre@mairie.fr)")
    if server.user and not config.smtp_password:
        raise ConfigError("KIOSK_CENTRAL_SMTP_PASSWORD is needed: KIOSK_CENTRAL_SMTP_URL names a user")
    return server


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _networks(text: str) -> tuple[str, ...]:
    """Addresses and networks, each checked (a typo would silently trust nobody, or the wrong machine)."""
    text = text.strip()
    if not text:
        return LOOPBACK_PROXIES
    if text.lower() == "none":
        return ()
    out = []
    for item in (part.strip() for part in text.split(",")):
        if item:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"KIOSK_CENTRAL_TRUSTED_PROXIES: {item!r} is not an address or a network") from None
            out.append(item)
    return tuple(out)


def _log_level(text: str) -> str:
    level = text.strip().upper() or CentralConfig.log_level
    if level not in LOG_LEVELS:
        raise ValueError(f"KIOSK_CENTRAL_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {text!r}")
    return level


def load_config(env: Mapping[str, str] | None = None, *, data_dir: str | None = None,
                db_url: str | None = None, ants_url: str | None = None) -> CentralConfig:
    """Command-line values win over the environment, which wins over the defaults."""
    env = os.environ if env is None else env
    secure = env.get("KIOSK_CENTRAL_SECURE_COOKIES", "1").strip().lower() not in ("0", "false", "no", "off")
    config = CentralConfig(
        data_dir=Path(data_dir or env.get("KIOSK_CENTRAL_DATA") or "var/central"),
        db_url=db_url or env.get("KIOSK_CENTRAL_DB", ""),
        blob_backend=env.get("KIOSK_CENTRAL_BLOBS", "fs"),
        s3_bucket=env.get("KIOSK_CENTRAL_S3_BUCKET", ""),
        s3_endpoint=env.get("KIOSK_CENTRAL_S3_ENDPOINT", ""),
        s3_prefix=env.get("KIOSK_CENTRAL_S3_PREFIX", ""),
        secure_cookies=secure,
        public_url=env.get("KIOSK_CENTRAL_PUBLIC_URL", "").strip().rstrip("/"),
        session_idle_minutes=_minutes(env, "KIOSK_CENTRAL_SESSION_IDLE_MINUTES", CentralConfig.session_idle_minutes,
                                      5, 480),
        smtp_url=env.get("KIOSK_CENTRAL_SMTP_URL", "").strip(),
        smtp_password=env.get("KIOSK_CENTRAL_SMTP_PASSWORD", ""),
        mail_from=env.get("KIOSK_CENTRAL_MAIL_FROM", "").strip(),
        log_level=_log_level(env.get("KIOSK_CENTRAL_LOG_LEVEL", "")),
        trusted_proxies=_networks(env.get("KIOSK_CENTRAL_TRUSTED_PROXIES", "")),
        ants_url=(ants_url or env.get("KIOSK_CENTRAL_ANTS_URL", "")).strip().rstrip("/"),
        ants_token=env.get("KIOSK_CENTRAL_ANTS_TOKEN", ""),
        ants_timeout_s=_seconds(env, "KIOSK_CENTRAL_ANTS_TIMEOUT_S", CentralConfig.ants_timeout_s, 0.5, 30.0),
        ants_reuse_minutes=_minutes(env, "KIOSK_CENTRAL_ANTS_REUSE_MINUTES", CentralConfig.ants_reuse_minutes,
                                    0, 1440),
    )
    check_ants(config)
    check_mail(config)  # a mail server without a sender (or a password) stops the service at its start
    return config
