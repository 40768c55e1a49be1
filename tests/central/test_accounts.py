"""Console accounts: login, its throttle per client, sessions and passwords, all kept in the database."""

from __future__ import annotations

import hashlib
import io
import json
import re
import time

import pytest
from sqlalchemy import func, select

from central import accounts, throttle
from central.accounts import AccountError, LoginFailed, LoginThrottled, create_user
from central.models import AuditEntry, Site, Throttle, User, WebSession
from test_console import login

PASSWORD = "correct-horse-battery"


@pytest.fixture
def clock(services):
    """A settable clock: sessions and throttles read ``services.clock``."""
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
    counted = _failures(services, "login.account")
    assert counted.pop("|camille") == 1
    [(name, count)] = counted.items()  # the unknown name under a keyed hash, never as typed
    assert count == 1 and name.startswith(f"|{accounts.UNKNOWN_ACTOR} ") and "nobody" not in name


def test_unknown_user_costs_a_password_hash_like_a_real_one(services, agent, monkeypatch):
    checked = []
    real = accounts.verify_password
    monkeypatch.setattr(accounts, "verify_password", lambda p, h: checked.append(h) or real(p, h))
    with pytest.raises(LoginFailed):
        accounts.login(services, "nobody", "whatever-password")
    assert checked == [accounts.DUMMY_HASH]


def _failures(services, scope: str) -> dict[str, int]:
    with services.db() as db:
        return {row.key: row.failures for row in db.scalars(select(Throttle).where(Throttle.scope == scope))}


def _fail(services, username: str, times: int, ip: str = "10.0.0.9") -> None:
    """``times`` wrong passwords, each tried (refused as wrong, not as waiting)."""
    for _ in range(times):
        with pytest.raises(LoginFailed) as refused:
            accounts.login(services, username, "wrong-password-x", ip)
        assert type(refused.value) is LoginFailed


def _wait_s(services, scope: str, key: str) -> float:
    with services.db() as db:
        return (db.get(Throttle, (scope, key)).blocked_until - services.now()).total_seconds()


def test_a_client_that_keeps_failing_waits_and_the_owner_elsewhere_does_not(services, agent, clock):
    free = throttle.POLICIES["login.account"].free
    _fail(services, "camille", free)
    with pytest.raises(LoginThrottled) as waiting:
        _fail(services, "camille", 1)  # the sixth failure sets the first wait...
        accounts.login(services, "camille", PASSWORD, "10.0.0.9")
    assert "réessayez dans 1 minute" in str(waiting.value)
    with pytest.raises(LoginThrottled):  # ...which the right password does not shorten, from this client
        accounts.login(services, "camille", PASSWORD, "10.0.0.9")
    token, _ = accounts.login(services, "camille", PASSWORD, "10.0.0.50")  # the owner, at another desk
    assert accounts.authenticate(services, token) is not None


def test_waits_double_at_each_failure_up_to_their_limit_then_end(services, agent, clock):
    policy = throttle.POLICIES["login.account"]
    assert [policy.wait_after(policy.free + k) for k in (1, 2, 3)] == [30, 60, 120]
    assert policy.wait_after(policy.free + 30) == policy.max_s
    _fail(services, "camille", policy.free + 1)
    assert _wait_s(services, "login.account", "10.0.0.9|camille") == 30
    clock[0] += 31
    _fail(services, "camille", 1)  # the seventh: a minute
    assert _wait_s(services, "login.account", "10.0.0.9|camille") == 60
    with pytest.raises(LoginThrottled):
        accounts.login(services, "camille", PASSWORD, "10.0.0.9")
    assert _wait_s(services, "login.account", "10.0.0.9|camille") == 60  # a refused try does not count
    clock[0] += 61
    token, _ = accounts.login(services, "camille", PASSWORD, "10.0.0.9")
    assert accounts.authenticate(services, token) is not None
    assert "10.0.0.9|camille" not in _failures(services, "login.account")  # a success forgets them


