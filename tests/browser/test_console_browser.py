"""The agents' console in a real browser: the real server in its own process, headless Chromium driving it.

Dossiers are captured by the simulated kiosk and delivered through the real
ingest API (``tests/central/factory.py``) before the server starts on the
same data directory. Screenshots land in ``artifacts/screenshots/`` for a
person to look at.
"""

from __future__ import annotations

import time

import httpx
import pytest

from titres.protocol import API, canonical, sign_request
from browsing import PASSWORD, SHOTS, axe_violations, expect, login

pytestmark = pytest.mark.browser

BIRTH_DATE = "1985-03-14"  # the demo pré-demande A1B2C3D4E5 replayed by the example scenarios


def _images_loaded(page) -> list[int]:
    page.wait_for_load_state("load")
    return page.eval_on_selector_all("a.shot img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")


def test_agent_scans_a_receipt_checks_every_document_and_validates(page, server, seeded):
    dossier = seeded["flagged"]
    login(page, server, "agent.a", PASSWORD)
    assert page.url == server + "/console/"
    page.screenshot(path=str(SHOTS / "console-queue.png"), full_page=True)
    assert page.evaluate("document.activeElement.id") == "q"  # the scanner's keystrokes land in the search box

    page.keyboard.type(dossier.number.lower())  # a keyboard-wedge scanner types, then presses Enter
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{server}/console/dossiers/{dossier.id}"

    flags = page.locator("section.flags")
    assert "Empreinte de qualité insuffisante" in flags.inner_text()
    assert flags.bounding_box()["y"] < page.get_by_role("heading", name="Pré-demande en ligne").bounding_box()["y"]
    widths = _images_loaded(page)
    assert len(widths) >= 5 and all(w > 0 for w in widths), widths  # 3 documents, a fingerprint, the signature
    page.screenshot(path=str(SHOTS / "console-dossier-top.png"))
    page.screenshot(path=str(SHOTS / "console-dossier.png"), full_page=True)

    approve = page.get_by_role("button", name="Valider et transmettre à la préfecture")
    assert approve.is_disabled()
    pieces = page.locator("article.piece")
    page.evaluate("window.sameDocument = true")  # gone if a verdict reloaded the page
    for i in range(pieces.count()):
        piece = page.locator("article.piece").nth(i)
        piece.get_by_label("Conforme", exact=True).check()
        piece.get_by_role("button", name="Enregistrer").click()
        piece.locator(".current.verdict-conforme").wait_for()
    assert page.evaluate("window.sameDocument") is True
    assert page.locator("p.current.none").count() == 0
    with page.expect_navigation():
        page.get_by_role("button", name="Valider et transmettre à la préfecture").click()
    assert "Dossier validé" in page.locator("p.notice").inner_text()
    assert "Validé" in page.locator("h1 .state").inner_text()
    page.screenshot(path=str(SHOTS / "console-validated.png"), full_page=True)

    citizen = page.context.new_page()
    citizen.goto(server + "/statut")
    citizen.get_by_label("Numéro de dossier").fill(dossier.number)
    citizen.get_by_label("Date de naissance du titulaire").fill(BIRTH_DATE)
    with citizen.expect_navigation():
        citizen.get_by_role("button", name="Voir l'état du dossier").click()
    assert "Validé par la mairie" in citizen.locator("section.answer").inner_text()
    citizen.screenshot(path=str(SHOTS / "console-status.png"), full_page=True)
    citizen.close()


def test_agent_of_another_mairie_returns_their_own_dossier_and_cannot_see_others(page, server, seeded):
    login(page, server, "agent.b", PASSWORD)
    mine = seeded["other"]
    page.goto(f"{server}/console/dossiers/{seeded['older'].id}")
    assert page.get_by_role("heading", name="Accès refusé").is_visible()
    page.screenshot(path=str(SHOTS / "console-forbidden.png"))

    page.goto(server + "/console/")
    with page.expect_navigation():
        page.get_by_role("link", name=mine.number).click()
    widths = _images_loaded(page)
    assert widths and all(w > 0 for w in widths), widths
    page.get_by_label("Précisions pour l'usager").fill("Justificatif de domicile de plus d'un an : en apporter un récent.")
    with page.expect_navigation():
        page.get_by_role("button", name="Renvoyer le dossier").click()
    assert "Dossier renvoyé" in page.locator("p.notice").inner_text()
    assert "en apporter un récent" in page.locator("section.decided").inner_text()
    page.screenshot(path=str(SHOTS / "console-returned.png"), full_page=True)


