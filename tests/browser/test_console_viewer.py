"""The console in a real browser, for what only a browser shows: the image viewer (its page and its dialog), a
dossier on paper, and the lists that must fit a small screen without scrolling sideways.

The real server runs in its own process on dossiers captured by the simulated kiosk and delivered through the
real ingest API, as in ``test_console_browser.py``. Screenshots land in ``artifacts/screenshots/``.
"""

from __future__ import annotations

import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from central.app import create_app
from central.models import Device

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "central"))  # the shared factory of dossiers
from factory import deliver_dossier, enroll_kiosk  # noqa: E402
from browsing import SHOTS, axe_violations, expect, fits_width, login, seed_people, service  # noqa: E402

pytestmark = pytest.mark.browser

#: The printable width of A4 (210 mm less the 12 mm margins of console.css) in CSS pixels, for the print emulation.
A4_WIDTH = 703


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A mairie with its agent, an administrator, a flagged dossier of three documents, and two kiosks: one
    online, the other silent for hours with a failed self-test, a full queue and a citizen asking for help (the
    widest rows the fleet draws)."""
    data = tmp_path_factory.mktemp("central")
    with service(data) as services:
        seed_people(services, [("agent.a", "agent", "mairie-a", "Camille Durand"),
                               ("aline", "admin", None, "Aline Administratrice")])
        with TestClient(create_app(services)) as http:
            flagged = deliver_dossier(services, http, data / "kiosk-a", site="mairie-a", scenario="failed-fingerprint")
            silent = enroll_kiosk(services, http, data / "kiosk-b", "mairie-b")
            silent.central.help({"id": "0e" * 16, "state": "open", "screen": "fingerprints", "waiting_s": 95,
                                 "on_screen_s": 40})
        now = datetime.now(timezone.utc)
        with services.db() as db, db.begin():
            online = db.get(Device, flagged.device_id)
            online.last_seen_at, online.software_version = now, "0.9.3+20261201"
            online.selftest_ok, online.selftest_at = True, now
            device = db.get(Device, silent.device_id)
            device.hostname = "borne-pennautier-accueil-rez-de-chaussee"
            device.last_seen_at, device.software_version = now - timedelta(hours=3, minutes=5), "0.9.2+20261115"
            device.heartbeat = {"queue": {"queued": 2, "uploading": 1, "acknowledged": 14, "corrupt": 1},
                                "oldest_queued_age_s": 11100,
                                "selftest": {"camera": "aucune image reçue de la caméra", "printer": "plus de papier"}}
            device.selftest_ok, device.selftest_at = False, now - timedelta(hours=3, minutes=10)
    return {"data": data, "flagged": flagged}


def _image(page, selector: str = "figure.viewer img") -> dict:
    """What the agent sees of the image: its drawn box on screen and its rotation."""
    return page.eval_on_selector(selector, """img => {
        const box = img.getBoundingClientRect();
        return {width: Math.round(box.width), height: Math.round(box.height), natural: img.naturalWidth,
                naturalHeight: img.naturalHeight,
                transform: getComputedStyle(img).transform};
    }""")


def _said(page, text: str, scope: str = "figure.viewer") -> None:
    """The viewer's polite live region says ``text`` (it speaks a moment after the change)."""
    region = page.locator(f"{scope} [role=status]")
    assert region.get_attribute("aria-live") == "polite"
    expect(region).to_have_text(re.compile(text), timeout=5000)


