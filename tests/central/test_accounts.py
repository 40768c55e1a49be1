"""Console accounts: login, lockout, sessions and passwords, all kept in the database."""

from __future__ import annotations

import hashlib
import time

import pytest
from sqlalchemy import func, select

from central import accounts
from central.accounts import AccountError, AccountLocked, LoginFailed, create_user
from central.models import AuditEntry, Site, User, WebSession

PASSWORD = "correct-horse-battery"


@pytest.fixture
def clock(services):
    """A settable clock: sessions and lockouts read ``services.clock``."""
    now = [time.time()]
    services.clock = lambda: now[0]
    return now


@pytest.fixture
def agent(services):
    with services.db() as db, db.begin():
        db.add(Site(id="trebes", name="Mairie de Trèbes"))
        db.flush()
        create_user(db, "camille", PASSWORD, "agent", "trebes", "Camille Agent")
    return "camille"


def _user(services, username: str) -> User:
    with services.db() as db:
        return db.scalar(select(User).where(User.username == username))


def test_login_opens_a_session_stored_only_as_a_hash(services, agent):
    token, csrf = accounts.login(services, "camille", PASSWORD, "10.0.0.1")
    with services.db() as db:
        rows = list(db.scalars(select(WebSession)))
    assert len(rows) == 1
    assert rows[0].token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (rows[0].token_hash, rows[0].csrf)
    account = accounts.authenticate(services, token)
    assert (account.username, account.role, account.site_id, account.csrf) == ("camille", "agent", "trebes", csrf)


def test_username_is_not_case_sensitive_but_the_password_is(services, agent):
    accounts.login(services, "  Camille ", PASSWORD)
    with pytest.raises(LoginFailed):
        accounts.login(services, "camille", PASSWORD.upper())


def test_wrong_password_and_unknown_user_get_the_same_refusal(services, agent):
    with pytest.raises(LoginFailed) as wrong:
        accounts.login(services, "camille", "not-the-password")
    with pytest.raises(LoginFailed) as unknown:
        accounts.login(services, "nobody", "not-the-password")
    assert str(wrong.value) == str(unknown.value)
    assert _user(services, "camille").failed_logins == 1


def test_unknown_user_costs_a_password_hash_like_a_real_one(services, agent, monkeypatch):
    checked = []
    real = accounts.verify_password
    monkeypatch.setattr(accounts, "verify_password", lambda p, h: checked.append(h) or real(p, h))
    with pytest.raises(LoginFailed):
        accounts.login(services, "nobody", "whatever-password")
    assert checked == [accounts.DUMMY_HASH]


def test_lockout_after_max_failures_refuses_even_the_right_password(services, agent, clock):
    for _ in range(services.config.login_max_failures):
        with pytest.raises(LoginFailed):
            accounts.login(services, "camille", "wrong-password-x")
    with pytest.raises(AccountLocked) as locked:
        accounts.login(services, "camille", PASSWORD)
    assert str(locked.value) == str(LoginFailed())  # a lock does not reveal that the account exists
    assert _user(services, "camille").locked_until is not None


def test_lockout_ends_after_the_configured_minutes(services, agent, clock):
    for _ in range(services.config.login_max_failures):
        with pytest.raises(LoginFailed):
            accounts.login(services, "camille", "wrong-password-x")
    clock[0] += services.config.login_lockout_minutes * 60 + 1
    token, _ = accounts.login(services, "camille", PASSWORD)
    assert accounts.authenticate(services, token) is not None
    user = _user(services, "camille")
    assert (user.failed_logins, user.locked_until) == (0, None)


def test_a_success_resets_the_failure_count(services, agent):
    for _ in range(services.config.login_max_failures - 1):
        with pytest.raises(LoginFailed):
            accounts.login(services, "camille", "wrong-password-x")
    accounts.login(services, "camille", PASSWORD)
    assert _user(services, "camille").failed_logins == 0


