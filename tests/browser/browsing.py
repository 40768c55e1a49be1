"""What the console's browser tests share: where Chromium is, where screenshots go, the people of the seeded
service and how they log in, the database the served service reads, and the checks every page gets."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy.orm import Session

from central.config import CentralConfig
from central.context import Services, build_services
from central.models import Site

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "central"))  # the shared factory of dossiers
from factory import PASSWORD, add_account  # noqa: E402  (every account of the seeded service has it)

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "artifacts" / "screenshots"
#: Without the networking flags Chromium keeps trying to reach Google on this closed network.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--lang=fr-FR"]

#: The mairies of the seeded services: id → (name, address).
MAIRIES = {"mairie-a": ("Mairie de Trèbes", "Place de la République, 11800 Trèbes"),
           "mairie-b": ("Mairie de Pennautier", None)}


@contextmanager
def service(data: Path) -> Iterator[Services]:
    """The service's parts on the data directory ``data`` (the one ``kiosk-central serve`` is given), closed after."""
    services = build_services(CentralConfig(data_dir=data, secure_cookies=False))
    try:
        yield services
    finally:
        services.close()


@contextmanager
def service_db(data: Path) -> Iterator[Session]:
    """A transaction on the database the served service reads: what a test makes to have happened (time passed)
    or reads back (the audit log). It commits when the block ends."""
    with service(data) as services, services.db() as db, db.begin():
        yield db


def seed_people(services: Services, users: list[tuple[str, str, str | None, str]],
                sites: dict[str, tuple[str, str | None]] = MAIRIES) -> None:
    """The mairies and the accounts (login, role, mairie, full name) a module's tests log in as, with
    :data:`PASSWORD`."""
    with services.db() as db, db.begin():
        db.add_all([Site(id=site_id, name=name, address=address) for site_id, (name, address) in sites.items()])
        db.flush()
        for username, role, site_id, full_name in users:
            add_account(db, username, role, site_id, full_name)


def login(page, server: str, username: str, password: str = PASSWORD) -> None:
    page.goto(server + "/console/login")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Se connecter").click()


def expect(actual, message: str | None = None):
    """Playwright's auto-waiting assertions on ``actual`` (a page or a locator); the test is skipped without it."""
    return pytest.importorskip("playwright.sync_api").expect(actual, message)


def fits_width(page) -> bool:
    """Nothing on the page scrolls sideways: it is no wider than the window."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


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
