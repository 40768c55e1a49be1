"""A whole capture by touch with speech on, text at 150 %, and a call for help answered from the console.

Three processes, as on a mairie's network: a real ``kiosk-central serve``
(demo data), the kiosk's real sync worker (``kiosk sync``, which relays the
call), and the Kivy app driven by touches (``drive_flow.py assisted``).
This test plays the agent: it logs into the console and presses
« J'arrive » when the banner shows the kiosk's call.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import httpx
import pytest

from tests.chain import BIN, central_service, enrolled_kiosk
from tests.kiosk.ui.conftest import DRIVER, RESULTS, ROOT, SHOTS, assert_ok

pytestmark = pytest.mark.ui

#: Generous for a loaded 2-core machine: the whole capture, the call and its answer.
RUN_TIMEOUT_S = 240


def _login(http: httpx.Client, username: str, password: str) -> None:
    form = http.get("/console/login").text
    csrf = re.search(r'name="csrf" value="([^"]*)"', form)[1]
    answer = http.post("/console/login", data={"username": username, "password": password, "csrf": csrf})
    assert answer.status_code in (200, 303) and "Se déconnecter" in http.get("/console/").text


def _answer_the_call(http: httpx.Client, driver: subprocess.Popen, deadline: float) -> str:
    """As an agent would: wait for the banner (the console's own JSON, which its script polls), press « J'arrive »."""
    while time.monotonic() < deadline and driver.poll() is None:
        banner = http.get("/console/help.json", params={"next": "/console/"}).json()
        if banner["requests"]:
            page = http.get("/console/").text
            form = re.search(r'action="(/console/help/[0-9a-f]{32}/acknowledge)"', page)
            csrf = re.search(r'name="csrf" value="([^"]+)"', page)[1]
            done = http.post(form[1], data={"csrf": csrf, "next": "/console/"})
            assert done.status_code == 200 and "Rendez-vous auprès de" in done.text
            return json.dumps(banner, ensure_ascii=False) + page
        time.sleep(0.5)  # an agent glancing at the console: not a synchronisation, the loop waits on the banner
    raise AssertionError("the call never reached the console")


def test_a_capture_heard_at_150_percent_with_a_call_answered_by_an_agent(tmp_path):
    prefix = "800x480_assisted"
    for old in SHOTS.glob(f"{prefix}_*.png"):
        old.unlink()
    RESULTS.mkdir(parents=True, exist_ok=True)
    result_file = RESULTS / f"{prefix}.json"
    result_file.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    with central_service(tmp_path) as (url, central_data):
        kiosk = tmp_path / "kiosk"
        enrolled_kiosk(url, central_data, kiosk)
        sync_log = open(tmp_path / "sync.log", "w")
        sync = subprocess.Popen([str(BIN / "kiosk"), "--data-dir", str(kiosk), "sync"], env=env, stdout=sync_log,
                                stderr=subprocess.STDOUT)
        driver = subprocess.Popen([sys.executable, str(DRIVER), "assisted", "--data", str(kiosk), "--shots",
                                   str(SHOTS), "--prefix", prefix, "--result", str(result_file),
                                   "--inactivity", "300,60"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        try:
            with httpx.Client(base_url=url, timeout=30, follow_redirects=True) as http:
                _login(http, "agent", "demo-mairie-2026")
                banner = _answer_the_call(http, driver, time.monotonic() + RUN_TIMEOUT_S)
            _, stderr = driver.communicate(timeout=RUN_TIMEOUT_S)
        finally:
            if driver.poll() is None:
                driver.kill()
            sync.terminate()
            sync.wait(timeout=30)
            sync_log.close()
    assert result_file.exists(), stderr[-4000:]
    result = json.loads(result_file.read_text())
    result["stderr_tail"] = stderr[-3000:]
    assert_ok(result)
    assert "Liste des pièces" in banner  # the agent saw where the citizen was

    spoken = result["spoken"]
    assert spoken and all(e["lang"] == "fr" for e in spoken if not e["key"].startswith("sound."))
    titles = []
    for e in spoken:
        if e["key"].startswith("title.") and (not titles or titles[-1] != e["key"][6:]):
            titles.append(e["key"][6:])
    shown = [s for s in result["steps"][result["steps"].index("identify"):] if s not in
             ("looking_up", "submitting", "printing")]
    assert titles == shown[:shown.index("end") + 1], f"spoken {titles}, shown {shown}"
    keys = [e["key"] for e in spoken]
    assert keys.index("help.asking") < keys.index("help.sent") < keys.index("help.acknowledged")
    # No headphones, "Écouter" touched on the welcome screen only: the name and the number stay private.
    assert "speech.personal_hidden" in keys and not any(e["personal"] for e in spoken)