def test_disabled_account_cannot_log_in_and_loses_its_sessions(services, agent):
    token, _ = accounts.login(services, "camille", PASSWORD)
    with services.db() as db, db.begin():
        db.scalar(select(User).where(User.username == "camille")).active = False
    assert accounts.authenticate(services, token) is None
    with pytest.raises(LoginFailed):
        accounts.login(services, "camille", PASSWORD)


def test_idle_session_expires_and_activity_keeps_it_alive(services, agent, clock):
    token, _ = accounts.login(services, "camille", PASSWORD)
    idle = services.config.session_idle_minutes * 60
    clock[0] += idle - 5
    assert accounts.authenticate(services, token) is not None  # refreshes last_seen_at
    clock[0] += idle - 5
    assert accounts.authenticate(services, token) is not None
    clock[0] += idle + 1
    assert accounts.authenticate(services, token) is None
    with services.db() as db:
        assert db.scalar(select(func.count()).select_from(WebSession)) == 0


def test_logout_deletes_the_session(services, agent):
    token, _ = accounts.login(services, "camille", PASSWORD)
    accounts.logout(services, token)
    assert accounts.authenticate(services, token) is None
    assert accounts.authenticate(services, "forged-token") is None


def test_password_change_checks_the_old_one_and_closes_other_sessions(services, agent):
    mine, _ = accounts.login(services, "camille", PASSWORD)
    other, _ = accounts.login(services, "camille", PASSWORD)
    user_id = _user(services, "camille").id
    with pytest.raises(AccountError):
        accounts.change_password(services, user_id, "wrong-old-password", "a-brand-new-password")
    with pytest.raises(AccountError):
        accounts.change_password(services, user_id, PASSWORD, "short")
    accounts.change_password(services, user_id, PASSWORD, "a-brand-new-password", keep_token=mine)
    assert accounts.authenticate(services, mine) is not None
    assert accounts.authenticate(services, other) is None
    with pytest.raises(LoginFailed):
        accounts.login(services, "camille", PASSWORD)
    accounts.login(services, "camille", "a-brand-new-password")


@pytest.mark.parametrize("username, password, role, site, message", [
    ("Bad Name!", PASSWORD, "agent", "trebes", "Identifiant"),
    ("lea", "short", "agent", "trebes", "mot de passe"),
    ("lea", PASSWORD, "wizard", None, "Rôle"),
    ("lea", PASSWORD, "agent", None, "mairie"),
    ("lea", PASSWORD, "agent", "no-such-site", "mairie"),
    ("camille", PASSWORD, "agent", "trebes", "déjà utilisé"),
])
def test_create_user_refuses_bad_accounts_with_a_french_reason(services, agent, username, password, role, site,
                                                                message):
    with pytest.raises(AccountError, match=message):
        with services.db() as db, db.begin():
            create_user(db, username, password, role, site, "")


def test_only_agents_belong_to_a_mairie(services, agent):
    with services.db() as db, db.begin():
        user = create_user(db, "nadia", PASSWORD, "supervisor", "trebes", "Nadia")
        assert user.site_id is None


def test_logins_and_failures_are_audited_without_recording_passwords(services, agent):
    accounts.login(services, "camille", PASSWORD, "10.0.0.9")
    with pytest.raises(LoginFailed):
        accounts.login(services, "camille", "typed-by-mistake", "10.0.0.9")
    with services.db() as db:
        rows = list(db.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [(r.actor, r.action, r.ip) for r in rows] == [("camille", "login", "10.0.0.9"),
                                                        ("camille", "login_failed", "10.0.0.9")]
    assert all("typed-by-mistake" not in r.detail for r in rows)


def test_a_password_typed_as_username_is_not_logged(services, agent):
    with pytest.raises(LoginFailed):
        accounts.login(services, "My Secret Pass!", "whatever-password")
    with services.db() as db:
        actors = list(db.scalars(select(AuditEntry.actor)))
    assert actors == ["(identifiant invalide)"]