def test_the_viewer_page_zooms_rotates_and_says_so(page, server, seeded):
    dossier = seeded["flagged"]
    errors = []  # a refusal of the Content-Security-Policy is one of these (the browser's own favicon.ico is not)
    page.on("console", lambda message: message.type == "error" and "favicon" not in message.location["url"]
            and errors.append(message.text))
    login(page, server, "agent.a")
    page.goto(f"{server}/console/dossiers/{dossier.id}/view/documents/proof_of_address")
    page.wait_for_load_state("load")
    assert dossier.number in page.title() and "Justificatif de domicile" in page.title()
    assert dossier.number in page.locator("h1").inner_text()
    fitted = _image(page)
    assert fitted["natural"] > 0 and fitted["width"] <= page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight")  # fitted to the window
    assert axe_violations(page) == ""
    page.screenshot(path=str(SHOTS / "console-viewer.png"))

    page.get_by_role("button", name="Taille réelle").click()
    assert _image(page)["width"] == fitted["natural"]
    _said(page, r"Taille réelle : zoom 100\s%")
    page.get_by_role("button", name="Zoom +").click()
    assert _image(page)["width"] == round(fitted["natural"] * 1.25)
    _said(page, r"^Zoom 125\s%$")
    page.get_by_role("button", name="Pivoter à droite").click()
    turned = _image(page)
    assert turned["transform"] != "none"  # on its side: as wide as it was high
    assert abs(turned["width"] - fitted["naturalHeight"] * 1.25) <= 1
    assert abs(turned["height"] - fitted["natural"] * 1.25) <= 1
    _said(page, r"^Rotation 90°$")
    page.screenshot(path=str(SHOTS / "console-viewer-zoomed.png"))

    # Dragging the enlarged image pans it.
    stage = page.locator(".viewer-stage")
    box = stage.bounding_box()
    before = stage.evaluate("s => [s.scrollLeft, s.scrollTop]")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 - 120, box["y"] + box["height"] / 2 - 80, steps=5)
    page.mouse.up()
    after = stage.evaluate("s => [s.scrollLeft, s.scrollTop]")
    assert after[0] > before[0] and after[1] > before[1], (before, after)

    # The keys, once the image has the focus (they never act elsewhere on the page).
    page.get_by_role("button", name="Ajuster").click()
    assert _image(page)["transform"] != "none"  # fitting keeps the rotation
    stage.focus()
    width = _image(page)["width"]
    page.keyboard.press("+")
    assert _image(page)["width"] > width
    _said(page, r"^Zoom \d+\s%$")
    page.keyboard.press("-")
    page.keyboard.press("-")
    assert _image(page)["width"] < width
    page.keyboard.press("r")
    _said(page, r"^Rotation 180°$")
    page.keyboard.press("Shift+R")
    _said(page, r"^Rotation 90°$")
    page.keyboard.press("0")
    _said(page, r"Ajusté à la fenêtre")

    # Ctrl + wheel zooms around the pointer.
    height = _image(page)["height"]
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -300)
    page.keyboard.up("Control")
    page.wait_for_function(f"document.querySelector('figure.viewer img').getBoundingClientRect().height > {height}")
    assert axe_violations(page) == ""
    assert errors == []


def test_the_viewer_fits_a_small_screen(make_page, server, seeded):
    page = make_page(1024, 576, "agent.a")
    page.goto(f"{server}/console/dossiers/{seeded['flagged'].id}/view/documents/photo")
    page.wait_for_load_state("load")
    box = page.locator("figure.viewer img").bounding_box()
    assert box["width"] > 100 and box["x"] >= 0 and box["x"] + box["width"] <= 1024
    assert fits_width(page)
    page.screenshot(path=str(SHOTS / "console-viewer-1024.png"), full_page=True)


def test_without_javascript_the_viewer_page_shows_the_image_fitted_and_no_buttons(make_page, server, seeded):
    page = make_page(1366, 768, "agent.a", javascript=False)
    page.goto(f"{server}/console/dossiers/{seeded['flagged'].id}/view/documents/proof_of_address")
    page.wait_for_load_state("load")
    image = _image(page)
    assert image["natural"] > 0 and image["width"] < 1366 and image["height"] < 768
    assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight")
    assert page.locator("figure.viewer button").count() == 0
    expect(page.get_by_role("link", name=f"Retour au dossier {seeded['flagged'].number}")).to_be_visible()
    page.screenshot(path=str(SHOTS / "console-viewer-nojs.png"))


def test_an_enhanced_link_opens_the_image_in_a_dialog_that_keeps_and_gives_back_the_focus(page, server, seeded):
    """The dossier page's links carry data-viewer-title and the page loads viewer.js."""
    dossier = seeded["flagged"]
    login(page, server, "agent.a")
    page.goto(f"{server}/console/dossiers/{dossier.id}")
    page.wait_for_load_state("load")
    link = page.locator("a.shot").first
    assert link.get_attribute("aria-haspopup") == "dialog"
    link.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=f"Dossier {dossier.number} — Photo d'identité")
    dialog.wait_for()
    assert page.url == f"{server}/console/dossiers/{dossier.id}"  # the page stayed
    page.wait_for_function("document.querySelector('dialog.viewer-dialog img').naturalWidth > 0")
    assert page.evaluate("document.querySelector('dialog.viewer-dialog').contains(document.activeElement)")

    dialog.get_by_role("button", name="Zoom +").click()
    _said(page, r"^Zoom \d+\s%$", "dialog")
    page.keyboard.press("r")
    assert _image(page, "dialog img")["transform"] != "none"
    _said(page, r"^Rotation 90°$", "dialog")
    assert axe_violations(page) == ""
    page.screenshot(path=str(SHOTS / "console-viewer-dialog.png"))

    for _ in range(12):  # Tab and Shift+Tab never leave the dialog
        page.keyboard.press("Tab")
        assert page.evaluate("document.querySelector('dialog.viewer-dialog').contains(document.activeElement)")
    for _ in range(12):
        page.keyboard.press("Shift+Tab")
        assert page.evaluate("document.querySelector('dialog.viewer-dialog').contains(document.activeElement)")

    page.keyboard.press("Escape")  # viewer.js gives the focus back and drops the image in the dialog's close event
    expect(dialog).to_be_hidden()
    expect(link).to_be_focused()
    expect(page.locator("dialog img")).not_to_have_attribute("src", re.compile(".*"))  # not kept once closed

    page.evaluate("""() => window.consoleViewer.open(document.querySelectorAll("a.shot img")[1].src, "Deuxième",
                                                      document.getElementById("contenu"))""")
    second = page.get_by_role("dialog", name="Deuxième")
    expect(second).to_be_visible()
    page.get_by_role("button", name="Fermer").click()
    expect(second).to_be_hidden()
    expect(page.locator("#contenu")).to_be_focused()


