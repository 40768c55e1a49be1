"""Two reviewers on one dossier, a session that ends mid-work, verdicts saved in place: nobody's work is
overwritten unseen, nothing typed is lost, and the history says who did what, by name."""

from __future__ import annotations

import re
from html import unescape
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from central import reasons, review
from central.models import AuditEntry, Dossier, DossierEvent, Verdict, WebSession
from factory import deliver_dossier

from test_console import login

FETCH = {"X-Console-Fetch": "1"}


@pytest.fixture
def dossier(services, client, tmp_path, people) -> Dossier:
    return deliver_dossier(services, client, tmp_path / "kiosk-a", site="mairie-a")


@pytest.fixture
def other(client):
    """The supervisor's browser, beside the agent's."""
    with TestClient(client.app, base_url="http://testserver") as c:
        yield c


def _open(client, dossier_id) -> tuple[str, str]:
    """Open the dossier's page: (its HTML, the version its forms carry)."""
    html = unescape(client.get(f"/console/dossiers/{dossier_id}").text)
    return html, re.search(r'name="version" value="(\d+)"', html)[1]


def _verdict(client, dossier_id, csrf, version, requirement, verdict="conforme", comment="", headers=None):
    return client.post(f"/console/dossiers/{dossier_id}/verdicts", follow_redirects=False, headers=headers or {},
                       data={"csrf": csrf, "version": version, "requirement": requirement, "verdict": verdict,
                             "comment": comment})


def test_a_verdict_from_a_page_drawn_before_a_colleagues_is_refused_and_the_current_state_shown(
        client, other, services, clock, dossier):
    agent = login(client, "agent.a")
    supervisor = login(other, "nadia")
    _, stale = _open(other, dossier.id)           # the supervisor's page, drawn first
    clock.advance(review.HOLD_SECONDS + 1)        # ... and left alone: the agent may work
    _, fresh = _open(client, dossier.id)
    assert _verdict(client, dossier.id, agent, fresh, "photo", "conforme").status_code == 303

    clock.advance(review.HOLD_SECONDS + 1)
    refused = _verdict(other, dossier.id, supervisor, stale, "photo", "non_conforme", "Fond non uni")
    assert refused.status_code == 409
    assert "a changé depuis l'affichage de votre page" in unescape(refused.text)
    assert "Camille A" in unescape(refused.text)            # the current verdict, by whom, is on the page drawn again
    with services.db() as db:
        row = db.get(Verdict, (dossier.id, "photo"))
        assert (row.verdict, row.agent) == ("conforme", "agent.a")


def test_a_colleague_with_the_dossier_open_is_shown_and_can_be_taken_over_with_a_trace(
        client, other, services, clock, dossier):
    agent = login(client, "agent.a")
    supervisor = login(other, "nadia")
    _open(client, dossier.id)
    clock.advance(180 - 60)
    _verdict(client, dossier.id, agent, _open(client, dossier.id)[1], "photo")  # the agent is still at it
    clock.advance(60)
    html, version = _open(other, dossier.id)
    assert "Camille A a ce dossier ouvert depuis 3 min" in html
    held = _verdict(other, dossier.id, supervisor, version, "proof_of_address")
    assert held.status_code == 409 and "Prenez la main" in unescape(held.text)

    taken = other.post(f"/console/dossiers/{dossier.id}/take", data={"csrf": supervisor}, follow_redirects=False)
    assert (taken.status_code, taken.headers["location"]) == (303, f"/console/dossiers/{dossier.id}?ok=taken")
    assert "Vous avez pris la main" in unescape(other.get(taken.headers["location"]).text)
    html, version = _open(other, dossier.id)
    assert _verdict(other, dossier.id, supervisor, version, "proof_of_address").status_code == 303
    with services.db() as db:
        [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "take_over"))
        assert (entry.actor, entry.detail) == ("nadia", "à agent.a")
    page = unescape(client.get(f"/console/dossiers/{dossier.id}").text)
    assert "Nadia Superviseure a ce dossier ouvert" in page      # and the agent's page now says so
    assert re.search(r"Prise en main\s+par Nadia Superviseure \(à Camille A\)", page)


def test_a_holder_who_left_no_longer_blocks_anyone(client, other, clock, dossier):
    login(client, "agent.a")
    supervisor = login(other, "nadia")
    _open(client, dossier.id)
    clock.advance(review.HOLD_SECONDS + 1)
    html, version = _open(other, dossier.id)
    assert "a ce dossier ouvert" not in html
    assert _verdict(other, dossier.id, supervisor, version, "photo").status_code == 303


def test_the_history_lists_every_verdict_change_with_the_persons_name(client, other, services, clock, dossier):
    agent = login(client, "agent.a")
    _verdict(client, dossier.id, agent, _open(client, dossier.id)[1], "photo", "non_conforme", "Photo floue")
    _verdict(client, dossier.id, agent, _open(client, dossier.id)[1], "photo", "conforme", "Photo floue")
    page = unescape(client.get(f"/console/dossiers/{dossier.id}").text)
    history = page[page.index('id="history"'):]
    assert re.search(r"Avis\s+par Camille A : Photo d'identité : Non conforme — Photo floue", history)
    # The stale comment did not follow the verdict it was about.
    assert re.search(r"Avis\s+par Camille A : Photo d'identité : Conforme</li>", history)
    with services.db() as db:
        assert db.get(Verdict, (dossier.id, "photo")).comment == ""
    assert "(agent.a" not in page  # names, not logins