def test_technician_sees_the_fleet_and_enrolls_a_kiosk(page, server, seeded):
    login(page, server, "hugo", PASSWORD)
    assert page.url == server + "/console/fleet"
    assert page.locator("table.fleet tbody tr").count() == 2
    page.screenshot(path=str(SHOTS / "console-fleet.png"), full_page=True)
    page.goto(server + "/console/admin/tokens")
    page.get_by_label("Mairie de la borne").select_option(label="Mairie de Pennautier")  # a mairie of the list
    with page.expect_navigation():
        page.get_by_role("button", name="Créer un jeton").click()
    assert page.eval_on_selector("img.qr", "i => i.naturalWidth") > 0  # the CSP lets the data: QR code through
    assert "kiosk provision --central" in page.locator("pre").inner_text()
    page.screenshot(path=str(SHOTS / "console-token.png"), full_page=True)


def test_login_page_screenshot(page, server):
    page.goto(server + "/console/login")
    assert page.evaluate("document.activeElement.id") == "username"
    page.screenshot(path=str(SHOTS / "console-login.png"))


# -- a citizen's « Besoin d'aide ? » ------------------------------------------------------------------

HELP_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
#: The banner's script asks every 5 s: a generous bound for one poll to land, never a fixed wait.
POLL_TIMEOUT_MS = 20_000


def _kiosk_asks_for_help(server: str, kiosk, request_id: str = HELP_ID, **fields) -> dict:
    """What the kiosk's sync worker sends: a signed report, at the kiosk's own (here: real) time."""
    body = canonical({"id": request_id, "state": "open", "screen": "signature", "waiting_s": 20, "on_screen_s": 8,
                      **fields})
    headers = sign_request(kiosk.key, kiosk.device_id, "POST", f"{API}/help", body, int(time.time()))
    answer = httpx.post(f"{server}{API}/help", content=body, headers={**headers, "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_help_request_appears_in_place_passes_axe_and_is_answered_by_keyboard(page, server, seeded):
    kiosk = seeded["kiosk_a"]
    login(page, server, "agent.a", PASSWORD)
    assert page.locator("#aide li").count() == 0
    page.evaluate("window.sameDocument = true")  # gone if the page were reloaded

    _kiosk_asks_for_help(server, kiosk)
    item = page.locator(f"#aide-{HELP_ID}")
    item.wait_for(timeout=POLL_TIMEOUT_MS)
    assert page.evaluate("window.sameDocument") is True
    assert page.evaluate("document.activeElement.id") == "q"  # the scanner's keystrokes still land in the search box
    assert page.locator("#aide").get_attribute("aria-live") == "assertive"
    text = item.inner_text()
    assert f"Borne {kiosk.kiosk_code}" in text and "écran : Signature" in text and "Attend depuis" in text

    # The next poll refreshes the durations but keeps the node: nothing is announced again.
    page.evaluate("window.helpItem = document.querySelector('#aide li')")
    shown = item.locator("[data-since=waiting]").inner_text()
    expect(item.locator("[data-since=waiting]")).not_to_have_text(shown, timeout=POLL_TIMEOUT_MS)
    assert page.evaluate("window.helpItem === document.querySelector('#aide li')")
    assert axe_violations(page) == ""
    page.screenshot(path=str(SHOTS / "console-help-open.png"))

    # Keyboard only: back from the search box to « J'arrive », then Enter.
    for _ in range(10):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.textContent").startswith("J'arrive"):
            break
    else:
        pytest.fail("« J'arrive » cannot be reached with the keyboard")
    page.keyboard.press("Enter")
    taken = page.locator(f"#aide-{HELP_ID}.acknowledged")
    taken.wait_for(timeout=POLL_TIMEOUT_MS)
    assert "Pris en charge par Camille Durand à" in taken.inner_text()
    assert page.evaluate("window.sameDocument") is True  # answered in place, by the script
    assert page.evaluate("document.activeElement.id") == f"aide-{HELP_ID}"  # focus moves onto the answer
    assert _kiosk_asks_for_help(server, kiosk)["state"] == "acknowledged"
    assert axe_violations(page) == ""
    page.screenshot(path=str(SHOTS / "console-help-acknowledged.png"))

    _kiosk_asks_for_help(server, kiosk, state="closed")  # the agent has come: the kiosk closes it
    expect(page.locator("#aide li")).to_have_count(0, timeout=POLL_TIMEOUT_MS)
    assert page.locator("#contenu").is_visible()


def test_jarrive_works_without_javascript(make_page, server, seeded):
    request_id = "0f" * 16
    page = make_page(1440, 1000, javascript=False)
    try:
        _kiosk_asks_for_help(server, seeded["kiosk_a"], request_id, screen="capture")
        login(page, server, "agent.a", PASSWORD)
        page.goto(server + "/console/password")
        assert "Photo des pièces" in page.locator(f"#aide-{request_id}").inner_text()
        with page.expect_navigation():
            page.get_by_role("button", name="J'arrive").click()
        assert page.url.startswith(server + "/console/password?ok=help")
        assert "Un agent arrive" in page.locator("p.notice").inner_text()
        assert "Pris en charge par Camille Durand" in page.locator(f"#aide-{request_id}").inner_text()
    finally:
        _kiosk_asks_for_help(server, seeded["kiosk_a"], request_id, state="closed")