def test_a_client_trying_many_accounts_waits_whichever_it_tries_next(services, agent, clock):
    free = throttle.POLICIES["login.client"].free
    for k in range(free + 1):
        _fail(services, f"user{k:02d}", 1)
    with pytest.raises(LoginThrottled):
        accounts.login(services, "camille", PASSWORD, "10.0.0.9")
    accounts.login(services, "camille", PASSWORD, "10.0.0.50")


def test_tries_sent_at_once_cannot_slip_past_the_limit_together(services, agent):
    """Counted before they are made: of 30 wrong passwords sent at once, only those under the limit are tried."""
    from concurrent.futures import ThreadPoolExecutor

    def one(_):
        try:
            accounts.login(services, "camille", "wrong-password-x", "10.0.0.9")
        except LoginThrottled:
            return "waited"
        except LoginFailed:
            return "tried"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(one, range(30)))
    free = throttle.POLICIES["login.account"].free
    assert outcomes.count("tried") == free + 1 and outcomes.count("waited") == 30 - free - 1
    with services.db() as db:
        assert db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "login_failed")
                         ) == free + 1


def test_a_success_forgets_the_clients_failures_on_that_account(services, agent):
    _fail(services, "camille", throttle.POLICIES["login.account"].free - 1)
    accounts.login(services, "camille", PASSWORD, "10.0.0.9")
    assert "10.0.0.9|camille" not in _failures(services, "login.account")
    assert _failures(services, "login.client")["10.0.0.9"] == throttle.POLICIES["login.account"].free - 1


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


@pytest.mark.parametrize("typed", ["My Secret Pass!", "mairie-password-2026"])
def test_a_password_typed_as_username_is_not_logged(services, agent, typed):
    """Even one that would be a valid username: only an existing account's name is recorded."""
    with pytest.raises(LoginFailed):
        accounts.login(services, typed, "whatever-password")
    with services.db() as db:
        rows = list(db.scalars(select(AuditEntry)))
    assert [(r.actor, r.action) for r in rows] == [(accounts.UNKNOWN_ACTOR, "login_failed")]
    assert all(typed.lower() not in f"{r.actor} {r.detail}".lower() for r in rows)


# -- an administrator's actions on an account --------------------------------------------------------

@pytest.fixture
def admin(services, agent) -> accounts.Actor:
    """An administrator's account, as the console passes it to the actions (its id included)."""
    with services.db() as db, db.begin():
        user = create_user(db, "aline", PASSWORD, "admin", None, "Aline Administratrice")
        return accounts.Actor(user.username, user.role, user.id, "10.0.0.7")


def _sessions(services, username: str) -> int:
    with services.db() as db:
        return db.scalar(select(func.count()).select_from(WebSession).join(User, User.id == WebSession.user_id)
                         .where(User.username == username))


def _act(services, action, username: str, actor: accounts.Actor):
    with services.db() as db, db.begin():
        return action(db, username, actor)


def test_a_disabled_account_cannot_log_in_and_its_open_sessions_are_closed(services, admin):
    accounts.login(services, "camille", PASSWORD)
    accounts.login(services, "camille", PASSWORD)
    assert _act(services, accounts.disable_user, "camille", admin) is True
    assert _sessions(services, "camille") == 0  # closed at once, not at their next request
    with pytest.raises(LoginFailed):
        accounts.login(services, "camille", PASSWORD)
    assert _act(services, accounts.disable_user, "camille", admin) is False  # already disabled: nothing to do
    assert _act(services, accounts.enable_user, "camille", admin) is True
    assert accounts.authenticate(services, accounts.login(services, "camille", PASSWORD)[0]) is not None


def test_a_reset_gives_a_temporary_password_that_must_be_changed_at_the_next_login(services, admin):
    before, _ = accounts.login(services, "camille", PASSWORD)
    temporary = _act(services, accounts.reset_password, "camille", admin).password
    assert len(temporary) >= 16 and temporary != PASSWORD
    assert accounts.authenticate(services, before) is None  # every open session is closed
    with pytest.raises(LoginFailed):
        accounts.login(services, "camille", PASSWORD)
    token, _ = accounts.login(services, "camille", temporary)
    account = accounts.authenticate(services, token)
    assert account.must_change_password is True
    assert temporary not in _user(services, "camille").password_hash
    accounts.change_password(services, account.id, temporary, "my-very-own-password", keep_token=token)
    assert accounts.authenticate(services, token).must_change_password is False
    assert _user(services, "camille").must_change_password is False
    with pytest.raises(LoginFailed):  # the temporary password served once
        accounts.login(services, "camille", temporary)


