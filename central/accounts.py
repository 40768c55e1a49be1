"""Console accounts: passwords, login slowed per client, and sessions kept in the database.

Nothing lives in process memory: failure counts (``central.throttle``) and
sessions are rows, so any process behind a load balancer can serve any request. The
session cookie holds 32 random bytes; the database holds only their SHA-256,
so a copy of the database opens no session. A session ends after
``session_idle_minutes`` without a request, on logout, or when its
password changes, or when the account is disabled or its password reset.

An administrator (the console's *Comptes* page, or ``kiosk-central user``)
disables, enables and unlocks accounts (:data:`ACTIONS`) and resets
passwords. A reset gives a temporary password, shown once: the account must
choose its own at its next login (``must_change_password``), and until then
``central.console.access`` sends every page it asks for to the password
page. So must an account the console creates, whose password its
administrator typed.

Login answers the same way, and spends the same scrypt time, whether the
account is unknown, disabled or the password wrong, and a client that
keeps failing waits whatever it typed: the form cannot be used to learn
which usernames exist. No failure locks an account: the waits are the
failing client's alone (``central.throttle``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from central import audit, throttle
from central.context import Services
from central.models import Role, Site, User, WebSession
from central.passwords import DUMMY_HASH, hash_password, verify_password

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD, MAX_PASSWORD = 12, 200
#: The audit's actor for a login under a name no account has: never what was typed.
UNKNOWN_ACTOR = "(compte inconnu)"


class AccountError(ValueError):
    """A refusal whose message (French) can be shown to the person at the form as is."""


class LoginFailed(AccountError):
    def __init__(self, message: str = "Identifiant ou mot de passe incorrect.") -> None:
        super().__init__(message)


class LoginThrottled(LoginFailed):
    """Too many failures from this client: it waits (``wait``, a :class:`central.throttle.Throttled`; others are
    not slowed)."""

    def __init__(self, wait: throttle.Throttled) -> None:
        minutes = wait.minutes
        super().__init__(f"Trop d'essais depuis ce poste : réessayez dans {minutes} minute"
                         f"{'s' if minutes > 1 else ''}. Un administrateur peut lever cette attente.")
        self.wait = wait


@dataclass(frozen=True)
class Account:
    """Who is making a request: a detached snapshot of the user plus the session's CSRF token."""

    id: int
    username: str
    full_name: str
    role: str
    site_id: str | None
    csrf: str = ""
    #: The password was given by an administrator: nothing but the password page until it is changed.
    must_change_password: bool = False


@dataclass(frozen=True)
class Actor:
    """Who does an administrative action, for the audit log: an account of the console, or a shell."""

    name: str
    role: str
    #: The console account's id; None for ``kiosk-central`` (a shell has no account to protect from itself).
    user_id: int | None = None
    ip: str = ""

    @classmethod
    def of(cls, account: Account, ip: str = "") -> Actor:
        return cls(account.username, account.role, account.id, ip)


#: Letters and digits a person reads aloud or copies from a screen without doubt: no 0/O/o, 1/l/I/i, 5/S/s, 2/Z/z.
TEMPORARY_ALPHABET = "abcdefghjkmnpqrtuvwxyABCDEFGHJKLMNPQRTUVWXY346789"
TEMPORARY_GROUPS, TEMPORARY_GROUP = 4, 5  # 20 characters of 49 in 4 groups: 'Kq7wd-3hRtx-…', over 110 bits


@dataclass(frozen=True)
class TemporaryPassword:
    """What a reset gives, for the page that shows it once: whose account, and the password in clear."""

    username: str
    full_name: str
    password: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def check_password_rules(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"Le mot de passe doit compter de {MIN_PASSWORD} à {MAX_PASSWORD} caractères.")


def create_user(db: Session, username: str, password: str, role: str, site_id: str | None,
                full_name: str = "", temporary: bool = False) -> User:
    """Add an account in the caller's transaction. An agent belongs to exactly one mairie; other roles to none.

    ``temporary``: the password was chosen by someone else (an administrator, for the console's *Comptes*
    page), so the account must replace it at its first login, as after a reset.
    """
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise AccountError("Identifiant : 2 à 64 caractères parmi a-z, 0-9, point, tiret, souligné.")
    try:
        role = Role(role).value
    except ValueError:
        raise AccountError("Rôle inconnu.") from None
    check_password_rules(password)
    if len(full_name) > 200:
        raise AccountError("Le nom complet fait au plus 200 caractères.")
    if role == Role.AGENT:
        if not site_id or db.get(Site, site_id) is None:
            raise AccountError("Un agent est rattaché à une mairie existante.")
    else:
        site_id = None
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError("Cet identifiant est déjà utilisé.")
    user = User(username=username, password_hash=hash_password(password), role=role, site_id=site_id,
                full_name=full_name.strip(), must_change_password=temporary)
    db.add(user)
    db.flush()
    return user


