"""The issue's "done when", end to end with the real commands and a real browser.

The central service runs as the README's demo runs it (``serve --demo``); a
kiosk is provisioned with a token, a citizen's session is replayed on the
simulated hardware, ``kiosk sync --once`` delivers it; an agent logs in to
the console in headless Chromium, scans the receipt's number, checks every
document and validates; the citizen's status changes, and once transmitted
it says so. The technician's fleet view shows the kiosk's heartbeat.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from browsing import SHOTS, login  # noqa: E402
from chain import capture, central_service, enrolled_kiosk, get_json, run  # noqa: E402

from central.demo import DEMO_PASSWORD  # noqa: E402

pytestmark = pytest.mark.browser


def test_a_dossier_captured_at_the_kiosk_is_validated_in_the_console(page, tmp_path):
    with central_service(tmp_path) as (url, data):
        kiosk = tmp_path / "kiosk"
        provisioned = enrolled_kiosk(url, data, kiosk)
        number = capture(kiosk, "adult-renewal-cni")
        run("kiosk", "--data-dir", kiosk, "selftest", "--simulate")
        assert json.loads(run("kiosk", "--data-dir", kiosk, "sync", "--once").stdout)["sent"] == 1
        status_url = f"{url}/api/v1/status?number={number}&birth_date=1985-03-14"
        assert get_json(status_url)[1]["state"] == "received"

        login(page, url, "agent", DEMO_PASSWORD)
        assert number in page.locator("table").inner_text()  # at the top of the agent's queue
        page.keyboard.type(number.replace("-", ""))  # the desk scanner reads the receipt's QR code
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert number in page.locator("h1").inner_text()
        assert "MARTIN" in page.inner_text("body")
        pieces = page.locator("article.piece")
        assert pieces.count() >= 3
        for i in range(pieces.count()):
            piece = page.locator("article.piece").nth(i)
            piece.get_by_label("Conforme", exact=True).check()
            piece.get_by_role("button", name="Enregistrer").click()  # saved in place, no page load
            piece.locator(".current.verdict-conforme").wait_for()
        with page.expect_navigation():
            page.get_by_role("button", name="Valider et transmettre à la préfecture").click()
        assert "Validé" in page.locator("h1 .state").inner_text()
        page.screenshot(path=str(SHOTS / "chain-validated.png"), full_page=True)
        assert get_json(status_url)[1]["state"] == "validated"

        run("kiosk-central", "transmit", "--data-dir", data)
        assert get_json(status_url)[1]["state"] == "sent"
        listed = json.loads(run("kiosk-central", "dossiers", "list", "--json", "--data-dir", data).stdout)
        assert [(d["number"], d["state"]) for d in listed] == [(number, "sent")]

        page.context.clear_cookies()
        login(page, url, "technicien", DEMO_PASSWORD)
        page.goto(url + "/console/fleet")
        row = page.locator("table.fleet tbody tr").filter(has_text=provisioned["kiosk_code"])
        assert row.count() == 1 and "Jamais" not in row.inner_text()
        page.screenshot(path=str(SHOTS / "chain-fleet.png"), full_page=True)
