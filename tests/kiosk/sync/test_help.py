"""A call for help, on the kiosk's side: the app's request file, the worker's relay, what the citizen is told.

The service's side, and the whole loop through a real central service and
an agent's "j'arrive", are in ``tests/central/test_kiosk_help.py``.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.kiosk.core.conftest import FakeClock
from tests.kiosk.speech.speaking import inline_voice, spoken
from kiosk.sync.help import ANSWER_TIMEOUT_S, Assistance, HelpDesk, HelpRelay, HelpState
from kiosk.sync.client import CentralClient
from nacl.signing import SigningKey


@pytest.fixture
def clock():
    """Unix time, as a help request shares it with the sync worker."""
    return FakeClock(1_800_000_000.0)


def unreachable_client() -> CentralClient:
    """A real client to a port nobody listens on: what a kiosk whose network is down has."""
    key = SigningKey.generate()
    return CentralClient(httpx.Client(base_url="http://127.0.0.1:9", timeout=2.0), device_id="dev", key=key)


def test_a_request_names_the_screen_and_how_long_and_nothing_of_the_citizen(tmp_path, clock):
    desk = HelpDesk(tmp_path, clock)
    assert desk.ask("capture", screen_since=clock.now - 240) is HelpState.ASKING
    saved = json.loads((tmp_path / "help" / "request.json").read_text())
    assert set(saved) == {"id", "raised_at", "screen", "screen_since", "open"}
    assert saved["screen"] == "capture" and saved["raised_at"] - saved["screen_since"] == 240
    assert len(saved["id"]) == 32


def test_asking_twice_is_one_request(tmp_path, clock):
    desk = HelpDesk(tmp_path, clock)
    desk.ask("capture", clock.now)
    first = desk.request.id
    desk.ask("capture", clock.now)
    assert desk.request.id == first


def test_without_an_answer_the_citizen_is_sent_to_the_front_desk_in_time(tmp_path, clock):
    desk = HelpDesk(tmp_path, clock)
    desk.ask("checklist", clock.now)
    clock.now += ANSWER_TIMEOUT_S - 1
    assert desk.refresh() is HelpState.ASKING
    clock.now += 2
    assert desk.refresh() is HelpState.UNREACHABLE and desk.message_key == "help.offline"


def test_the_relay_says_unreachable_when_the_network_is_down_and_tries_again(tmp_path, clock):
    desk = HelpDesk(tmp_path, clock)
    desk.ask("checklist", clock.now)
    relay = HelpRelay(tmp_path, unreachable_client(), clock)
    assert relay.pump() == "unreachable"
    assert desk.refresh() is HelpState.UNREACHABLE
    assert relay.pump() == "unreachable"  # not given up: the next round tries again


def test_a_relay_with_nothing_to_send_does_nothing(tmp_path, clock):
    assert HelpRelay(tmp_path, unreachable_client(), clock).pump() is None
    (tmp_path / "help").mkdir()
    (tmp_path / "help" / "request.json").write_text('{"id": 3}')  # damaged: ignored, not a crash
    assert HelpRelay(tmp_path, unreachable_client(), clock).pump() is None


def test_an_answer_for_another_request_is_not_this_ones(tmp_path, clock):
    desk = HelpDesk(tmp_path, clock)
    desk.ask("summary", clock.now)
    (tmp_path / "help" / "answer.json").write_text(json.dumps({"id": "f" * 32, "state": "acknowledged",
                                                               "at": clock.now}))
    assert desk.refresh() is HelpState.ASKING


def test_a_worker_gone_quiet_after_answering_means_nobody_can_be_told(tmp_path, clock):
    desk = HelpDesk(tmp_path, clock)
    desk.ask("summary", clock.now)
    (tmp_path / "help" / "answer.json").write_text(json.dumps({"id": desk.request.id, "state": "sent",
                                                               "at": clock.now}))
    assert desk.refresh() is HelpState.SENT
    clock.now += ANSWER_TIMEOUT_S + 1
    assert desk.refresh() is HelpState.UNREACHABLE


def test_the_assistance_follows_the_citizen_and_closes_with_the_session(tmp_path, clock):
    from kiosk.core.session import Session, SessionSettings
    from tests.kiosk.core.conftest import TODAY

    s = Session(SessionSettings(), clock, wall_clock=lambda: TODAY)
    lights = []
    a = Assistance(HelpDesk(tmp_path, clock), inline_voice(tmp_path), on_light=lights.append)
    s.subscribe(a.follow)
    a.follow(s)
    s.start()
    clock.now += 30
    assert a.ask(s) is HelpState.ASKING and lights == [True] and spoken(tmp_path) == ["help.asking"]
    s.number_typed("AB")
    s.submit_number("AB12CD34EF")  # the citizen goes on while waiting: the agent is told where
    saved = json.loads((tmp_path / "help" / "request.json").read_text())
    assert saved["screen"] == "looking_up"
    from titres.errors import PredemandeNotFound

    s.lookup_failed(PredemandeNotFound())
    s.cancel()  # the session ends
    assert not a.desk.is_open and lights == [True, False]
    assert json.loads((tmp_path / "help" / "request.json").read_text())["open"] is False