def test_temporary_passwords_are_strong_and_read_without_doubt(services):
    seen = {accounts.temporary_password() for _ in range(200)}
    assert len(seen) == 200
    for password in seen:
        assert re.fullmatch(r"[^-]{5}(-[^-]{5}){3}", password)  # four groups of five, read one at a time
        assert not set(password) & set("0Oo1lIi5Ss2Zz")  # none that reads as another
    # Over 110 bits: what is left of the alphabet, drawn 20 times, is still far out of a guesser's reach.
    assert len(set(accounts.TEMPORARY_ALPHABET)) ** 20 > 2 ** 110


def _states(services, username: str) -> list[str]:
    with services.db() as db:
        return accounts.states(_user(services, username), accounts.login_waits(db, services.now()))


def test_a_reset_and_an_unlock_lift_every_wait_on_the_account(services, admin, clock):
    free = throttle.POLICIES["login.account"].free
    _fail(services, "camille", free + 1)
    _fail(services, "camille", free + 1, ip="10.0.0.10")
    with pytest.raises(LoginThrottled):
        accounts.login(services, "camille", PASSWORD, "10.0.0.9")
    assert _states(services, "camille") == ["throttled"]
    assert _act(services, accounts.unlock_user, "camille", admin) is True
    assert _states(services, "camille") == ["active"]
    accounts.login(services, "camille", PASSWORD, "10.0.0.9")  # at once, from either client
    accounts.login(services, "camille", PASSWORD, "10.0.0.10")
    assert _act(services, accounts.unlock_user, "camille", admin) is False

    _fail(services, "camille", free + 1)
    temporary = _act(services, accounts.reset_password, "camille", admin).password
    accounts.login(services, "camille", temporary, "10.0.0.9")
    assert _states(services, "camille") == ["temporary_password"]


def test_an_administrator_can_neither_disable_nor_reset_their_own_account(services, admin):
    with pytest.raises(AccountError, match="propre compte"):
        _act(services, accounts.disable_user, "aline", admin)
    with pytest.raises(AccountError, match="Mot de passe"):
        _act(services, accounts.reset_password, "aline", admin)
    user = _user(services, "aline")
    assert user.active and not user.must_change_password
    with pytest.raises(AccountError, match="n'existe pas"):
        _act(services, accounts.disable_user, "nobody", admin)


def test_every_account_action_is_audited_with_no_password_in_it(services, admin):
    accounts.login(services, "camille", PASSWORD)
    _act(services, accounts.disable_user, "camille", admin)
    _act(services, accounts.enable_user, "camille", admin)
    temporary = _act(services, accounts.reset_password, "camille", admin).password
    _fail(services, "camille", throttle.POLICIES["login.account"].free + 1)
    _act(services, accounts.unlock_user, "camille", admin)
    with services.db() as db:
        rows = list(db.scalars(select(AuditEntry).where(AuditEntry.actor == "aline").order_by(AuditEntry.id)))
        everything = " ".join(r.detail for r in db.scalars(select(AuditEntry)))
    assert [(r.action, r.role, r.detail, r.ip) for r in rows] == [
        ("disable_user", "admin", "camille (agent)", "10.0.0.7"), ("enable_user", "admin", "camille (agent)", "10.0.0.7"),
        ("reset_password", "admin", "camille (agent)", "10.0.0.7"), ("unlock_user", "admin", "camille (agent)", "10.0.0.7")]
    assert temporary not in everything and PASSWORD not in everything


def test_an_account_the_console_creates_must_choose_its_own_password_at_first_login(services, client, admin):
    csrf = login(client, "aline", PASSWORD)
    created = client.post("/console/admin/users", follow_redirects=False, data={
        "csrf": csrf, "username": "lea", "full_name": "Léa Technicienne", "role": "technician",
        "password": "typed-by-aline-2026"})
    assert created.status_code == 303
    assert _states(services, "lea") == ["temporary_password"]
    client.post("/console/logout", data={"csrf": csrf})
    login(client, "lea", "typed-by-aline-2026")
    sent = client.get("/console/fleet", follow_redirects=False)
    assert (sent.status_code, sent.headers["location"]) == (303, "/console/password")


