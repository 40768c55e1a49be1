"""A dossier's page as agents use it all day, in Chromium: verdicts saved in place with the focus moved on,
a colleague's stale page refused, a session that ends mid-work without losing what was typed, a
1024x576 laptop, and axe-core on every state the page goes through.

The server and its data come from ``conftest.py`` (a real ``kiosk-central serve`` on dossiers
delivered by simulated kiosks). Time that would pass (a colleague leaving a dossier for three minutes, an
agent idle for half an hour) is made to have passed in the database the server reads, as it would be
after waiting; the browser's own timers are moved with Playwright's clock.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from central.models import AuditEntry, WebSession
from browsing import PASSWORD, SHOTS, axe_violations, expect, fits_width, service_db

pytestmark = pytest.mark.browser


def _sessions_idle(seeded, minutes):
    with service_db(seeded["data"]) as db:
        db.execute(update(WebSession).values(last_seen_at=datetime.now(timezone.utc) - timedelta(minutes=minutes)))


@pytest.fixture
def agent(make_page):
    return make_page(1366, 768, "agent.a")


def test_verdicts_are_saved_without_a_page_load_and_the_focus_moves_to_the_next_document(agent, server, seeded):
    dossier = seeded["work"][0]
    requests = []
    agent.on("request", lambda r: requests.append((r.method, r.url, r.resource_type)))
    agent.goto(f"{server}/console/dossiers/{dossier.id}")
    agent.wait_for_load_state("load")
    loaded = len(requests)
    agent.evaluate("window.sameDocument = true")
    assert axe_violations(agent) == ""

    first = agent.locator("article.piece").nth(0)
    second = agent.locator("article.piece").nth(1)
    first.get_by_label("Non conforme").check()
    first.get_by_label("Commentaire").fill("Photo floue, à refaire")
    first.get_by_role("button", name="Enregistrer").click()
    expect(first.locator(".current")).to_contain_text("Non conforme")
    expect(first.locator(".current")).to_contain_text("Camille Durand")  # the name, not the login
    expect(second).to_be_focused()
    expect(agent.locator("#annonce")).to_contain_text("Avis enregistré. Pièce suivante : Justificatif de domicile")
    assert agent.evaluate("window.sameDocument") is True
    after = requests[loaded:]
    assert [(m, t) for m, _, t in after] == [("POST", "fetch")], after  # no page, no image downloaded again
    assert axe_violations(agent) == ""
    agent.screenshot(path=str(SHOTS / "console-verdict-in-place.png"))

    # Changing the verdict clears the comment that explained the old one.
    first.get_by_label("Conforme", exact=True).check()
    expect(first.get_by_label("Commentaire")).to_have_value("")
    first.get_by_label("Non conforme").check()
    expect(first.get_by_label("Commentaire")).to_have_value("Photo floue, à refaire")

    # The keyboard alone: O goes to the next document, C judges the one in focus conforme and moves on.
    agent.keyboard.press("o")
    expect(second).to_be_focused()
    agent.keyboard.press("c")
    expect(second.locator(".current")).to_contain_text("Conforme")
    third = agent.locator("article.piece").nth(2)
    expect(third).to_be_focused()
    agent.keyboard.press("o")
    expect(first).to_be_focused()
    assert agent.evaluate("window.sameDocument") is True


def test_a_colleagues_stale_page_cannot_overwrite_a_verdict(make_page, agent, server, seeded):
    dossier = seeded["work"][1]
    agent.goto(f"{server}/console/dossiers/{dossier.id}")                      # the agent opens it first
    supervisor = make_page(1366, 768, "nadia")
    supervisor.goto(f"{server}/console/dossiers/{dossier.id}")
    presence = supervisor.locator("#presence")
    expect(presence).to_contain_text("Camille Durand a ce dossier ouvert depuis")
    assert axe_violations(supervisor) == ""
    supervisor.screenshot(path=str(SHOTS / "console-presence.png"))
    with supervisor.expect_navigation():
        supervisor.get_by_role("button", name="Prendre la main sur ce dossier").click()
    expect(supervisor.locator("p.notice")).to_contain_text("Vous avez pris la main")
    piece = supervisor.locator("article.piece").filter(has_text="Justificatif de domicile")
    piece.get_by_label("Conforme", exact=True).check()
    piece.get_by_role("button", name="Enregistrer").click()
    expect(piece.locator(".current")).to_contain_text("Nadia Superviseure")

    # The agent's page was drawn before: their « non conforme » is refused, and the page shows what is.
    mine = agent.locator("article.piece").filter(has_text="Justificatif de domicile")
    mine.get_by_label("Non conforme").check()
    mine.get_by_role("button", name="Enregistrer").click()
    refusal = mine.locator("p.error")
    expect(refusal).to_contain_text("a changé depuis l'affichage de votre page")
    expect(refusal).to_be_focused()
    expect(mine.locator(".current")).to_contain_text("Conforme")
    expect(mine.locator(".current")).to_contain_text("Nadia Superviseure")
    assert axe_violations(agent) == ""
    agent.screenshot(path=str(SHOTS / "console-stale-refused.png"))
    history = agent.locator("#history")
    expect(history).to_contain_text("Prise en main par Nadia Superviseure (à Camille Durand)")
    expect(history).to_contain_text("Avis par Nadia Superviseure : Justificatif de domicile : Conforme")


def test_a_session_that_ends_mid_work_keeps_the_draft_and_comes_back_to_the_dossier(agent, server, seeded):
    dossier = seeded["work"][2]
    agent.clock.install()
    agent.goto(f"{server}/console/dossiers/{dossier.id}")
    piece = agent.locator("article.piece").filter(has_text="Carte d'identité actuelle")
    piece.get_by_label("Présenté en original").check()
    piece.get_by_label("Commentaire").fill("Vu au guichet")
    agent.get_by_label("Précisions pour l'usager").fill("Revenir avec un justificatif de domicile récent.")

    # Two minutes before the end, the page warns; the agent is away.
    idle = int(agent.evaluate("document.body.dataset.idleSeconds"))
    agent.clock.fast_forward((idle - 110) * 1000)
    warning = agent.get_by_role("alertdialog")
    expect(warning).to_contain_text("Votre session va expirer")
    expect(warning.get_by_role("button", name="Rester connecté(e)")).to_be_focused()
    assert axe_violations(agent) == ""
    agent.screenshot(path=str(SHOTS / "console-session-warning.png"))

    agent.clock.fast_forward(200 * 1000)
    expect(warning).to_contain_text("Session expirée")
    _sessions_idle(seeded, idle // 60 + 1)  # ... and the service has ended it too
    with agent.expect_navigation():
        warning.get_by_role("link", name="Se reconnecter").click()
    assert "Votre session a expiré" in agent.locator("p.notice").inner_text()
    agent.get_by_label("Identifiant").fill("agent.a")
    agent.get_by_label("Mot de passe").fill(PASSWORD)
    with agent.expect_navigation():
        agent.get_by_role("button", name="Se connecter").click()
    assert agent.url == f"{server}/console/dossiers/{dossier.id}"
    expect(agent.locator("p.notice")).to_contain_text("Brouillon restauré : 2 saisies")
    piece = agent.locator("article.piece").filter(has_text="Carte d'identité actuelle")
    expect(piece.get_by_label("Présenté en original")).to_be_checked()
    expect(piece.get_by_label("Commentaire")).to_have_value("Vu au guichet")
    expect(agent.get_by_label("Précisions pour l'usager")).to_have_value("Revenir avec un justificatif de domicile récent.")
    assert axe_violations(agent) == ""
    agent.screenshot(path=str(SHOTS / "console-draft-restored.png"))

    # A verdict sent from a page whose session has ended is kept, and waits for the login.
    piece.get_by_role("button", name="Enregistrer").click()
    expect(piece.locator(".current")).to_contain_text("Présenté en original")
    _sessions_idle(seeded, idle // 60 + 1)
    agent.get_by_label("Non conforme").first.check()
    with agent.expect_navigation():
        agent.locator("article.piece").first.get_by_role("button", name="Enregistrer").click()
    assert "/console/login?ok=expired" in agent.url


def test_on_a_1024x576_laptop_the_first_documents_verdict_and_button_are_in_view(make_page, server, seeded):
    page = make_page(1024, 576, "agent.b")
    page.goto(f"{server}/console/dossiers/{seeded['other'].id}")
    first = page.locator("article.piece").first
    for control in (first.get_by_label("Conforme", exact=True), first.get_by_role("button", name="Enregistrer")):
        box = control.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 576, box
    assert fits_width(page)
    columns = page.locator(".columns > section")
    assert columns.nth(0).bounding_box()["y"] == columns.nth(1).bounding_box()["y"]  # side by side
    assert page.evaluate("getComputedStyle(document.querySelector('.col.predemande')).overflowY") == "visible"
    assert axe_violations(page) == ""
    page.screenshot(path=str(SHOTS / "console-dossier-1024x576.png"))


def test_a_returned_dossier_mails_the_citizen_the_reasons_and_what_to_bring(agent, server, seeded, inbox):
    dossier = seeded["work"][3]
    already = len(inbox.messages)
    agent.goto(f"{server}/console/dossiers/{dossier.id}")
    form = agent.locator("form.return")
    expect(form).to_contain_text("L'usager sera prévenu par courriel et sur sa page de suivi.")
    form.get_by_label("La photo d'identité n'est pas conforme").check()
    agent.get_by_label("Précisions pour l'usager").fill("Le fond de la photo doit être uni et clair.")
    assert axe_violations(agent) == ""
    with agent.expect_navigation():
        agent.get_by_role("button", name="Renvoyer le dossier").click()
    expect(agent.locator("section.decided")).to_contain_text("Le fond de la photo doit être uni et clair.")
    assert inbox.wait_for(already + 1, 60), "no mail reached the SMTP server"
    recipients, message = inbox.messages[already]
    assert recipients == ["elise.martin@exemple.fr"]
    body = " ".join(message.get_body(preferencelist=("plain",)).get_content().split())  # the mail's lines wrap
    assert dossier.number in message["Subject"] + body
    assert "apportez une photo de moins de 6 mois" in body and "Le fond de la photo doit être uni et clair." in body
    assert "MARTIN" not in body and "14/03/1985" not in body  # nothing personal beyond the number and the reason
    deadline = time.monotonic() + 30
    while "Courriel envoyé à l'usager" not in agent.locator("section.decided").inner_text():
        assert time.monotonic() < deadline, agent.locator("section.decided").inner_text()
        agent.reload()
    assert axe_violations(agent) == ""
    agent.screenshot(path=str(SHOTS / "console-returned-mailed.png"), full_page=True)


def _image_reads(seeded, dossier_id, name) -> int:
    """How many times the server sent this image (each is an audit line, written before it is sent)."""
    with service_db(seeded["data"]) as db:
        return db.scalar(select(func.count()).select_from(AuditEntry)
                         .where(AuditEntry.dossier_id == dossier_id, AuditEntry.detail == name))


def test_an_image_opens_in_the_pages_viewer_titled_with_the_dossier_and_the_document(agent, server, seeded):
    dossier = seeded["work"][0]
    agent.goto(f"{server}/console/dossiers/{dossier.id}")
    agent.wait_for_load_state("load")
    shown = _image_reads(seeded, dossier.id, "documents/proof_of_address")
    link = agent.locator("article.piece a.shot").nth(1)
    link.click()
    dialog = agent.get_by_role("dialog", name=f"Dossier {dossier.number} — Justificatif de domicile")
    expect(dialog).to_be_visible()
    expect(dialog.locator("img")).to_have_js_property("complete", True)
    assert agent.url == f"{server}/console/dossiers/{dossier.id}"
    assert axe_violations(agent) == ""
    agent.screenshot(path=str(SHOTS / "console-viewer-on-dossier.png"))
    agent.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(link).to_be_focused()
    # The viewer took the image from the browser's cache: the server did not send it (nor audit it) again.
    assert _image_reads(seeded, dossier.id, "documents/proof_of_address") == shown