def test_a_comment_kept_under_the_same_verdict_stays_its_authors(client, other, services, clock, dossier):
    agent = login(client, "agent.a")
    _verdict(client, dossier.id, agent, _open(client, dossier.id)[1], "photo", "non_conforme", "Photo floue")
    clock.advance(review.HOLD_SECONDS + 1)
    supervisor = login(other, "nadia")
    answer = _verdict(other, dossier.id, supervisor, _open(other, dossier.id)[1], "photo", "non_conforme",
                      "Photo floue")
    assert answer.status_code == 303
    with services.db() as db:
        row = db.get(Verdict, (dossier.id, "photo"))
        assert (row.agent, row.comment) == ("agent.a", "Photo floue")  # nothing changed: nothing re-signed
        assert db.get(Dossier, dossier.id).version == 1


def test_all_remaining_items_conforme_keeps_the_exceptions(client, services, dossier):
    agent = login(client, "agent.a")
    _verdict(client, dossier.id, agent, _open(client, dossier.id)[1], "previous_title", "original")
    done = client.post(f"/console/dossiers/{dossier.id}/verdicts/remaining", follow_redirects=False,
                       data={"csrf": agent, "version": _open(client, dossier.id)[1]})
    assert done.status_code == 303
    with services.db() as db:
        given = {v.requirement: v.verdict for v in db.scalars(select(Verdict))}
        assert db.get(Dossier, dossier.id).version == 2
    assert given == {"photo": "conforme", "proof_of_address": "conforme", "previous_title": "original"}


def test_a_verdict_saved_by_the_pages_script_answers_the_changed_parts(client, services, dossier):
    agent = login(client, "agent.a")
    html, version = _open(client, dossier.id)
    assert 'id="judge-photo"' in html and 'id="decision"' in html
    answer = _verdict(client, dossier.id, agent, version, "photo", headers=FETCH)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert (body["kind"], body["message"], body["version"]) == ("ok", "Avis enregistré.", int(version) + 1)
    assert set(body["parts"]) == {"judge-photo", "judge-proof_of_address", "judge-previous_title", "presence",
                                  "bulk", "decision", "history"}
    assert "Conforme" in body["parts"]["judge-photo"] and "Camille A" in body["parts"]["judge-photo"]
    assert f'name="version" value="{int(version) + 1}"' in body["parts"]["decision"]
    stale = _verdict(client, dossier.id, agent, version, "proof_of_address", headers=FETCH)
    assert stale.status_code == 409 and stale.json()["kind"] == "stale"
    with services.db() as db:
        assert db.get(Verdict, (dossier.id, "proof_of_address")) is None


def test_a_post_after_the_session_ended_goes_back_to_the_dossier_once_logged_in(client, services, dossier):
    agent = login(client, "agent.a")
    _, version = _open(client, dossier.id)
    with services.db() as db, db.begin():
        idle = timedelta(minutes=services.config.session_idle_minutes + 1)
        db.execute(update(WebSession).values(last_seen_at=services.now() - idle))
    by_script = _verdict(client, dossier.id, agent, version, "photo", headers=FETCH)
    assert by_script.status_code == 401
    assert by_script.json()["login"] == f"/console/login?ok=expired&next=%2Fconsole%2Fdossiers%2F{dossier.id}"
    client.cookies.set("console_session", "expired-session-token", path="/console")
    by_form = _verdict(client, dossier.id, agent, version, "photo")
    assert by_form.status_code == 303
    assert by_form.headers["location"] == f"/console/login?ok=expired&next=%2Fconsole%2Fdossiers%2F{dossier.id}"
    assert "Votre session a expiré" in unescape(client.get(by_form.headers["location"]).text)


@pytest.mark.one_engine
def test_the_session_timeout_comes_from_the_configuration_and_the_page_knows_it(client, services, dossier):
    login(client, "agent.a")
    html, _ = _open(client, dossier.id)
    assert f'data-idle-seconds="{services.config.session_idle_minutes * 60}"' in html
    csrf = re.search(r'<meta name="csrf" content="([^"]+)"', html)[1]
    kept = client.post("/console/session", data={"csrf": csrf})
    assert kept.json() == {"idle_seconds": services.config.session_idle_minutes * 60}
    assert client.post("/console/session", data={"csrf": "forged"}).status_code == 403