def test_an_account_created_in_a_shell_keeps_its_password(services, run_cli, agent, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code, _, err = run_cli("user", "create", "--username", "hugo", "--role", "technician", "--password-stdin")
    assert (code, err) == (0, "user hugo created (technician)\n")
    assert _states(services, "hugo") == ["active"]


# -- kiosk-central user ----------------------------------------------------------------------------

def test_the_cli_lists_the_accounts_with_their_state(services, run_cli, agent):
    with services.db() as db, db.begin():
        create_user(db, "hugo", PASSWORD, "technician", None, "Hugo Technicien")
    run_cli("user", "disable", "hugo")
    code, out, _ = run_cli("user", "list", "--json")
    assert code == 0
    assert json.loads(out) == [
        {"username": "camille", "full_name": "Camille Agent", "role": "agent", "site": "trebes",
         "site_name": "Mairie de Trèbes", "states": ["active"], "throttled_until": None},
        {"username": "hugo", "full_name": "Hugo Technicien", "role": "technician", "site": None, "site_name": None,
         "states": ["disabled"], "throttled_until": None}]
    code, out, _ = run_cli("user", "list")
    assert code == 0 and "camille" in out and "Actif" in out and "Désactivé" in out


def test_the_cli_disables_enables_unlocks_and_resets_audited_as_cli(services, run_cli, agent):
    token, _ = accounts.login(services, "camille", PASSWORD)
    code, out, err = run_cli("user", "disable", "camille")
    assert (code, out) == (0, "") and "disabled" in err
    assert accounts.authenticate(services, token) is None
    assert run_cli("user", "enable", "camille")[0] == 0
    _fail(services, "camille", throttle.POLICIES["login.account"].free + 1)
    assert run_cli("user", "unlock", "camille")[0] == 0
    code, out, err = run_cli("user", "reset-password", "camille")
    temporary = out.strip()
    assert code == 0 and out == temporary + "\n" and len(temporary) >= 16  # the password alone on stdout
    assert temporary not in err and "in person" in err
    assert accounts.authenticate(services, accounts.login(services, "camille", temporary)[0]).must_change_password
    with services.db() as db:
        rows = list(db.scalars(select(AuditEntry).where(AuditEntry.role == "cli").order_by(AuditEntry.id)))
    assert [(r.actor, r.action) for r in rows] == [("cli", "disable_user"), ("cli", "enable_user"),
                                                  ("cli", "unlock_user"), ("cli", "reset_password")]
    assert all(temporary not in r.detail for r in rows)


def test_the_cli_says_what_an_action_did_or_that_the_account_already_was_so(services, run_cli, agent):
    assert run_cli("user", "disable", "camille") == (0, "", "user camille: disabled\n")
    assert run_cli("user", "disable", "camille") == (0, "", "user camille: unchanged (already disabled)\n")
    assert run_cli("user", "enable", "camille")[2] == "user camille: enabled\n"
    assert run_cli("user", "enable", "camille")[2] == "user camille: unchanged (already enabled)\n"
    assert run_cli("user", "unlock", "camille")[2] == "user camille: unchanged (already unlocked)\n"


def test_the_cli_refuses_an_unknown_account_and_an_unknown_mairie(services, run_cli, agent, monkeypatch):
    code, out, err = run_cli("user", "reset-password", "nobody")
    assert (code, out) == (1, "") and "n'existe pas" in err
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code, _, err = run_cli("user", "create", "--username", "lea", "--role", "agent",
                           "--site", "Mairie de Trebes", "--password-stdin")
    assert code == 1 and "Aucune mairie « Mairie de Trebes »" in err and "site create" in err
    with services.db() as db:
        assert db.scalar(select(func.count()).select_from(Site)) == 1  # no « Trebes » beside « Trèbes »
        assert db.scalar(select(User).where(User.username == "lea")) is None
