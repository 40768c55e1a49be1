"""A call for help from the kiosk's screen to an agent's « J'arrive » and back to the kiosk, through the real service.

The kiosk's side is the real one: the app's request file (``HelpDesk``), the
sync worker's relay (``HelpRelay``) over the real signed client, and the
assistance that says what comes back; the agent's side is the console's
form. Only the kiosk's sync worker process is replaced by calling its relay.
"""

from __future__ import annotations

import re

from factory import enroll_kiosk
from tests.kiosk.speech.speaking import inline_voice, spoken
from kiosk.sync.help import Assistance, HelpDesk, HelpRelay, HelpState
from kiosk.core.session import Session, SessionSettings
from test_console import login


def test_an_agent_answers_a_call_and_the_kiosk_says_so(services, client, tmp_path, people):
    kiosk = enroll_kiosk(services, client, tmp_path / "kiosk", site="mairie-a")
    data = kiosk.config.data_dir
    session = Session(SessionSettings(), lambda: 0.0)
    lights: list[bool] = []
    assistance = Assistance(HelpDesk(data), inline_voice(tmp_path), on_light=lights.append)
    session.subscribe(assistance.follow)
    assistance.follow(session)
    session.start()
    relay = HelpRelay(data, kiosk.central)

    assert assistance.ask(session) is HelpState.ASKING and lights == [True]
    assert relay.pump() == "sent"
    assert assistance.tick() is HelpState.SENT and spoken(tmp_path) == ["help.asking", "help.sent"]

    login(client, "agent.a")
    page = client.get("/console/").text
    assert "Identification de la pré-demande" in page and kiosk.kiosk_code in page  # the banner, at once
    form = re.search(r'action="(/console/help/[0-9a-f]{32}/acknowledge)"', page)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)[1]
    answer = client.post(form[1], data={"csrf": csrf, "next": "/console/"}, follow_redirects=False)
    assert answer.status_code == 303

    relay.resend_s = 0  # the worker's next round (every 2 s in the real loop)
    assert relay.pump() == "acknowledged"
    assert assistance.tick() is HelpState.ACKNOWLEDGED and spoken(tmp_path)[-1] == "help.acknowledged"

    session.cancel()  # the citizen is done: the request closes with the session
    assert relay.pump() == "closed" and lights == [True, False]
    assert relay.pump() is None  # and the service is not told twice
    client.cookies.clear()
    login(client, "agent.a")
    assert "Identification de la pré-demande" not in client.get("/console/").text


def test_an_agent_of_another_mairie_does_not_see_the_call(services, client, tmp_path, people):
    kiosk = enroll_kiosk(services, client, tmp_path / "kiosk", site="mairie-a")
    desk = HelpDesk(kiosk.config.data_dir)
    desk.ask("capture", desk.clock() - 90)
    assert HelpRelay(kiosk.config.data_dir, kiosk.central).pump() == "sent"
    login(client, "agent.b")
    page = client.get("/console/")
    assert page.status_code == 200 and "Se déconnecter" in page.text  # signed in, the queue shown
    assert "Photo des pièces" not in page.text
    client.cookies.clear()
    login(client, "agent.a")  # the call is there, for the agent of its own mairie
    assert "Photo des pièces" in client.get("/console/").text
