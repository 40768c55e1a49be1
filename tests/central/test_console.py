"""The agents' console over HTTP: sessions, CSRF, who may open what, the audit of every view, the decisions."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from central import throttle
from central.app import create_app
from central.console.pages import PARIS
from central.models import AuditEntry, Device, Dossier, EnrollmentToken, Site, User, Verdict
from central.review import requirements
from factory import PASSWORD, deliver_dossier
from kiosk.core.receipt import Receipt



@pytest.fixture
def dossier(services, client, tmp_path, people) -> Dossier:
    """A CNI renewal with a fingerprint that failed (flags raised), delivered by a kiosk of mairie A."""
    return deliver_dossier(services, client, tmp_path / "kiosk-a", site="mairie-a", scenario="failed-fingerprint")


def _hidden(html: str, name: str = "csrf") -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html)[1]


def login(client, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    form = client.get("/console/login")
    answer = client.post("/console/login", data={"username": username, "password": password,
                                                 "csrf": _hidden(form.text)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return _hidden(client.get("/console/password").text)


@pytest.fixture
def other(client):
    """A second browser on the same service."""
    with TestClient(client.app, base_url="http://testserver") as c:
        yield c


def _audit(services, action=None):
    with services.db() as db:
        q = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            q = q.where(AuditEntry.action == action)
        return list(db.scalars(q))


# -- login, sessions, headers ----------------------------------------------------------------

def test_login_page_is_french_with_a_label_for_every_input(client):
    page = client.get("/console/login")
    assert page.status_code == 200 and '<html lang="fr">' in page.text
    for field in ("username", "password"):
        assert f'<label for="{field}">' in page.text and f'id="{field}"' in page.text


def test_login_sets_an_httponly_strict_cookie_and_lands_on_the_queue(client, people):
    form = client.get("/console/login")
    answer = client.post("/console/login", data={"username": "agent.a", "password": PASSWORD,
                                                 "csrf": _hidden(form.text)}, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/console/")
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("console_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # the test service runs with secure_cookies=False
    assert "Camille A" in client.get("/console/").text


def test_cookies_are_secure_when_configured(services, people):
    secure = replace(services, config=replace(services.config, secure_cookies=True))
    with TestClient(create_app(secure), base_url="https://testserver") as c:
        form = c.get("/console/login")
        answer = c.post("/console/login", data={"username": "agent.a", "password": PASSWORD,
                                                "csrf": _hidden(form.text)}, follow_redirects=False)
    assert "Secure" in next(x for x in answer.headers.get_list("set-cookie") if x.startswith("console_session="))


def test_wrong_password_is_refused_in_french_without_a_session(client, people):
    form = client.get("/console/login")
    answer = client.post("/console/login", data={"username": "agent.a", "password": "wrong-password",
                                                 "csrf": _hidden(form.text)}, follow_redirects=False)
    assert answer.status_code == 401
    assert "Identifiant ou mot de passe incorrect" in answer.text
    assert "console_session" not in client.cookies


def test_a_client_that_keeps_failing_is_told_to_wait_and_another_logs_in(client, services, people):
    """No lock a stranger could set: the failing browser waits, the owner's own browser is let in."""
    for _ in range(throttle.POLICIES["login.account"].free + 1):
        form = client.get("/console/login")
        client.post("/console/login", data={"username": "agent.a", "password": "wrong-password",
                                            "csrf": _hidden(form.text)})
    form = client.get("/console/login")
    answer = client.post("/console/login", data={"username": "agent.a", "password": PASSWORD,
                                                 "csrf": _hidden(form.text)}, follow_redirects=False)
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) > 0
    assert "Trop d&#39;essais depuis ce poste : réessayez dans 1 minute" in answer.text
    assert "console_session" not in client.cookies
    with TestClient(client.app, base_url="http://testserver", client=("10.0.0.50", 50000)) as desk:
        login(desk, "agent.a")


def test_login_form_without_its_token_is_refused(client, people):
    client.get("/console/login")
    answer = client.post("/console/login", data={"username": "agent.a", "password": PASSWORD, "csrf": "forged"},
                         follow_redirects=False)
    assert answer.status_code == 403 and "expiré" in answer.text
    assert "console_session" not in client.cookies


def test_login_never_redirects_off_the_console(client, people):
    form = client.get("/console/login?next=https://evil.example/")
    assert 'name="next" value=""' in form.text
    answer = client.post("/console/login", data={"username": "agent.a", "password": PASSWORD,
                                                 "csrf": _hidden(form.text), "next": "//evil.example/"},
                         follow_redirects=False)
    assert answer.headers["location"] == "/console/"


