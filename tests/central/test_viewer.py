"""One image of a dossier on a page of its own (central.console.viewer): named as on the dossier page, open to
whoever may see the image, and audited once, by the image's own read."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from central.models import AuditEntry, Dossier
from factory import deliver_dossier
from test_console import login


#: The viewer page draws what review decides (tested on both engines there): its words need one engine.
pytestmark = pytest.mark.one_engine


@pytest.fixture
def dossier(services, client, tmp_path, people) -> Dossier:
    """A CNI renewal with a fingerprint that failed, delivered by a kiosk of mairie A."""
    return deliver_dossier(services, client, tmp_path / "kiosk-a", site="mairie-a", scenario="failed-fingerprint")


def _title(page) -> str:
    return html.unescape(re.search(r"<title>(.*?)</title>", page.text, re.S)[1])


def _h1(page) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html.unescape(re.search(r"<h1>(.*?)</h1>", page.text, re.S)[1])).split())


def _audit(services) -> list[tuple[str, str]]:
    with services.db() as db:
        return [(e.action, e.detail) for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_the_viewer_is_titled_with_the_dossier_number_and_the_documents_name(client, dossier):
    login(client, "agent.a")
    page = client.get(f"/console/dossiers/{dossier.id}/view/documents/proof_of_address")
    assert page.status_code == 200
    assert dossier.number in _title(page) and "Justificatif de domicile" in _title(page)
    assert dossier.number in _h1(page) and "Justificatif de domicile" in _h1(page)
    assert (f'<img src="/console/dossiers/{dossier.id}/attachments/documents/proof_of_address'
            f'?v={dossier.package_sha256[:16]}"') in page.text  # the address the dossier page cached it at
    assert f'href="/console/dossiers/{dossier.id}#piece-proof_of_address"' in page.text
    assert '<script src="/console/static/viewer.js" defer></script>' in page.text


def test_every_kind_of_image_is_named_as_the_agent_reads_it(client, dossier):
    login(client, "nadia")
    content = dossier.content
    finger = next(f for f in content["fingerprints"] if f["attachment"])
    base = f"/console/dossiers/{dossier.id}/view/"
    assert _h1(client.get(base + "documents/photo")).startswith("Photo d'identité — dossier")
    assert _h1(client.get(base + content["signature"])).startswith("Signature — dossier")
    fingerprint = _h1(client.get(base + finger["attachment"]))
    assert fingerprint.startswith("Empreinte : ") and finger["finger"] not in fingerprint  # its French name


@pytest.mark.parametrize("username, reason", [("hugo", "Votre rôle"), ("aline", "Votre rôle"),
                                              ("agent.b", "autre mairie")],
                         ids=["technician", "admin", "agent-of-another-mairie"])
def test_only_who_may_see_the_image_opens_its_viewer(client, services, dossier, username, reason):
    login(client, username)
    page = client.get(f"/console/dossiers/{dossier.id}/view/documents/photo")
    assert page.status_code == 403 and "Accès refusé" in page.text and reason in page.text
    assert "/attachments/" not in page.text


def test_an_image_the_dossier_does_not_show_has_no_viewer(client, services, dossier):
    login(client, "agent.a")
    for name in ("documents/nothing", "fingerprints"):
        page = client.get(f"/console/dossiers/{dossier.id}/view/{name}")
        assert page.status_code == 404 and "Introuvable" in page.text, name
    # Encoded, so that the client sends the dots as they are instead of resolving them first.
    escape = client.get(f"/console/dossiers/{dossier.id}/view/%2e%2e/%2e%2e/etc/passwd")
    assert escape.status_code == 404 and "Introuvable" in escape.text and "root:" not in escape.text
    assert client.get("/console/dossiers/no-such-dossier/view/documents/photo").status_code == 404


def test_the_viewer_page_writes_no_audit_line_of_its_own_the_image_read_writes_one(client, services, dossier):
    login(client, "agent.a")
    before = _audit(services)
    page = client.get(f"/console/dossiers/{dossier.id}/view/documents/proof_of_address")
    assert page.status_code == 200 and _audit(services) == before
    client.get(re.search(r'<img src="([^"]+)"', page.text)[1])
    assert _audit(services)[len(before):] == [("view_document", "documents/proof_of_address")]
