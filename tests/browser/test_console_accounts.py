"""The accounts page in a real browser: an administrator resets an agent's password, the agent chooses their own.

The real server runs in its own process on a data directory seeded here;
headless Chromium drives it with the keyboard where a person would. axe-core
checks the pages an administrator uses (WCAG 2.1 AA); screenshots land in
``artifacts/screenshots/console-accounts*.png`` for a person to look at.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browsing import PASSWORD, SHOTS, axe_violations, login, seed_people, service  # noqa: E402

pytestmark = pytest.mark.browser



@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """Two mairies, their agents, a technician and an administrator (no dossier); ``server`` serves them."""
    data = tmp_path_factory.mktemp("central")
    with service(data) as services:
        seed_people(services, [("agent.a", "agent", "mairie-a", "Camille Durand"),
                               ("agent.b", "agent", "mairie-b", "Louis Bernard"),
                               ("hugo", "technician", None, "Hugo Technicien"),
                               ("aline", "admin", None, "Aline Administratrice")])
    return {"data": data}


def test_admin_resets_an_agents_password_and_the_agent_chooses_their_own(page, make_page, server):
    login(page, server, "aline", PASSWORD)
    assert page.url == server + "/console/admin/users"
    assert axe_violations(page) == ""
    page.screenshot(path=str(SHOTS / "console-accounts.png"), full_page=True)

    row = page.locator("tr#compte-agent\\.a")
    assert "Actif" in row.inner_text()
    # By keyboard: tick « Confirmer » with the space bar, then the button with Enter.
    row.get_by_label("Confirmer la réinitialisation du mot de passe de agent.a").focus()
    page.keyboard.press("Space")
    reset = row.get_by_role("button", name="Réinitialiser le mot de passe de agent.a")
    reset.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/password" in page.url and "?" not in page.url  # the password is in the page, not the address
    temporary = page.locator("dd.token-value").inner_text().strip()
    assert len(temporary) >= 16
    sheet = page.locator("section.temporary").inner_text()
    assert "agent.a" in sheet and "main propre" in sheet and "première" in sheet
    assert axe_violations(page) == ""
    page.screenshot(path=str(SHOTS / "console-accounts-reset.png"), full_page=True)
    page.goto(server + "/console/admin/users")
    assert temporary not in page.content()  # shown once
    assert "Mot de passe provisoire" in page.locator("tr#compte-agent\\.a").inner_text()

    agent = make_page(1280, 900)
    login(agent, server, "agent.a", temporary)
    assert agent.url == server + "/console/password"
    assert ("Votre mot de passe est provisoire : choisissez-en un nouveau pour continuer."
            in " ".join(agent.locator("main").inner_text().split()))
    agent.goto(server + "/console/")
    assert agent.url == server + "/console/password"  # every page sends it back here until it is changed
    assert axe_violations(agent) == ""
    agent.screenshot(path=str(SHOTS / "console-accounts-temporary.png"), full_page=True)
    agent.get_by_label("Mot de passe provisoire").fill(temporary)
    agent.get_by_label("Nouveau mot de passe", exact=False).first.fill("camille-own-password-2026")
    agent.get_by_label("Nouveau mot de passe, à nouveau").fill("camille-own-password-2026")
    with agent.expect_navigation():
        agent.get_by_role("button", name="Enregistrer").click()
    assert agent.url == server + "/console/?ok=password"
    assert "Mot de passe changé" in agent.locator("p.notice").inner_text()
    assert agent.get_by_role("link", name="Dossiers").count() == 1  # the whole console again

    page.reload()
    assert "Actif" in page.locator("tr#compte-agent\\.a").inner_text()


def test_a_client_that_keeps_failing_is_told_to_wait_and_an_admin_lifts_it_by_keyboard(page, make_page, server):
    stranger = make_page(1280, 900)
    for _ in range(6):  # throttle.POLICIES["login.account"].free + 1
        login(stranger, server, "agent.b", "not-the-password-x")
    login(stranger, server, "agent.b", PASSWORD)
    said = " ".join(stranger.locator("main").inner_text().split())
    assert "Trop d'essais depuis ce poste : réessayez dans 1 minute." in said
    assert axe_violations(stranger) == ""
    stranger.screenshot(path=str(SHOTS / "console-accounts-throttled.png"), full_page=True)

    login(page, server, "aline", PASSWORD)
    assert "Essais freinés jusqu'à" in page.locator("tr#compte-agent\\.b").inner_text()
    page.get_by_role("link", name="Freinages").click()
    rows = page.locator("table.list tbody tr")
    assert rows.count() == 1 and "Connexion à un compte" in rows.first.inner_text()
    assert axe_violations(page) == ""
    page.screenshot(path=str(SHOTS / "console-accounts-throttles.png"), full_page=True)
    page.get_by_role("button", name=re.compile("^Lever l'attente de .*agent.b$")).focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Attente levée." in page.locator("p.notice").inner_text()
    assert "Aucun poste n'attend." in page.locator("main").inner_text()
    assert axe_violations(page) == ""

    login(stranger, server, "agent.b", PASSWORD)
    assert stranger.url.startswith(server + "/console/") and "/login" not in stranger.url


def test_admin_adds_a_mairie_and_edits_its_return_reasons_on_an_accessible_page(page, server):
    login(page, server, "aline", PASSWORD)
    page.goto(server + "/console/admin/sites")
    form = page.locator("section#ajouter")
    form.get_by_label("Nom").fill("Mairie de Villemoustaussou")
    form.get_by_label("Horaires d'ouverture").fill("Lun.-ven. 9h-12h")
    with page.expect_navigation():
        form.get_by_role("button", name="Ajouter la mairie").click()
    assert "Mairie ajoutée" in page.locator("p.notice").inner_text()
    assert re.search(r"#mairie-mairie-de-villemoustaussou$", page.url)
    section = page.locator("section#mairie-mairie-de-villemoustaussou")
    section.get_by_label("En français, un motif par ligne").fill("La photo est floue : apportez-en une nette.\n"
                                                                 "Le livret de famille manque : apportez-le.")
    section.get_by_label("En anglais, à la même ligne").fill("The photo is blurred: bring a sharp one.\n"
                                                             "The family record book is missing: bring it.")
    with page.expect_navigation():
        section.get_by_role("button", name=re.compile("^Enregistrer")).click()
    assert "Mairie enregistrée" in page.locator("p.notice").inner_text()
    assert axe_violations(page) == ""
    page.screenshot(path=str(SHOTS / "console-accounts-sites.png"), full_page=True)
    page.goto(server + "/console/admin/tokens")
    assert "Mairie de Villemoustaussou" in page.locator("select#site_id").inner_text()
    assert axe_violations(page) == ""
