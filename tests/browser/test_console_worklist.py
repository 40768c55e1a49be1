"""The agents' worklist in a real browser, at the sizes of a mairie's desk screens (1024x576 and 1366x768).

Dossiers are captured by the simulated kiosk and delivered through the real
ingest API (``tests/central/factory.py``), by two kiosks of one mairie and
one of another, before the real server starts on the same data directory.
The example scenarios share pré-demandes, so some dossiers are duplicates of
each other, as when a citizen goes through a kiosk twice. Screenshots land
in ``artifacts/screenshots/console-worklist*.png``.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from central.app import create_app
from central.models import Dossier, User

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "central"))  # the shared factory of dossiers
from factory import deliver_dossier, enroll_kiosk  # noqa: E402
from browsing import SHOTS, axe_violations, fits_width, seed_people, service, service_db  # noqa: E402

pytestmark = pytest.mark.browser

SIZES = {"1024": (1024, 576), "1366": (1366, 768)}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """Mairie de Trèbes with two kiosks and six dossiers, Pennautier with one; an agent each and a supervisor."""
    data = tmp_path_factory.mktemp("central")
    out = {"data": data}
    with service(data) as services:
        seed_people(services, [("agent.a", "agent", "mairie-a", "Camille Durand"),
                               ("agent.a2", "agent", "mairie-a", "Julien Roux"),
                               ("agent.b", "agent", "mairie-b", "Louis Bernard"),
                               ("nadia", "supervisor", None, "Nadia Supervision")])
        with TestClient(create_app(services)) as http:
            k1 = enroll_kiosk(services, http, data / "k1", "mairie-a")
            k2 = enroll_kiosk(services, http, data / "k2", "mairie-a")
            kb = enroll_kiosk(services, http, data / "kb", "mairie-b")
            for name, kiosk, scenario in [("renewal", k1, "adult-renewal-cni"), ("first", k1, "adult-first-cni"),
                                          ("theft", k1, "adult-theft-cni"), ("fingerprint", k2, "failed-fingerprint"),
                                          ("minor", k2, "minor-renewal-cni"), ("offline", k2, "offline-adult-loss"),
                                          ("other", kb, "adult-loss-cni")]:
                out[name] = deliver_dossier(services, http, data, scenario=scenario, kiosk=kiosk)
    out.update(k1=k1, k2=k2, kb=kb)
    return out


def _hold(seeded, dossier: Dossier, username: str) -> None:
    """``username`` has ``dossier`` open, as the dossier page records it (the page's last word: now)."""
    now = datetime.now(timezone.utc)
    with service_db(seeded["data"]) as db:
        holder = db.scalar(select(User.id).where(User.username == username))
        db.execute(update(Dossier).where(Dossier.id == dossier.id)
                   .values(holder_id=holder, held_since=now - timedelta(minutes=3), held_seen_at=now))


def _row(page, number: str):
    """The worklist's row of dossier ``number`` (not the rows that link to it as a duplicate)."""
    return page.locator("table.worklist tbody tr").filter(
        has=page.locator("td:first-child a.number", has_text=number))


def _fits(page) -> None:
    """Nothing scrolls sideways, and axe-core finds no WCAG 2.1 AA violation."""
    assert fits_width(page), page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert axe_violations(page) == ""


@pytest.mark.parametrize("size", SIZES, ids=[f"{s}px" for s in SIZES])
def test_an_agent_works_through_the_worklist(make_page, server, seeded, size):
    _hold(seeded, seeded["theft"], "agent.a2")
    page = make_page(*SIZES[size], "agent.a")
    assert page.url == server + "/console/"
    assert page.evaluate("document.activeElement.id") == "q"  # the desk scanner still types into the search
    assert page.locator("p.total").inner_text().startswith("6 dossiers à vérifier")
    rows = page.locator("table.worklist tbody tr")
    assert rows.count() == 6 and seeded["other"].number not in page.locator("table").inner_text()
    assert rows.first.locator("a.number").first.inner_text() == seeded["renewal"].number  # oldest first
    assert page.locator("th[aria-sort]").inner_text().startswith("Reçu le")
    assert "Ouvert par Julien Roux depuis 3 min" in _row(page, seeded["theft"].number).inner_text()
    page.screenshot(path=str(SHOTS / f"console-worklist-{size}.png"))
    page.screenshot(path=str(SHOTS / f"console-worklist-{size}-full.png"), full_page=True)
    _fits(page)

    # The duplicate: the two dossiers of pré-demande A1B2C3D4E5, each linking to the other.
    renewal, fingerprint = seeded["renewal"], seeded["fingerprint"]
    flagged = _row(page, renewal.number).locator("p.duplicate")
    assert "Doublon" in flagged.inner_text()
    assert flagged.get_by_role("link", name=fingerprint.number).get_attribute("href") == \
        f"/console/dossiers/{fingerprint.id}"
    assert _row(page, fingerprint.number).locator("p.duplicate").get_by_role(
        "link", name=renewal.number).count() == 1
    assert _row(page, seeded["first"].number).locator("p.duplicate").count() == 0

    # Filters by keyboard: kiosk 2, with alerts; the form is a plain GET.
    page.get_by_label("Borne", exact=True).select_option(seeded["k2"].kiosk_code)
    page.get_by_label("Alertes de la borne").select_option(label="Avec alertes")
    page.get_by_label("Alertes de la borne").focus()
    for _ in range(10):  # through the date fields to « Afficher »
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Afficher":
            break
    else:
        pytest.fail("« Afficher » cannot be reached with the keyboard")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"kiosk={seeded['k2'].kiosk_code}" in page.url and "alerts=with" in page.url
    assert page.locator("p.total").inner_text().startswith("2 dossiers à vérifier")
    listed = page.locator("table.worklist tbody").inner_text()
    assert seeded["fingerprint"].number in listed and seeded["offline"].number in listed
    assert seeded["theft"].number not in listed and seeded["renewal"].number in listed  # only as the duplicate
    assert page.get_by_label("Borne", exact=True).input_value() == seeded["k2"].kiosk_code  # the form says what is shown
    _fits(page)
    page.screenshot(path=str(SHOTS / f"console-worklist-{size}-filtered.png"))

    # Sort by name, then newest first, with the column headers.
    with page.expect_navigation():
        page.get_by_role("link", name="Nom").click()
    assert page.locator("th[aria-sort=ascending]").inner_text().startswith("Nom")
    assert "alerts=with" in page.url and "sort=surname" in page.url
    surnames = [s for s in page.locator("table.worklist tbody tr .surname").all_inner_texts() if s != "—"]
    assert surnames == sorted(surnames) and surnames
    page.goto(server + "/console/")
    with page.expect_navigation():
        page.get_by_role("link", name="Reçu le").click()
    assert page.locator("th[aria-sort=descending]").inner_text().startswith("Reçu le")
    assert page.locator("table.worklist tbody tr").first.locator("a.number").first.inner_text() == \
        seeded["offline"].number
    _fits(page)

    # The duplicate's link opens the other dossier.
    page.goto(server + "/console/")
    with page.expect_navigation():
        _row(page, renewal.number).locator("p.duplicate").get_by_role("link", name=fingerprint.number).click()
    assert page.url == f"{server}/console/dossiers/{fingerprint.id}"


@pytest.mark.parametrize("size", SIZES, ids=[f"{s}px" for s in SIZES])
def test_a_supervisor_sees_the_mairie_column_and_filters_by_mairie(make_page, server, seeded, size):
    page = make_page(*SIZES[size], "nadia")
    assert page.locator("p.total").inner_text().startswith("7 dossiers à vérifier")
    assert page.get_by_role("columnheader", name="Mairie").count() == 1
    page.screenshot(path=str(SHOTS / f"console-worklist-supervisor-{size}.png"))
    _fits(page)
    page.get_by_label("Mairie", exact=True).select_option(label="Mairie de Pennautier")
    with page.expect_navigation():
        page.get_by_role("button", name="Afficher").click()
    assert page.locator("p.total").inner_text().startswith("1 dossier à vérifier")
    row = page.locator("table.worklist tbody tr")
    assert "Mairie de Pennautier" in row.inner_text()
    # Same pré-demande as a dossier of Trèbes: the supervisor sees both mairies, so it is flagged.
    assert row.locator("p.duplicate").get_by_role("link", name=seeded["offline"].number).count() == 1
    _fits(page)