def _pdf_pages(pdf: bytes) -> int:
    """The pages of a PDF Chromium wrote: its page objects (``/Type /Page``, not ``/Pages``), as its page tree says."""
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))
    assert [int(n) for n in re.findall(rb"/Type\s*/Pages\b.*?/Count\s+(\d+)", pdf, re.S)] == [pages]
    return pages


def test_a_printed_dossier_fits_two_a4_pages_without_buttons_or_forms(page, server, seeded):
    dossier = seeded["flagged"]
    login(page, server, "agent.a")
    page.goto(f"{server}/console/dossiers/{dossier.id}")
    page.wait_for_load_state("load")
    assert page.locator("article.piece").count() >= 3
    pdf = page.pdf(format="A4", print_background=True)
    (SHOTS / "console-print.pdf").write_bytes(pdf)
    assert 1 <= _pdf_pages(pdf) <= 2, _pdf_pages(pdf)

    page.emulate_media(media="print")
    page.set_viewport_size({"width": A4_WIDTH, "height": 1123})
    shown = page.evaluate("""() => [...document.querySelectorAll("form, button, nav, input, textarea, .skip")]
                                   .filter(e => e.getClientRects().length).map(e => e.outerHTML.slice(0, 80))""")
    assert shown == []
    for kept in ("section.flags", ".col.predemande", "article.piece h3", ".judge .current", "ul.fingers",
                 "section.decide", "ol.history"):
        assert page.locator(kept).first.is_visible(), kept
    assert page.evaluate("getComputedStyle(document.body).color") == "rgb(0, 0, 0)"
    page.screenshot(path=str(SHOTS / "console-print.png"), full_page=True)

    # Judged with a comment on every document, then validated: still two sheets, the decision printed.
    page.emulate_media(media="null")  # not "screen", which page.pdf() would then print with
    page.set_viewport_size({"width": 1440, "height": 1000})
    for i in range(page.locator("article.piece").count()):
        piece = page.locator("article.piece").nth(i)
        piece.get_by_label("Conforme", exact=True).check()
        piece.get_by_label("Commentaire").fill("Vérifiée sur l'original présenté au guichet, conforme à la pré-demande.")
        piece.get_by_role("button", name="Enregistrer").click()  # saved in place
        piece.locator(".current.verdict-conforme").wait_for()
    with page.expect_navigation():
        page.get_by_role("button", name="Valider et transmettre à la préfecture").click()
    pdf = page.pdf(format="A4", print_background=True)
    (SHOTS / "console-print-validated.pdf").write_bytes(pdf)
    page.emulate_media(media="print")
    page.set_viewport_size({"width": A4_WIDTH, "height": 1123})
    assert 1 <= _pdf_pages(pdf) <= 2, _pdf_pages(pdf)
    assert page.locator("section.decided").is_visible() and not page.locator("p.notice").is_visible()
    assert "Vérifiée sur l'original" in page.locator("article.piece .current").first.inner_text()
    page.screenshot(path=str(SHOTS / "console-print-validated.png"), full_page=True)


@pytest.mark.parametrize("width, height", [(1024, 576), (1366, 768)])
@pytest.mark.parametrize("path", ["/console/fleet", "/console/admin/audit"])
def test_the_fleet_and_the_audit_log_fit_the_screen_without_scrolling_sideways(make_page, server, seeded, path,
                                                                               width, height):
    page = make_page(width, height, "aline")
    page.goto(server + path)
    assert page.locator("table.list tbody tr").count() >= 1
    headers = page.locator("table.list thead th:visible")  # still a table, with the headers the screen shows
    assert headers.count() >= 7, headers.count()
    if path.endswith("fleet") and width < 1200:  # two columns fewer: a kiosk's version is a line of its « Borne »
        expect(page.locator("table.fleet thead th.wide").first).to_be_hidden()
        expect(page.locator("table.fleet td span.narrow.version").first).to_be_visible()
    name = path.rsplit("/", 1)[1]
    page.screenshot(path=str(SHOTS / f"console-{name}-{width}.png"), full_page=True)
    assert fits_width(page), page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert axe_violations(page) == ""