def list_users(db: Session) -> list[User]:
    return list(db.scalars(select(User).order_by(User.username)))


def states(user: User, waits: dict[str, datetime]) -> list[str]:
    """What an account's row says (codes of ``user_state.*`` in ``central.texts``): active, or what stops it.

    ``waits``: :func:`login_waits`; ``throttled`` is a client's wait on this account, not a lock.
    """
    out = []
    if not user.active:
        out.append("disabled")
    if user.username in waits:
        out.append("throttled")
    if user.must_change_password:
        out.append("temporary_password")
    return out or ["active"]


def login_waits(db: Session, now: datetime) -> dict[str, datetime]:
    """Accounts some client must wait to try again: until when (``central.throttle``)."""
    return throttle.waiting_until(db, "login.account", now)


def temporary_password() -> str:
    """A strong password a person can read from a screen and type: 20 unambiguous characters in groups of 5."""
    groups = ("".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(TEMPORARY_GROUP))
              for _ in range(TEMPORARY_GROUPS))
    return "-".join(groups)


def _typed_username(text: str | None) -> str:
    """A username as typed at a form or in a shell: its case and surrounding spaces do not count."""
    return (text or "").strip().lower()[:64]


def _target(db: Session, username: str) -> User:
    user = db.scalar(select(User).where(User.username == _typed_username(username)))
    if user is None:
        raise AccountError("Ce compte n'existe pas.")
    return user


def _close_sessions(db: Session, user_id: int, keep_token: str | None = None) -> None:
    """Close every session of the account, but the one of ``keep_token`` (whoever is changing its password)."""
    q = delete(WebSession).where(WebSession.user_id == user_id)
    if keep_token:
        q = q.where(WebSession.token_hash != token_hash(keep_token))
    db.execute(q)


def _not_oneself(user: User, actor: Actor, message: str) -> None:
    if actor.user_id is not None and actor.user_id == user.id:
        raise AccountError(message)


def _audit(db: Session, actor: Actor, action: str, user: User) -> None:
    audit.record(db, actor=actor.name, role=actor.role, action=action, detail=f"{user.username} ({user.role})",
                 ip=actor.ip)


def disable_user(db: Session, username: str, actor: Actor) -> bool:
    """Refuse the account every login and close its open sessions, in the caller's transaction.

    An administrator cannot disable their own account (so the service always keeps one who can act).
    Returns False when it was already disabled (and then nothing is audited).
    """
    user = _target(db, username)
    _not_oneself(user, actor, "Vous ne pouvez pas désactiver votre propre compte : demandez-le à un autre "
                              "administrateur.")
    if not user.active:
        return False
    user.active = False
    _close_sessions(db, user.id)
    _audit(db, actor, "disable_user", user)
    return True


def enable_user(db: Session, username: str, actor: Actor) -> bool:
    """Let a disabled account log in again (with its password as it was). False when it was active."""
    user = _target(db, username)
    if user.active:
        return False
    user.active = True
    _audit(db, actor, "enable_user", user)
    return True


def unlock_user(db: Session, username: str, actor: Actor) -> bool:
    """Lift every wait set on logins to this account, from any client (its owner, stuck at their desk).

    False when there was none.
    """
    user = _target(db, username)
    if not throttle.clear_subject(db, "login.account", user.username):
        return False
    _audit(db, actor, "unlock_user", user)
    return True


def reset_password(db: Session, username: str, actor: Actor) -> TemporaryPassword:
    """Give the account a temporary password and return it, to be shown once and handed over in person.

    Only its hash is stored; the account must change it at its next login. The waits on it are lifted and
    every open session is closed. The audit line names the account, never the password.
    """
    user = _target(db, username)
    _not_oneself(user, actor, "Pour votre propre compte, changez votre mot de passe à la page « Mot de passe ».")
    password = temporary_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    throttle.clear_subject(db, "login.account", user.username)
    _close_sessions(db, user.id)
    _audit(db, actor, "reset_password", user)
    return TemporaryPassword(user.username, user.full_name, password)


@dataclass(frozen=True)
class Action:
    """An administrator's action on an account, by the name the console's URLs and ``kiosk-central user`` give it."""

    #: Does it in the caller's transaction; False when the account was already so (nothing is then audited).
    run: Callable[[Session, str, Actor], bool]
    #: The account's state after it: ``already disabled`` in the shell, ``notice.user_disabled`` in the console.
    state: str
    #: Why the console asks to tick « Confirmer » first (French, shown when it is not ticked); empty: not asked.
    unconfirmed: str = ""


ACTIONS = {
    "disable": Action(disable_user, "disabled", "Cochez « Confirmer » pour désactiver ce compte."),
    "enable": Action(enable_user, "enabled"),
    "unlock": Action(unlock_user, "unlocked"),
}


