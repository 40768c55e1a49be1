"""A citizen's « Besoin d'aide ? »: what a kiosk may report, and what the agents of its mairie see and do.

Kiosks are enrolled through the real API and report with signed requests
over the test client. Time is the service's injectable clock
(``Services.clock``), moved by the tests: no sleeping.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from nacl.signing import SigningKey
from sqlalchemy import select

from central import help_requests
from central.accounts import Account
from central.enrollment import revoke_device
from central.models import AuditEntry, HelpRequest, User, WebSession
from factory import enroll_kiosk
from kiosk.core.session import Step
from titres.protocol import API, canonical, sign_request
from test_console import login

HELP = f"{API}/help"
ID = "0123456789abcdef0123456789abcdef"
OTHER_ID = "fedcba9876543210fedcba9876543210"
ZONE = ZoneInfo("Europe/Paris")  # the mairies' default time zone


@pytest.fixture
def kiosk(services, client, tmp_path, people, clock):
    return enroll_kiosk(services, client, tmp_path / "kiosk-a", site="mairie-a")


@pytest.fixture
def other_kiosk(services, client, tmp_path, people, clock):
    return enroll_kiosk(services, client, tmp_path / "kiosk-b", site="mairie-b")


@pytest.fixture
def other(client):
    """A second browser on the same service."""
    with TestClient(client.app, base_url="http://testserver") as c:
        yield c


def report(id=ID, state="open", screen="signature", waiting_s=30, on_screen_s=12) -> dict:
    return {"id": id, "state": state, "screen": screen, "waiting_s": waiting_s, "on_screen_s": on_screen_s}


def send(client, kiosk, payload=None, *, body: bytes | None = None, key=None, device_id=None):
    """POST /api/v1/help as the kiosk's sync worker does: canonical JSON, signed at the service's time."""
    body = canonical(payload if payload is not None else report()) if body is None else body
    stamp = int(client.app.state.services.clock())
    headers = sign_request(key or kiosk.key, device_id or kiosk.device_id, "POST", HELP, body, stamp)
    return client.post(HELP, content=body, headers={**headers, "Content-Type": "application/json"})


def rows(services) -> list[HelpRequest]:
    with services.db() as db:
        return list(db.scalars(select(HelpRequest).order_by(HelpRequest.raised_at)))


def audit_lines(services, action: str) -> list[AuditEntry]:
    with services.db() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def close_to(a: datetime, b: datetime) -> bool:
    return abs((a - b).total_seconds()) < 0.01


def account(services, username: str) -> Account:
    with services.db() as db:
        user = db.scalar(select(User).where(User.username == username))
        return Account(user.id, user.username, user.full_name, user.role, user.site_id)


def banner(html: str) -> str:
    """The text of the help banner of a page ('' when it shows no request)."""
    found = re.search(r"<div id=\"aide\".*?</div>(?=\s*<main)", html, re.S)
    assert found, "the page has no help banner region"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found[0])).strip()


# -- the wire contract --------------------------------------------------------------------------

def test_the_screens_are_the_kiosks_steps_each_with_its_french_name():
    assert set(help_requests.SCREENS) == {step.value for step in Step}
    assert all(label and label[0].isupper() for label in help_requests.SCREENS.values())


def test_raising_help_stores_one_open_request_with_the_services_own_times(services, client, kiosk, clock):
    answer = send(client, kiosk, report(waiting_s=30, on_screen_s=12.5))
    assert answer.status_code == 200
    assert answer.json() == {"id": ID, "state": "open", "acknowledged_at_s_ago": None}
    assert answer.headers["cache-control"] == "no-store"
    [row] = rows(services)
    assert (row.device_id, row.site_id, row.screen, row.state) == (kiosk.device_id, "mairie-a", "signature", "open")
    assert close_to(row.raised_at, clock.now() - timedelta(seconds=30))
    assert close_to(row.screen_since, clock.now() - timedelta(seconds=12.5))
    assert close_to(row.updated_at, clock.now())
    assert row.acknowledged_at is None and row.acknowledged_by is None and row.closed_at is None


def test_repeated_reports_are_one_request_whose_raising_time_does_not_move(services, client, kiosk, clock):
    first = clock.now()
    for waited in (30, 32, 34):
        assert send(client, kiosk, report(waiting_s=waited, on_screen_s=waited)).json()["state"] == "open"
        clock.advance(2)
    [row] = rows(services)
    assert close_to(row.raised_at, first - timedelta(seconds=30))
    assert close_to(row.updated_at, first + timedelta(seconds=4))
    assert len(audit_lines(services, "help_raised")) == 1


def test_a_new_screen_is_recorded_with_the_time_the_citizen_reached_it(services, client, kiosk, clock):
    send(client, kiosk, report(screen="capture", waiting_s=10, on_screen_s=40))
    clock.advance(10)
    send(client, kiosk, report(screen="signature", waiting_s=20, on_screen_s=3))
    [row] = rows(services)
    assert row.screen == "signature" and close_to(row.screen_since, clock.now() - timedelta(seconds=3))
    since = row.screen_since
    clock.advance(2)
    send(client, kiosk, report(screen="signature", waiting_s=22, on_screen_s=5.4))
    assert close_to(rows(services)[0].screen_since, since)  # same screen: the time it was reached stays


def test_the_answer_says_acknowledged_once_an_agent_is_coming(services, client, kiosk, clock):
    send(client, kiosk)
    with services.db() as db, db.begin():
        assert help_requests.acknowledge(db, account(services, "agent.a"), ID, clock.now()) == "acknowledged"
    clock.advance(7)
    answer = send(client, kiosk, report(waiting_s=40))
    assert answer.json() == {"id": ID, "state": "acknowledged", "acknowledged_at_s_ago": 7}
    assert "Camille" not in answer.text and "agent" not in answer.text  # the kiosk says "Un agent arrive"


def test_closing_is_final_and_a_late_open_does_not_reopen(services, client, kiosk, clock):
    send(client, kiosk)
    clock.advance(5)
    closed = send(client, kiosk, report(state="closed", waiting_s=35))
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    [row] = rows(services)
    assert row.state == "closed" and close_to(row.closed_at, clock.now())
    clock.advance(3)
    late = send(client, kiosk, report(state="open", screen="capture", waiting_s=38))
    assert late.status_code == 200 and late.json()["state"] == "closed"
    [row] = rows(services)
    assert (row.state, row.screen) == ("closed", "signature")
    assert close_to(row.updated_at, clock.now() - timedelta(seconds=3))
    assert [e.role for e in audit_lines(services, "help_closed")] == ["device"]
    with services.db() as db, db.begin():  # nor can an agent take a closed request
        assert help_requests.acknowledge(db, account(services, "agent.a"), ID, clock.now()) == "closed"


def test_a_request_first_heard_of_closed_is_kept_closed(services, client, kiosk):
    assert send(client, kiosk, report(state="closed")).json()["state"] == "closed"
    assert [r.state for r in rows(services)] == ["closed"]


def test_another_kiosk_can_never_touch_a_request(services, client, kiosk, other_kiosk):
    send(client, kiosk)
    for state in ("open", "closed"):
        refused = send(client, other_kiosk, report(state=state, screen="welcome"))
        assert refused.status_code == 409 and refused.json()["error"] == "conflict"
    [row] = rows(services)
    assert (row.device_id, row.state, row.screen, row.site_id) == (kiosk.device_id, "open", "signature", "mairie-a")


def test_a_new_request_of_a_kiosk_closes_the_ones_it_left_open(services, client, kiosk, clock):
    send(client, kiosk)  # then the kiosk restarts: the session, and its request id, are gone
    clock.advance(30)
    send(client, kiosk, report(id=OTHER_ID, screen="welcome", waiting_s=1, on_screen_s=1))
    states = {r.id: r.state for r in rows(services)}
    assert states == {ID: "closed", OTHER_ID: "open"}


def test_unknown_revoked_and_wrongly_signed_devices_are_refused(services, client, kiosk):
    unknown = send(client, kiosk, device_id="no-such-device")
    assert (unknown.status_code, unknown.json()["error"]) == (401, "unknown_device")
    forged = send(client, kiosk, key=SigningKey.generate())
    assert (forged.status_code, forged.json()["error"]) == (401, "bad_signature")
    assert revoke_device(services, kiosk.device_id, by="test")
    revoked = send(client, kiosk)
    assert (revoked.status_code, revoked.json()["error"]) == (403, "revoked")
    assert rows(services) == []


def _with(**changes) -> bytes:
    return json.dumps({**report(), **changes}).encode()


MALFORMED = {
    "not JSON": (b"{", "malformed_json"),
    "empty": (b"", "malformed_json"),
    "not UTF-8": (b'{"id": "\xff"}', "malformed_json"),
    "a list": (b"[]", "malformed_help"),
    "a string": (b'"help"', "malformed_help"),
    "missing key": (json.dumps({k: v for k, v in report().items() if k != "screen"}).encode(), "malformed_help"),
    "extra key": (json.dumps({**report(), "name": "MARTIN"}).encode(), "malformed_help"),
    "upper-case id": (_with(id=ID.upper()), "malformed_help"),
    "short id": (_with(id=ID[:31]), "malformed_help"),
    "long id": (_with(id=ID + "0"), "malformed_help"),
    "non-hex id": (_with(id="g" * 32), "malformed_help"),
    "UUID with dashes": (_with(id="01234567-89ab-cdef-0123-456789abcdef"), "malformed_help"),
    "number id": (_with(id=12345), "malformed_help"),
    "state acknowledged": (_with(state="acknowledged"), "malformed_help"),
    "state upper-case": (_with(state="OPEN"), "malformed_help"),
    "state null": (_with(state=None), "malformed_help"),
    "unknown screen": (_with(screen="maintenance"), "malformed_help"),
    "screen upper-case": (_with(screen="SIGNATURE"), "malformed_help"),
    "screen not a string": (_with(screen=["signature"]), "malformed_help"),
    "negative wait": (_with(waiting_s=-1), "malformed_help"),
    "negative time on screen": (_with(on_screen_s=-0.5), "malformed_help"),
    "huge wait": (_with(waiting_s=10**12), "malformed_help"),
    "huge integer": (_with(on_screen_s=10**400), "malformed_help"),
    "overflowing float": (_with(waiting_s=1).replace(b'"waiting_s": 1', b'"waiting_s": 1e400'), "malformed_help"),
    "NaN": (_with(waiting_s=1).replace(b'"waiting_s": 1', b'"waiting_s": NaN'), "malformed_help"),
    "Infinity": (_with(on_screen_s=1).replace(b'"on_screen_s": 1', b'"on_screen_s": Infinity'), "malformed_help"),
    "-Infinity": (_with(on_screen_s=1).replace(b'"on_screen_s": 1', b'"on_screen_s": -Infinity'), "malformed_help"),
    "boolean wait": (_with(waiting_s=True), "malformed_help"),
    "string wait": (_with(waiting_s="30"), "malformed_help"),
    "null wait": (_with(waiting_s=None), "malformed_help"),
    "oversized": (_with(screen="x" * 2000), "too_large"),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_a_malformed_report_is_refused_with_a_json_code_and_stores_nothing(services, client, kiosk, case):
    body, code = MALFORMED[case]
    answer = send(client, kiosk, body=body)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["error"] == code and answer.json()["detail"]
    assert rows(services) == []


def test_raising_and_closing_are_audited_with_the_kiosk_as_actor_and_nothing_personal(services, client, kiosk):
    send(client, kiosk)
    send(client, kiosk, report(state="closed"))
    [raised], [closed] = audit_lines(services, "help_raised"), audit_lines(services, "help_closed")
    for line in (raised, closed):
        assert (line.actor, line.role, line.dossier_id) == (kiosk.kiosk_code, "device", None)
        assert line.detail == f"demande {ID}, borne {kiosk.kiosk_code}, écran signature"


# -- the console's banner ----------------------------------------------------------------------

def test_the_banner_shows_the_request_to_its_mairies_agent_and_to_supervisors_only(
        services, client, kiosk, other, clock):
    send(client, kiosk, report(waiting_s=185, on_screen_s=61))
    login(client, "agent.a")
    text = banner(client.get("/console/").text)
    assert f"Borne {kiosk.kiosk_code}" in text and "écran : Signature" in text
    assert "Attend depuis 3 min" in text and "sur cet écran depuis 1 min" in text and "J'arrive" in text
    assert "Mairie A" not in text  # an agent's banner names no mairie: it is theirs
    for path in ("/console/password", "/console/admin/users"):  # every page, error pages included
        assert f"Borne {kiosk.kiosk_code}" in banner(client.get(path).text)

    login(other, "nadia")
    assert f"Borne {kiosk.kiosk_code} — Mairie A — écran : Signature" in banner(other.get("/console/").text)
    assert f"Borne {kiosk.kiosk_code}" in banner(other.get("/console/fleet").text)

    other.cookies.clear()
    login(other, "agent.b")
    assert banner(other.get("/console/").text) == ""
    other.cookies.clear()
    login(other, "hugo")
    assert 'id="aide"' not in other.get("/console/fleet").text  # technicians have no banner


def test_the_banner_says_the_screen_in_french_for_every_screen(services, client, kiosk, clock):
    login(client, "agent.a")
    for screen, label in help_requests.SCREENS.items():
        send(client, kiosk, report(screen=screen))
        assert f"écran : {label}" in banner(client.get("/console/password").text)


def test_jarrive_acknowledges_and_the_kiosk_is_told(services, client, kiosk, clock):
    send(client, kiosk)
    csrf = login(client, "agent.a")
    page = client.get("/console/password").text
    assert re.search(rf'action="/console/help/{ID}/acknowledge"', page)
    assert re.search(r'name="next" value="/console/password"', page)
    answer = client.post(f"/console/help/{ID}/acknowledge", data={"csrf": csrf, "next": "/console/password"},
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/password?ok=help#aide"
    assert send(client, kiosk).json()["state"] == "acknowledged"
    page = client.get(answer.headers["location"]).text
    local = clock.now().astimezone(ZONE)
    assert f"Pris en charge par Camille A à {local.hour} h {local.minute:02d}" in banner(page)
    assert "J'arrive" not in banner(page) and "la borne affiche « Un agent arrive »" in page
    [line] = audit_lines(services, "help_acknowledged")
    assert (line.actor, line.role) == ("agent.a", "agent") and ID in line.detail


def test_jarrive_without_the_sessions_csrf_token_is_refused(services, client, kiosk, other):
    send(client, kiosk)
    login(client, "agent.a")
    other_csrf = login(other, "agent.a")
    for token in ("", "forged", other_csrf):
        answer = client.post(f"/console/help/{ID}/acknowledge", data={"csrf": token, "next": "/console/"})
        assert answer.status_code == 403
    assert send(client, kiosk).json()["state"] == "open"
    assert audit_lines(services, "help_acknowledged") == []


def test_an_agent_of_another_mairie_cannot_take_the_request(services, client, kiosk):
    send(client, kiosk)
    csrf = login(client, "agent.b")
    answer = client.post(f"/console/help/{ID}/acknowledge", data={"csrf": csrf, "next": "/console/"})
    assert answer.status_code == 404
    assert send(client, kiosk).json()["state"] == "open"


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/console/", "/statut", "",
                                      "/console/\\evil", "javascript:alert(1)"])
def test_jarrive_comes_back_only_to_a_console_page(services, client, kiosk, next_url):
    send(client, kiosk)
    csrf = login(client, "agent.a")
    answer = client.post(f"/console/help/{ID}/acknowledge", data={"csrf": csrf, "next": next_url},
                         follow_redirects=False)
    assert answer.headers["location"] == "/console/?ok=help#aide"


def test_jarrive_keeps_the_pages_own_query_and_replaces_its_notice(services, client, kiosk):
    send(client, kiosk)
    csrf = login(client, "agent.a")
    answer = client.post(f"/console/help/{ID}/acknowledge", data={"csrf": csrf, "next": "/console/?q=martin&ok=verdict"},
                         follow_redirects=False)
    assert answer.headers["location"] == "/console/?q=martin&ok=help#aide"


def test_the_first_agent_to_answer_is_the_one_named(services, client, kiosk, other):
    send(client, kiosk)
    csrf = login(client, "agent.a")
    client.post(f"/console/help/{ID}/acknowledge", data={"csrf": csrf, "next": "/console/"})
    late = login(other, "nadia")
    answer = other.post(f"/console/help/{ID}/acknowledge", data={"csrf": late, "next": "/console/"},
                        headers={"Accept": "application/json"})
    assert answer.status_code == 200 and answer.json()["outcome"] == "taken"
    assert "Un collègue" in answer.json()["message"]
    assert answer.json()["requests"][0]["acknowledged_by"] == "Camille A"
    assert len(audit_lines(services, "help_acknowledged")) == 1


def test_jarrive_by_script_answers_json_with_the_banner_to_show(services, client, kiosk):
    send(client, kiosk)
    csrf = login(client, "agent.a")
    answer = client.post(f"/console/help/{ID}/acknowledge", data={"csrf": csrf, "next": "/console/password"},
                         headers={"Accept": "application/json"})
    data = answer.json()
    assert answer.status_code == 200 and data["outcome"] == "acknowledged"
    [item] = data["requests"]
    assert item["state"] == "acknowledged" and item["acknowledged_by"] == "Camille A"
    assert "Pris en charge par Camille A" in item["html"] and "<form" not in item["html"]


# -- the banner's JSON ------------------------------------------------------------------------------

def test_help_json_needs_a_login_and_is_scoped_like_the_pages(services, client, kiosk, other_kiosk, other):
    send(client, kiosk)
    send(client, other_kiosk, report(id=OTHER_ID, screen="capture"))
    refused = client.get("/console/help.json")
    assert refused.status_code == 401 and refused.json()["error"] == "login_required"
    login(client, "agent.a")
    data = client.get("/console/help.json", params={"next": "/console/password"}).json()
    [mine] = data["requests"]
    assert (mine["id"], mine["kiosk_code"], mine["screen_label"], mine["state"]) == (
        ID, kiosk.kiosk_code, "Signature", "open")
    assert mine["waiting_s"] == 30 and mine["since"]["waiting"] == "30 s" and mine["unreachable"] is False
    assert 'name="next" value="/console/password"' in mine["html"] and 'aria-live' not in mine["html"]
    assert mine["id"] in data["banner"] and "Demande d'aide" in data["banner"]
    login(other, "nadia")
    assert {r["id"] for r in other.get("/console/help.json").json()["requests"]} == {ID, OTHER_ID}
    other.cookies.clear()
    login(other, "hugo")
    assert other.get("/console/help.json").status_code == 403


def test_polling_does_not_keep_an_idle_session_alive(services, client, kiosk, clock):
    login(client, "agent.a")
    with services.db() as db:
        before = db.scalar(select(WebSession.last_seen_at))
    clock.advance(120)
    assert client.get("/console/help.json").status_code == 200
    with services.db() as db:
        assert db.scalar(select(WebSession.last_seen_at)) == before
    clock.advance(services.config.session_idle_minutes * 60)
    assert client.get("/console/help.json").status_code == 401


def test_the_key_changes_with_what_is_worth_announcing_and_not_with_time(services, client, kiosk, clock):
    send(client, kiosk)
    login(client, "agent.a")
    first = client.get("/console/help.json").json()["requests"][0]
    clock.advance(20)
    later = client.get("/console/help.json").json()["requests"][0]
    assert later["key"] == first["key"] and later["since"]["waiting"] != first["since"]["waiting"]
    send(client, kiosk, report(screen="summary"))
    assert client.get("/console/help.json").json()["requests"][0]["key"] != first["key"]


# -- a kiosk gone quiet --------------------------------------------------------------------------

def test_a_quiet_kiosk_is_shown_unreachable_then_no_longer_shown(services, client, kiosk, clock):
    send(client, kiosk)
    login(client, "agent.a")
    clock.advance(60)
    assert "injoignable" not in banner(client.get("/console/").text)
    clock.advance(61)
    text = banner(client.get("/console/").text)
    assert "Borne injoignable depuis 2 min" in text and f"Borne {kiosk.kiosk_code}" in text
    item = client.get("/console/help.json").json()["requests"][0]
    assert item["unreachable"] is True and item["silent_s"] == 121

    clock.advance(30 * 60 - 121 + 1)  # 30 minutes and a second since the kiosk last spoke
    login(client, "agent.a")  # the session itself has expired meanwhile
    assert banner(client.get("/console/").text) == ""
    assert client.get("/console/help.json").json()["requests"] == []
    assert [r.state for r in rows(services)] == ["open"]  # kept


def test_the_views_rule_at_its_edges(services, client, kiosk, clock):
    send(client, kiosk)
    agent = account(services, "agent.a")
    with services.db() as db:
        at = clock.now()
        assert not help_requests.visible_to(db, agent, at + timedelta(seconds=60))[0].unreachable
        assert help_requests.visible_to(db, agent, at + timedelta(seconds=60.5))[0].unreachable
        assert help_requests.visible_to(db, agent, at + timedelta(minutes=30))
        assert help_requests.visible_to(db, agent, at + timedelta(minutes=30, seconds=1)) == []


def test_a_revoked_kiosks_requests_leave_the_banner(services, client, kiosk):
    send(client, kiosk)
    revoke_device(services, kiosk.device_id, by="test")
    login(client, "agent.a")
    assert banner(client.get("/console/").text) == ""


# -- the fleet view ----------------------------------------------------------------------------------

def test_the_fleet_view_shows_each_kiosks_open_request(services, client, kiosk, other_kiosk, clock):
    send(client, kiosk, report(waiting_s=200))
    login(client, "hugo")
    page = client.get("/console/fleet").text
    row = re.search(rf"<tr>(?:(?!</tr>).)*{kiosk.kiosk_code}(?:(?!</tr>).)*</tr>", page, re.S)[0]
    assert "En cours" in row and "Signature" in row and "depuis 3 min" in row
    other_row = re.search(rf"<tr>(?:(?!</tr>).)*{other_kiosk.kiosk_code}(?:(?!</tr>).)*</tr>", page, re.S)[0]
    assert "En cours" not in other_row
    with services.db() as db, db.begin():
        help_requests.acknowledge(db, account(services, "agent.a"), ID, clock.now())
    assert "Pris en charge par Camille A" in client.get("/console/fleet").text
    send(client, kiosk, report(state="closed"))
    assert "En cours" not in client.get("/console/fleet").text