def test_unauthenticated_requests_go_to_the_login_page(client, dossier):
    for path in ("/console/", f"/console/dossiers/{dossier.id}",
                 f"/console/dossiers/{dossier.id}/attachments/documents/photo", "/console/fleet"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login?next=")
    assert _audit(services=client.app.state.services, action="view_biometric") == []


def test_after_login_the_agent_returns_to_the_page_asked_for(client, dossier):
    target = client.get(f"/console/dossiers/{dossier.id}", follow_redirects=False).headers["location"]
    form = client.get(target)
    answer = client.post("/console/login", data={"username": "agent.a", "password": PASSWORD,
                                                 "csrf": _hidden(form.text), "next": _hidden(form.text, "next")},
                         follow_redirects=False)
    assert answer.headers["location"] == f"/console/dossiers/{dossier.id}"


def test_pages_carry_security_headers_and_are_never_cached(client, people):
    login(client, "agent.a")
    for path in ("/console/", "/console/login", "/statut"):
        headers = client.get(path).headers
        assert headers["content-security-policy"].startswith("default-src 'self'")
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"


def test_logout_ends_the_session(client, people):
    csrf = login(client, "agent.a")
    cookie = client.cookies.get("console_session")
    assert client.post("/console/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    client.cookies.set("console_session", cookie, path="/console")
    assert client.get("/console/", follow_redirects=False).headers["location"].startswith("/console/login")


def test_logout_without_csrf_is_refused(client, people):
    login(client, "agent.a")
    assert client.post("/console/logout", data={"csrf": "nope"}).status_code == 403
    assert client.get("/console/", follow_redirects=False).status_code == 200


# -- who may open what, and the audit of every view --------------------------------------------------

def test_a_stored_dossier_the_reader_refuses_is_said_unreadable_not_a_500(client, services, dossier):
    """A row stored by an older, looser ingest (here: its signer removed by hand) that the shared model refuses."""
    with services.db() as db, db.begin():
        row = db.get(Dossier, dossier.id)
        row.content = {k: v for k, v in row.content.items() if k != "signer"}
    login(client, "agent.a")
    page = client.get(f"/console/dossiers/{dossier.id}")
    assert page.status_code == 409 and "Dossier illisible" in page.text and "Se déconnecter" in page.text
    assert client.get("/console/").status_code == 200  # the queue still lists and opens


def test_agent_of_another_mairie_gets_403_on_the_page_and_the_images(client, services, dossier):
    login(client, "agent.b")
    page = client.get(f"/console/dossiers/{dossier.id}")
    image = client.get(f"/console/dossiers/{dossier.id}/attachments/documents/photo")
    assert page.status_code == 403 and "autre mairie" in page.text and 'lang="fr"' in page.text
    assert image.status_code == 403 and not image.content.startswith(b"\xff\xd8")
    assert _audit(services, "open_dossier") == [] and _audit(services, "view_biometric") == []


@pytest.mark.parametrize("username", ["hugo", "aline"], ids=["technician", "admin"])
def test_technicians_and_administrators_cannot_open_dossiers(client, services, dossier, username):
    login(client, username)
    assert client.get(f"/console/dossiers/{dossier.id}").status_code == 403
    assert client.get(f"/console/dossiers/{dossier.id}/attachments/documents/photo").status_code == 403
    assert client.get("/console/", follow_redirects=False).headers["location"] != "/console/"
    assert _audit(services, "view_biometric") == []


def test_supervisor_opens_any_mairies_dossier(client, dossier):
    login(client, "nadia")
    assert client.get(f"/console/dossiers/{dossier.id}").status_code == 200
    assert dossier.number in client.get("/console/").text


def test_every_attachment_view_is_audited_and_never_cached(client, services, dossier):
    login(client, "agent.a")
    content = dossier.content
    finger = next(f["attachment"] for f in content["fingerprints"] if f["attachment"])
    expected = {finger: "view_fingerprint", content["signature"]: "view_biometric",
                "documents/photo": "view_biometric", "documents/proof_of_address": "view_document"}
    for name in expected:
        answer = client.get(f"/console/dossiers/{dossier.id}/attachments/{name}")
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["content-type"] in ("image/png", "image/jpeg")
        assert answer.content[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xdb", b"\xff\xd8\xff\xe1")
    views = [(e.actor, e.action, e.detail, e.dossier_id) for e in _audit(services)
             if e.action.startswith("view_")]
    assert views == [("agent.a", action, name, dossier.id) for name, action in expected.items()]


def test_only_the_images_the_page_shows_can_be_fetched(client, services, dossier):
    login(client, "agent.a")
    assert client.get(f"/console/dossiers/{dossier.id}/attachments/../../etc/passwd").status_code == 404
    assert client.get(f"/console/dossiers/{dossier.id}/attachments/documents/nothing").status_code == 404
    assert not [e for e in _audit(services) if e.action.startswith("view_")]


def test_dossier_page_shows_the_flags_first_then_the_predemande_beside_the_captures(client, services, dossier):
    login(client, "agent.a")
    page = client.get(f"/console/dossiers/{dossier.id}").text
    flags = page.index('class="flags"')
    assert flags < page.index("Pré-demande en ligne") < page.index("Capturé à la borne")
    assert "Empreinte de qualité insuffisante" in page and "Empreinte impossible à relever" in page
    assert "MARTIN" in page and "Renouvellement" in page
    quality = next(f["quality"] for f in dossier.content["fingerprints"] if f["quality"] is not None)
    assert f"qualité <strong>{quality}/100</strong>" in page
    assert f"/console/dossiers/{dossier.id}/attachments/documents/photo" in page
    assert "Valider et transmettre à la préfecture" in page
    assert [e.action for e in _audit(services, "open_dossier")] == ["open_dossier"]


# -- verdicts and decisions over HTTP ---------------------------------------------------------------

def _drawn_at(client, dossier_id) -> str:
    """The dossier's version as its page (opened now) draws it in every form."""
    return _hidden(client.get(f"/console/dossiers/{dossier_id}").text, "version")


def _decide(client, dossier_id, csrf, action, version=None, **fields):
    """A decision (``approve``, ``return``) posted from the dossier's page as drawn now (or at ``version``)."""
    version = _drawn_at(client, dossier_id) if version is None else version
    return client.post(f"/console/dossiers/{dossier_id}/{action}", follow_redirects=False,
                       data={"csrf": csrf, "version": version, **fields})


def _verdict(client, dossier_id, csrf, requirement, verdict="conforme", comment=""):
    return client.post(f"/console/dossiers/{dossier_id}/verdicts", follow_redirects=False,
                       data={"csrf": csrf, "requirement": requirement, "verdict": verdict, "comment": comment,
                             "version": _drawn_at(client, dossier_id)})


def test_a_post_without_the_sessions_csrf_token_is_refused(client, services, dossier, other):
    login(client, "agent.a")
    other_csrf = login(other, "agent.a")
    for token in ("", "forged", other_csrf):
        answer = _verdict(client, dossier.id, token, "photo")
        assert answer.status_code == 403 and "Formulaire refusé" in answer.text
    with services.db() as db:
        assert db.scalar(select(Verdict)) is None


def test_approve_is_refused_until_every_document_has_a_good_verdict(client, services, dossier):
    csrf = login(client, "agent.a")
    assert _verdict(client, dossier.id, csrf, "photo").status_code == 303
    refused = _decide(client, dossier.id, csrf, "approve")
    assert refused.status_code == 400 and "Avis manquant" in refused.text
    for requirement in requirements(dossier):
        _verdict(client, dossier.id, csrf, requirement)
    _verdict(client, dossier.id, csrf, "proof_of_address", "non_conforme", "Facture de plus d'un an")
    refused = _decide(client, dossier.id, csrf, "approve")
    assert refused.status_code == 400 and "non conforme" in refused.text
    _verdict(client, dossier.id, csrf, "proof_of_address", "original")
    done = _decide(client, dossier.id, csrf, "approve")
    assert done.status_code == 303
    assert "Dossier validé" in client.get(done.headers["location"]).text
    with services.db() as db:
        assert db.get(Dossier, dossier.id).state == "validated"
    status = client.post("/statut", data={"number": dossier.number, "birth_date": "1985-03-14"})
    assert "Validé par la mairie" in status.text


def test_return_requires_a_reason(client, services, dossier):
    csrf = login(client, "agent.a")
    refused = _decide(client, dossier.id, csrf, "return", note="  ")
    assert refused.status_code == 400 and "motif du renvoi" in refused.text
    done = _decide(client, dossier.id, csrf, "return", note="Photo non conforme : fond non uni")
    assert done.status_code == 303
    with services.db() as db:
        row = db.get(Dossier, dossier.id)
    assert (row.state, row.return_reasons) == ("returned", "Photo non conforme : fond non uni")
    assert row.decided_by == "agent.a"
    assert "fond non uni" in client.get(f"/console/dossiers/{dossier.id}").text


def test_agent_of_another_mairie_cannot_decide(client, services, dossier):
    csrf = login(client, "agent.b")
    assert client.post(f"/console/dossiers/{dossier.id}/verdicts", data={
        "csrf": csrf, "requirement": "photo", "verdict": "conforme", "version": "0"}).status_code == 403
    answer = _decide(client, dossier.id, csrf, "return", version="0", note="Non")
    assert answer.status_code == 403
    with services.db() as db:
        assert db.get(Dossier, dossier.id).state == "received"


# -- the search box a desk scanner types into ------------------------------------------------------

def _qr(number: str) -> str:
    return Receipt("Mairie A", "", "", "", number, "", ()).qr_payload()


@pytest.mark.parametrize("typed", [lambda n: n, lambda n: n.replace("-", ""), lambda n: n.lower(), _qr],
                         ids=["printed", "no-dashes", "lowercase", "receipt-qr"])
def test_scanning_a_number_opens_the_dossier(client, dossier, typed):
    login(client, "agent.a")
    answer = client.get("/console/", params={"q": typed(dossier.number)}, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, f"/console/dossiers/{dossier.id}")


def test_scanning_another_mairies_number_finds_nothing(client, dossier):
    login(client, "agent.b")
    answer = client.get("/console/", params={"q": dossier.number}, follow_redirects=False)
    assert answer.status_code == 200 and "Aucun dossier de votre périmètre" in answer.text


def test_search_box_is_autofocused_for_the_scanner(client, people):
    login(client, "agent.a")
    page = client.get("/console/").text
    assert re.search(r'<input id="q" name="q"[^>]*autofocus', page)
    assert '<label for="q">' in page


# -- bounded inputs ------------------------------------------------------------------------------

def test_overlong_inputs_are_refused_with_a_french_message(client, services, dossier):
    csrf = login(client, "agent.a")
    search = client.get("/console/", params={"q": "x" * 101})
    assert search.status_code == 400 and "100 caractères" in search.text
    comment = _verdict(client, dossier.id, csrf, "photo", "conforme", "x" * 501)
    assert comment.status_code == 400 and "500 caractères" in comment.text
    reasons = _decide(client, dossier.id, csrf, "return", note="x" * 2001)
    assert reasons.status_code == 400 and "2000 caractères" in reasons.text
    huge = _decide(client, dossier.id, csrf, "return", version="0", note="x" * 40_000)
    assert huge.status_code == 413 and "taille" in huge.text
    unsized = client.post(f"/console/dossiers/{dossier.id}/return", content=iter([b"reasons=x&csrf=", csrf.encode()]),
                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert unsized.status_code == 411
    status = client.post("/statut", data={"number": "K" * 41, "birth_date": "1985-03-14"})
    assert status.status_code == 400
    with services.db() as db:
        assert db.get(Dossier, dossier.id).state == "received" and db.scalar(select(Verdict)) is None


def test_strange_query_values_do_not_break_the_queue(client, people):
    login(client, "agent.a")
    assert client.get("/console/", params={"page": "abc"}).status_code == 200
    assert client.get("/console/", params={"page": "9" * 5000}).status_code == 200
    assert client.get("/console/", params={"state": "nope"}).status_code == 400


# -- administration ----------------------------------------------------------------------------------

def test_admin_creates_an_account_and_others_cannot(client, services, people, other):
    csrf = login(client, "aline")
    created = client.post("/console/admin/users", follow_redirects=False, data={
        "csrf": csrf, "username": "lea", "full_name": "Léa Agent", "role": "agent", "site_id": "mairie-b",
        "password": "a-long-initial-password"})
    assert created.status_code == 303
    with services.db() as db:
        user = db.scalar(select(User).where(User.username == "lea"))
    assert (user.role, user.site_id) == ("agent", "mairie-b")
    refused = client.post("/console/admin/users", data={"csrf": csrf, "username": "x" * 65, "role": "agent",
                                                        "password": "a-long-initial-password"})
    assert refused.status_code == 400 and "64 caractères" in refused.text
    other_csrf = login(other, "nadia")
    assert other.get("/console/admin/users").status_code == 403
    assert other.post("/console/admin/users", data={"csrf": other_csrf, "username": "evil", "role": "admin",
                                                    "password": "a-long-initial-password"}).status_code == 403


def _temporary(page: str) -> str:
    return re.search(r'<dd class="mono token-value">([^<]+)</dd>', page)[1]


def _user_row(services, username: str) -> User:
    with services.db() as db:
        return db.scalar(select(User).where(User.username == username))


def test_admin_resets_a_password_shown_once_and_the_account_must_change_it_first(client, services, people, other):
    login(other, "agent.a")  # the agent's open session, closed by the reset
    csrf = login(client, "aline")
    shown = client.post("/console/admin/users/agent.a/password", data={"csrf": csrf, "confirm": "1"},
                        follow_redirects=False)
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    temporary = _temporary(shown.text)
    assert len(temporary) >= 16 and "agent.a" in shown.text
    words = " ".join(html.unescape(shown.text).split())
    assert "remettez-le en main propre" in words and "Il doit être changé à la première connexion" in words
    assert temporary not in client.get("/console/admin/users").text  # shown once: on that answer alone
    assert other.get("/console/", follow_redirects=False).headers["location"].startswith("/console/login")

    answer = other.post("/console/login", data={"username": "agent.a", "password": temporary,
                                                "csrf": _hidden(other.get("/console/login").text)},
                        follow_redirects=False)
    assert answer.headers["location"] == "/console/password"
    for path in ("/console/", "/console/fleet", "/console/admin/users", "/console/nothing-here"):
        sent = other.get(path, follow_redirects=False)
        if sent.status_code != 404:
            assert (sent.status_code, sent.headers["location"]) == (303, "/console/password"), path
    page = other.get("/console/password")
    assert "Votre mot de passe est provisoire : choisissez-en un nouveau pour continuer." in page.text
    assert 'href="/console/"' not in page.text  # the menu holds only the password page until then
    csrf_a = _hidden(page.text)
    assert other.post("/console/help/x/acknowledge", data={"csrf": csrf_a},
                      follow_redirects=False).headers["location"] == "/console/password"
    assert other.get("/console/help.json").status_code == 403
    done = other.post("/console/password", data={"csrf": csrf_a, "old": temporary, "new": "agent-own-password-1",
                                                 "confirm": "agent-own-password-1"}, follow_redirects=False)
    assert done.headers["location"] == "/console/?ok=password"
    assert other.get("/console/").status_code == 200
    assert _user_row(services, "agent.a").must_change_password is False
    [entry] = _audit(services, "reset_password")
    assert (entry.actor, entry.role, entry.detail) == ("aline", "admin", "agent.a (agent)")
    assert all(temporary not in e.detail and "agent-own-password-1" not in e.detail for e in _audit(services))


def test_a_temporary_password_may_still_log_out(client, services, people):
    csrf = login(client, "aline")
    temporary = _temporary(client.post("/console/admin/users/agent.b/password",
                                       data={"csrf": csrf, "confirm": "1"}).text)
    client.post("/console/logout", data={"csrf": csrf})
    csrf_b = login(client, "agent.b", temporary)
    out = client.post("/console/logout", data={"csrf": csrf_b}, follow_redirects=False)
    assert out.headers["location"] == "/console/login?ok=out"


def test_admin_disables_an_account_whose_session_closes_then_enables_it(client, services, people, other):
    login(other, "agent.a")
    csrf = login(client, "aline")
    unconfirmed = client.post("/console/admin/users/agent.a/disable", data={"csrf": csrf})
    assert unconfirmed.status_code == 400 and "Cochez « Confirmer »" in html.unescape(unconfirmed.text)
    assert _user_row(services, "agent.a").active
    done = client.post("/console/admin/users/agent.a/disable", data={"csrf": csrf, "confirm": "1"},
                       follow_redirects=False)
    assert done.headers["location"] == "/console/admin/users?ok=user_disabled#compte-agent.a"
    assert other.get("/console/", follow_redirects=False).headers["location"].startswith("/console/login")
    form = other.get("/console/login")
    assert other.post("/console/login", data={"username": "agent.a", "password": PASSWORD,
                                              "csrf": _hidden(form.text)}).status_code == 401
    row = re.search(r'<tr id="compte-agent.a">.*?</tr>', client.get("/console/admin/users").text, re.S)[0]
    assert "Désactivé" in row and "/console/admin/users/agent.a/enable" in row and "/disable" not in row
    client.post("/console/admin/users/agent.a/enable", data={"csrf": csrf})
    login(other, "agent.a")
    assert [e.action for e in _audit(services) if e.actor == "aline" and e.action.endswith("_user")] == [
        "disable_user", "enable_user"]


def test_a_reset_needs_its_confirmation(client, services, people):
    csrf = login(client, "aline")
    refused = client.post("/console/admin/users/agent.a/password", data={"csrf": csrf})
    assert refused.status_code == 400 and "Cochez « Confirmer »" in html.unescape(refused.text)
    assert not _user_row(services, "agent.a").must_change_password and _audit(services, "reset_password") == []


def test_admin_lifts_the_waits_on_an_account_and_sees_every_wait(client, services, people, other):
    for _ in range(throttle.POLICIES["login.account"].free + 1):
        other.post("/console/login", data={"username": "agent.a", "password": "wrong-password",
                                           "csrf": _hidden(other.get("/console/login").text)})
    csrf = login(client, "aline")
    row = re.search(r'<tr id="compte-agent.a">.*?</tr>', client.get("/console/admin/users").text, re.S)[0]
    with services.db() as db:
        until = throttle.waiting_until(db, "login.account", services.now())["agent.a"].astimezone(PARIS)
    assert f"Essais freinés jusqu'à {until:%H:%M}" in html.unescape(row) and "Déverrouiller" in row
    waits = html.unescape(client.get("/console/admin/throttles").text)
    assert "Connexion à un compte" in waits and "testclient|agent.a" in waits and "Lever" in waits
    done = client.post("/console/admin/users/agent.a/unlock", data={"csrf": csrf}, follow_redirects=False)
    assert done.headers["location"].startswith("/console/admin/users?ok=user_unlocked")
    assert "Attentes levées" in client.get(done.headers["location"]).text
    login(other, "agent.a")  # in at once, with the right password, from the client that failed
    assert [e.detail for e in _audit(services, "unlock_user")] == ["agent.a (agent)"]


def test_admin_lifts_one_clients_wait_on_the_throttles_page(client, services, people, other):
    for _ in range(throttle.POLICIES["login.account"].free + 1):
        other.post("/console/login", data={"username": "agent.b", "password": "wrong-password",
                                           "csrf": _hidden(other.get("/console/login").text)})
    csrf = login(client, "aline")
    done = client.post("/console/admin/throttles/clear", follow_redirects=False,
                       data={"csrf": csrf, "scope": "login.account", "key": "testclient|agent.b"})
    assert done.headers["location"] == "/console/admin/throttles?ok=cleared"
    assert "Aucun poste n'attend" in html.unescape(client.get(done.headers["location"]).text)
    login(other, "agent.b")
    assert [e.detail for e in _audit(services, "clear_throttle")] == ["Connexion à un compte : testclient|agent.b"]
    refused = client.post("/console/admin/throttles/clear", data={"csrf": csrf, "scope": "nope", "key": "x"})
    assert refused.status_code == 404


def test_an_admin_cannot_disable_their_own_account(client, services, people):
    csrf = login(client, "aline")
    refused = client.post("/console/admin/users/aline/disable", data={"csrf": csrf, "confirm": "1"})
    assert refused.status_code == 400 and "propre compte" in refused.text
    assert _user_row(services, "aline").active and _audit(services, "disable_user") == []
    row = re.search(r'<tr id="compte-aline">.*?</tr>', client.get("/console/admin/users").text, re.S)[0]
    assert "Désactiver" not in row and "Réinitialiser" not in row


@pytest.mark.parametrize("username", ["agent.a", "nadia", "hugo"], ids=["agent", "supervisor", "technician"])
def test_only_administrators_act_on_accounts(client, services, people, username):
    csrf = login(client, username)
    for action in ("disable", "enable", "unlock", "password"):
        refused = client.post(f"/console/admin/users/agent.b/{action}", data={"csrf": csrf, "confirm": "1"})
        assert refused.status_code == 403, action
    user = _user_row(services, "agent.b")
    assert user.active and not user.must_change_password
    assert [e for e in _audit(services) if e.action.endswith("_user") or e.action == "reset_password"] == []


def test_account_actions_need_the_sessions_csrf_token(client, services, people, other):
    other_csrf = login(other, "nadia")
    login(client, "aline")
    for token in ("", "forged", other_csrf):
        for action in ("disable", "password"):
            refused = client.post(f"/console/admin/users/agent.b/{action}", data={"csrf": token, "confirm": "1"})
            assert refused.status_code == 403 and "Formulaire refusé" in refused.text
    user = _user_row(services, "agent.b")
    assert user.active and not user.must_change_password


def test_audit_log_is_for_administrators_and_filters_by_dossier(client, services, dossier, other):
    login(other, "agent.a")
    other.get(f"/console/dossiers/{dossier.id}/attachments/documents/photo")
    assert other.get("/console/admin/audit").status_code == 403
    login(client, "aline")
    page = client.get("/console/admin/audit", params={"dossier": dossier.id}).text
    assert "Affichage photo ou signature" in page and "agent.a" in page
    assert "Connexion" not in page  # login lines have no dossier
    assert "agent.a" not in client.get("/console/admin/audit", params={"actor": "nadia"}).text


def test_technician_creates_an_enrollment_token_shown_once_with_its_qr_code(client, services, people):
    csrf = login(client, "hugo")
    page = client.post("/console/admin/tokens", data={"csrf": csrf, "site_id": "mairie-b"})
    assert page.status_code == 200
    token = re.search(r'<p class="token-value mono">([^<]+)</p>', page.text)[1]
    assert f"kiosk provision --central http://testserver --token {token}" in page.text
    assert 'src="data:image/png;base64,' in page.text
    with services.db() as db:
        stored = db.scalar(select(EnrollmentToken))
        site = db.get(Site, stored.site_id)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() and site.name == "Mairie B"
    assert token not in client.get("/console/admin/tokens").text
    assert [e.detail for e in _audit(services, "create_token")] == ["Mairie B"]


def test_fleet_shows_offline_kiosks_and_lets_a_technician_revoke(client, services, dossier, other):
    with services.db() as db, db.begin():
        device = db.get(Device, dossier.device_id)
        device.last_seen_at = datetime.now(timezone.utc) - timedelta(hours=3)
        device.software_version = "0.1.0"
        device.heartbeat = {"queue": {"queued": 2}, "oldest_queued_age_s": 5400}
        device.selftest_ok, device.selftest_at = False, datetime.now(timezone.utc)
        code = device.kiosk_code
    login(other, "nadia")
    seen = other.get("/console/fleet").text
    assert code in seen and "Hors ligne depuis 3 h" in seen and "en attente : 2" in seen and "Échec" in seen
    assert "Révoquer" not in seen
    csrf = login(client, "hugo")
    assert client.post(f"/console/fleet/{dossier.device_id}/revoke", data={"csrf": csrf}).status_code == 400
    done = client.post(f"/console/fleet/{dossier.device_id}/revoke", data={"csrf": csrf, "confirm": "1"},
                       follow_redirects=False)
    assert done.status_code == 303
    with services.db() as db:
        assert db.get(Device, dossier.device_id).revoked_by == "hugo"
    assert "Révoquée" in client.get("/console/fleet").text


def test_agents_do_not_see_the_fleet(client, people):
    login(client, "agent.a")
    assert client.get("/console/fleet").status_code == 403


# -- the citizen's status page ------------------------------------------------------------------------

def test_status_page_answers_the_same_for_an_unknown_number_and_a_wrong_birth_date(client, dossier):
    right = client.post("/statut", data={"number": dossier.number.lower(), "birth_date": "1985-03-14"})
    wrong_date = client.post("/statut", data={"number": dossier.number, "birth_date": "1985-03-15"})
    unknown = client.post("/statut", data={"number": "K999-00001-0", "birth_date": "1985-03-14"})
    assert "Reçu, en attente de vérification" in right.text
    strip = lambda t: re.sub(r'value="[^"]*"', "", t)  # noqa: E731 — the form echoes what was typed
    assert strip(wrong_date.text) == strip(unknown.text)
    assert "Aucun dossier ne correspond" in unknown.text
    assert 'lang="fr"' in client.get("/statut").text


def test_status_page_speaks_english_on_request(client, dossier):
    page = client.get("/statut", params={"lang": "en"})
    assert '<html lang="en">' in page.text and "Where is my application?" in page.text
    answer = client.post("/statut", data={"number": dossier.number, "birth_date": "1985-03-14", "lang": "en"})
    assert "Received, waiting for an agent" in answer.text
    assert "Français" in answer.text  # and back to French in one tap


def test_password_change_through_the_form(client, other, people):
    csrf = login(client, "agent.a")
    login(other, "agent.a")
    mismatch = client.post("/console/password", data={"csrf": csrf, "old": PASSWORD, "new": "new-password-2027",
                                                      "confirm": "new-password-2028"})
    assert mismatch.status_code == 400 and "diffèrent" in mismatch.text
    done = client.post("/console/password", follow_redirects=False,
                       data={"csrf": csrf, "old": PASSWORD, "new": "new-password-2027", "confirm": "new-password-2027"})
    assert done.status_code == 303 and "Mot de passe changé" in client.get(done.headers["location"]).text
    assert other.get("/console/", follow_redirects=False).status_code == 303  # the other session is closed
    login(other, "agent.a", "new-password-2027")


def test_status_page_slows_a_client_guessing_birth_dates_but_not_the_citizen(client, dossier):
    for day in range(1, throttle.POLICIES["status.number"].free + 2):
        wrong = client.post("/statut", data={"number": dossier.number, "birth_date": f"1990-01-{day:02d}"})
        assert wrong.status_code == 200
    refused = client.post("/statut", data={"number": dossier.number, "birth_date": "1985-03-14"})
    assert refused.status_code == 429 and "Trop d&#39;essais depuis cet appareil" in refused.text
    assert "Réessayez dans 1 min" in refused.text and "Reçu, en attente" not in refused.text
    with TestClient(client.app, base_url="http://testserver", client=("10.0.0.50", 50000)) as citizen:
        answered = citizen.post("/statut", data={"number": dossier.number, "birth_date": "1985-03-14"})
    assert answered.status_code == 200 and "Reçu, en attente" in answered.text


def test_the_dossier_page_shows_the_answers_and_what_is_conditional(services, client, tmp_path, people):
    d = deliver_dossier(services, client, tmp_path / "k", site="mairie-a", scenario="birthplace-dont-know")
    login(client, "agent.a")
    page = client.get(f"/console/dossiers/{d.id}").text
    table = re.search(r'<table class="answers".*?</table>', page, re.S)[0]
    assert "Hébergé par un tiers" in table and "Pré-demande" in table and "Déclaré à la borne" in table
    assert "Ne sait pas" in table
    piece = re.search(r'<article class="piece" id="piece-birth_certificate".*?</article>', page, re.S)[0]
    assert "Pièce conditionnelle" in piece and 'value="sans_objet"' in piece
    photo = re.search(r'<article class="piece" id="piece-photo".*?</article>', page, re.S)[0]
    assert "Pièce conditionnelle" not in photo and 'value="sans_objet"' not in photo


# -- one style for every route, one table for the words ----------------------------------------------

def _access(route) -> set[str]:
    """The access dependencies a route declares (central.console.access)."""
    return {d.call.__qualname__.split(".<locals>")[0] for d in route.dependant.dependencies} & {
        "require", "posted", "polling_reviewer", "polled_form"}


def test_every_console_route_names_who_may_use_it_and_every_form_checks_its_token():
    from central.console import admin, auth, dossiers, fleet, help, viewer

    open_to_all = {("GET", "/console"), ("GET", "/console/login"), ("POST", "/console/login")}
    routes = [(method, r) for area in (auth, dossiers, viewer, help, admin, fleet)
              for r in area.router.routes for method in r.methods]
    assert len(routes) == 33  # the areas' pages and forms
    for method, route in routes:
        if (method, route.path) in open_to_all:
            assert not _access(route), route.path
        elif method == "POST":
            assert _access(route) in ({"posted"}, {"polled_form"}), route.path
        else:
            assert _access(route) in ({"require"}, {"polling_reviewer"}), route.path


def test_the_services_words_are_typeset_for_a_page_and_plain_for_labels_and_the_api():
    from central.texts import TEXTS, Texts

    assert Texts("fr", typography=True)("status.too_long") == "Numéro ou date trop longs\u00a0: vérifiez votre saisie."
    assert Texts("fr")("notice.approved") == "Dossier validé : il sera transmis à la préfecture."
    assert Texts("en")("status.state.returned") == "Returned: the town hall will contact you"
    assert Texts("en")("notice.verdict") == "Avis enregistré."  # the console speaks French only
    assert Texts("fr").label("role", "cli") == "cli" and Texts("fr").find("notice.nothing") is None
    assert list(Texts("fr").labels("state")) == ["received", "validated", "returned", "sent"]
    assert all("fr" in entry for entry in TEXTS.values())