def login(services: Services, username: str, password: str, ip: str = "") -> tuple[str, str]:
    """Open a session: returns (session token for the cookie, CSRF token). Raises :class:`LoginFailed`, or
    :class:`LoginThrottled` while this client must wait (``central.throttle``: this client only, never the
    account for everyone)."""
    username = _typed_username(username)
    password = password or ""
    if not username or len(password) > MAX_PASSWORD:
        verify_password("x", DUMMY_HASH)
        raise LoginFailed()
    now = services.now()
    with services.db() as db:
        user = db.scalar(select(User).where(User.username == username))
    buckets = [throttle.Bucket.of("login.client", ip), throttle.Bucket.of("login.account", ip,
                                                                        _throttled_name(services, username, user))]
    try:
        throttle.take(services.db, buckets, now)
    except throttle.Throttled as exc:
        # Refused before any scrypt, and not audited: a waiting client must not cost the service anything (the
        # log's refusal line records it). Known account or not, the same answer.
        raise LoginThrottled(exc) from None
    if user is None or not user.active:
        verify_password(password, DUMMY_HASH)  # the same cost as a real account's
        detail = "compte inconnu ou inactif"
    else:
        detail = "" if verify_password(password, user.password_hash) else "mot de passe"
    with services.db() as db, db.begin():
        if detail:
            # What was typed is recorded only when it names an account: otherwise it may be a password typed
            # into the wrong field ("mairie2026" looks like a username as much as like a password).
            actor, role = (username, user.role) if user is not None else (UNKNOWN_ACTOR, "")
            audit.record(db, actor=actor, role=role, action="login_failed", detail=detail, ip=ip)
        else:
            throttle.forget(db, buckets[1:])  # this client on this account...
            throttle.untake(db, buckets[:1])  # ...and this try was no failure of the client's
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            db.add(WebSession(token_hash=token_hash(token), user_id=user.id, csrf=csrf, created_at=now,
                              last_seen_at=now))
            audit.record(db, actor=username, role=user.role, action="login", ip=ip)
    if detail:
        raise LoginFailed()
    return token, csrf


def _throttled_name(services: Services, typed: str, user: User | None) -> str:
    """The account a client's failures count against: its login, or for a name no account has, a keyed hash
    of what was typed (it may be a password: neither the table nor the *Freinages* page may show it)."""
    if user is not None:
        return user.username
    key = hashlib.sha256(b"kiosk-central: throttled names\0" + bytes(services.keys.signing)).digest()  # its own
    digest = hmac.new(key, typed.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{UNKNOWN_ACTOR} {digest[:12]}"


def authenticate(services: Services, token: str | None, refresh: bool = True) -> Account | None:
    """The account behind a session cookie, or None. Expires idle sessions and refreshes live ones.

    ``refresh=False`` for what a page's script asks by itself (the help banner's polling): an open
    tab must not keep an idle session alive past ``session_idle_minutes``.
    """
    if not token or len(token) > 100:
        return None
    now = services.now()
    idle = timedelta(minutes=services.config.session_idle_minutes)
    with services.db() as db, db.begin():
        row = db.execute(select(WebSession, User).join(User, User.id == WebSession.user_id)
                         .where(WebSession.token_hash == token_hash(token))).first()
        if row is None:
            return None
        session, user = row
        if now - session.last_seen_at > idle or not user.active:
            db.delete(session)
            return None
        if refresh:
            session.last_seen_at = now
        return Account(user.id, user.username, user.full_name, user.role, user.site_id, session.csrf,
                       bool(user.must_change_password))


def logout(services: Services, token: str | None, ip: str = "") -> None:
    if not token:
        return
    with services.db() as db, db.begin():
        row = db.execute(select(WebSession, User).join(User, User.id == WebSession.user_id)
                         .where(WebSession.token_hash == token_hash(token))).first()
        if row is not None:
            db.delete(row[0])
            audit.record(db, actor=row[1].username, role=row[1].role, action="logout", ip=ip)


def change_password(services: Services, user_id: int, old: str, new: str, keep_token: str | None = None,
                    ip: str = "") -> None:
    """Replace a password after checking the old one; every other session of the account is closed.

    A temporary password is then no longer one: the account may use the whole console again.
    """
    check_password_rules(new)
    with services.db() as db, db.begin():
        user = db.get(User, user_id)
        if user is None or len(old) > MAX_PASSWORD or not verify_password(old, user.password_hash):
            raise AccountError("L'ancien mot de passe est incorrect.")
        if old == new:
            raise AccountError("Le nouveau mot de passe doit différer de l'ancien.")
        user.password_hash = hash_password(new)
        user.must_change_password = False
        _close_sessions(db, user_id, keep_token)
        audit.record(db, actor=user.username, role=user.role, action="password_change", ip=ip)
