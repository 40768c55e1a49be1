"""The technician's screens, driven by touches: commissioning a blank kiosk, then its maintenance screen.

Each runs the real Kivy app in its own process (``drive_commissioning.py``,
then ``drive_flow.py maintenance`` on the kiosk it commissioned) on the
simulated hardware, against a real ``kiosk-central serve``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.config import load_config
from kiosk.technician.pin import PinGuard, Verdict
from tests.chain import central_service, run
from tests.kiosk.ui.conftest import RESULTS, ROOT, SHOTS, assert_ok, run_scenario

pytestmark = pytest.mark.ui


def test_a_blank_kiosk_is_commissioned_on_its_screen_then_maintained(tmp_path):
    """Commissioning against a local central service, then the maintenance screen of the kiosk it made."""
    with central_service(tmp_path) as (url, central_data):
        token = run("kiosk-central", "token", "create", "--site", "demo-site", "--data-dir", central_data).stdout.strip()
        kiosk_data = tmp_path / "kiosk"
        result_file = RESULTS / "800x480_commissioning.json"
        RESULTS.mkdir(parents=True, exist_ok=True)
        result_file.unlink(missing_ok=True)  # a stale result must not pass for this run's
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
        proc = subprocess.run([sys.executable, str(ROOT / "tests" / "kiosk" / "ui" / "drive_commissioning.py"), "--central", url,
                               "--token", token, "--data", str(kiosk_data), "--shots", str(SHOTS),
                               "--result", str(result_file)], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=600)
        assert result_file.exists(), proc.stderr[-3000:]
        result = json.loads(result_file.read_text())
        result["stderr_tail"] = proc.stderr[-3000:]
        assert_ok(result)
        status = json.loads(run("kiosk", "--data-dir", kiosk_data, "status", "--json").stdout)
        maintained = run_scenario("maintenance", "800x480", "--data", str(kiosk_data), prefix="800x480_maintenance")
    assert result["stages"][-3:] == ["repeat_pin", "saving", "done"]
    assert result["stages"].index("confirm_site") < result["stages"].index("choose_pin"), "the mairie is confirmed first"
    assert "choose_pin" in result["stages"][result["stages"].index("repeat_pin") + 1:], "a mismatch asks again"
    assert "Mairie de démonstration" in result["summary"] and "Démoville" in result["summary"]
    assert result["restart_requested"]
    assert status["provisioned"] and status["central_url"] == url and status["kiosk_code"].startswith("K")
    config = load_config(env={}, data_dir=kiosk_data)
    assert PinGuard(config.technician_pin_file).check("975310").verdict is Verdict.OK
    shots = {Path(p).stem.split("_", 3)[-1] for p in result["shots"]}
    assert {"scan", "not_enrollment", "confirm_site", "choose_pin", "pin_mismatch", "done"} <= shots

    r = maintained
    assert_ok(r)
    assert "joignable (" in r["network_note"], "the commissioned kiosk reaches its central service"
    assert "version ?" not in r["network_note"], r["network_note"]  # the service said which version it runs
    assert r["test_ticket"] and r["reprinted"] == 1
    assert r["steps"] == ["welcome", "identify"], "only the last, short touch of the corner started a session"
    assert r["queue"]["queued"] == 1, "maintenance changed nothing in the queue"