def test_the_open_page_says_it_is_open_without_keeping_the_session_alive(client, services, clock, dossier):
    login(client, "agent.a")
    html, version = _open(client, dossier.id)
    csrf = re.search(r'<meta name="csrf" content="([^"]+)"', html)[1]
    clock.advance(100)
    beat = client.post(f"/console/dossiers/{dossier.id}/presence", data={"csrf": csrf}, headers=FETCH)
    assert beat.json() == {"version": int(version), "state": "received", "held_by": None}
    with services.db() as db:
        row = db.get(Dossier, dossier.id)
        assert row.held_seen_at == clock.now()
        session = db.scalar(select(WebSession))
        assert session.last_seen_at < clock.now()  # the beat did not refresh the session
    assert client.post(f"/console/dossiers/{dossier.id}/presence", data={"csrf": "x"}).status_code == 403


@pytest.mark.one_engine
def test_images_are_kept_by_the_browser_only_at_their_content_address(client, dossier):
    login(client, "agent.a")
    html, _ = _open(client, dossier.id)
    src = re.search(r'<img src="(/console/dossiers/[^"]+/attachments/documents/photo\?v=[0-9a-f]{16})"', html)[1]
    kept = client.get(src)
    assert kept.status_code == 200 and kept.headers["cache-control"] == "private, max-age=28800, immutable"
    bare = client.get(src.split("?")[0])
    assert bare.headers["cache-control"] == "no-store"
    wrong = client.get(src.split("?")[0] + "?v=0000000000000000")
    assert wrong.headers["cache-control"] == "no-store"


def test_return_reasons_chosen_from_the_mairies_list_reach_the_dossier(client, services, dossier):
    agent = login(client, "agent.a")
    html, version = _open(client, dossier.id)
    assert 'value="photo"' in html and "apportez une photo de moins de 6 mois" in html
    unknown = client.post(f"/console/dossiers/{dossier.id}/return", data={"csrf": agent, "version": version,
                                                                           "reason": ["nope"]})
    assert unknown.status_code == 400 and "Ce motif de renvoi n'existe plus" in unescape(unknown.text)
    done = client.post(f"/console/dossiers/{dossier.id}/return", follow_redirects=False,
                       data={"csrf": agent, "version": version, "reason": ["photo", "address"],
                             "note": "Le justificatif est au nom d'un tiers."})
    assert done.status_code == 303
    with services.db() as db:
        row = db.get(Dossier, dossier.id)
    notice = reasons.Notice.from_dict(row.return_notice)
    assert [r.code for r in notice.reasons] == ["photo", "address"]
    assert notice.lines("en")[0].startswith("The identity photo")
    assert row.return_reasons.splitlines()[-1] == "Le justificatif est au nom d'un tiers."


def test_a_decision_releases_the_dossier_and_writes_its_event(client, services, dossier):
    agent = login(client, "agent.a")
    client.post(f"/console/dossiers/{dossier.id}/verdicts/remaining",
                data={"csrf": agent, "version": _open(client, dossier.id)[1]})
    done = client.post(f"/console/dossiers/{dossier.id}/approve", follow_redirects=False,
                       data={"csrf": agent, "version": _open(client, dossier.id)[1]})
    assert done.status_code == 303
    with services.db() as db:
        row = db.get(Dossier, dossier.id)
        kinds = [e.kind for e in db.scalars(select(DossierEvent).where(DossierEvent.dossier_id == dossier.id))]
    assert (row.state, row.holder_id) == ("validated", None)
    assert kinds == ["received", "verdict", "verdict", "verdict", "validated"]


def test_a_dossier_from_the_same_predemande_is_flagged_and_the_decided_page_offers_the_next(
        client, services, tmp_path, dossier):
    twin = deliver_dossier(services, client, tmp_path / "kiosk-a2", site="mairie-a")
    assert twin.predemande_number == dossier.predemande_number
    agent = login(client, "agent.a")
    html, version = _open(client, dossier.id)
    flags = html[html.index('class="flags'):html.index("</section>", html.index('class="flags'))]
    assert f"Doublon : même pré-demande {dossier.predemande_number}" in flags
    assert f'href="/console/dossiers/{twin.id}"' in flags
    client.post(f"/console/dossiers/{dossier.id}/verdicts/remaining", data={"csrf": agent, "version": version})
    done = client.post(f"/console/dossiers/{dossier.id}/approve", follow_redirects=False,
                       data={"csrf": agent, "version": _open(client, dossier.id)[1]})
    decided = unescape(client.get(done.headers["location"]).text)
    assert f'<a class="button-link" id="next" href="/console/dossiers/{twin.id}">Dossier suivant : {twin.number}' \
        in decided


@pytest.mark.parametrize("raw, minutes", [("", 30), (" 45 ", 45), ("5", 5), ("480", 480)])
def test_the_session_timeout_is_read_from_the_environment(raw, minutes):
    from central.config import load_config

    assert load_config({"KIOSK_CENTRAL_SESSION_IDLE_MINUTES": raw}).session_idle_minutes == minutes


@pytest.mark.parametrize("raw", ["4", "481", "30m", "-10"])
def test_a_session_timeout_out_of_bounds_stops_the_service_with_its_name(raw):
    from central.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="KIOSK_CENTRAL_SESSION_IDLE_MINUTES"):
        load_config({"KIOSK_CENTRAL_SESSION_IDLE_MINUTES": raw})
