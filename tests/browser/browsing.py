"""What the console's browser tests share: where Chromium is, where screenshots go, how to log in."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
#: Every account of the seeded service has this password.
PASSWORD = "mairie-password-2026"
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
#: Without the networking flags Chromium keeps trying to reach Google on this closed network.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--lang=fr-FR"]


def login(page, server: str, username: str, password: str) -> None:
    page.goto(server + "/console/login")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Se connecter").click()


#: The WCAG 2.1 A and AA rules of axe-core (best practices are not part of the bar).
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page) -> str:
    """axe-core's WCAG 2.1 AA violations on the page as it is now, as a report ('' when there is none).

    axe-core comes with the ``axe-playwright-python`` package; it is injected through the DevTools
    protocol, which the console's Content-Security-Policy (no inline script) does not stop.
    """
    axe = pytest.importorskip("axe_playwright_python.sync_playwright")
    results = axe.Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA},
                                           "resultTypes": ["violations"]})
    return results.generate_report() if results.violations_count else ""
