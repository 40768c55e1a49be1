"""The mairies' settings: the migration, the console's *Mairies* page, the CLI, the enrollment answer and sheet."""

from __future__ import annotations

import base64
import html
import io
import json
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import zxingcpp
from alembic import command
from nacl.signing import SigningKey
from PIL import Image
from sqlalchemy import select, text

from central.db import alembic_config
from central.enrollment import create_token
from central.models import AuditEntry, Device, EnrollmentToken, Site
from titres.enrollment_code import parse_code
from titres.protocol import API
from factory import add_account, add_site
from test_console import login


@pytest.fixture
def people(services):
    """Two mairies, an agent of the first, a supervisor, a technician and an administrator."""
    with services.db() as db, db.begin():
        db.add_all([Site(id="mairie-a", name="Mairie A"), Site(id="mairie-b", name="Mairie B")])
        db.flush()
        for username, role, site_id in (("agent.a", "agent", "mairie-a"), ("nadia", "supervisor", None),
                                        ("hugo", "technician", None), ("aline", "admin", None)):
            add_account(db, username, role, site_id)


def _site(services, site_id: str) -> Site:
    with services.db() as db:
        return db.get(Site, site_id)


def _audit(services, action: str) -> list[AuditEntry]:
    with services.db() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _form(csrf: str, **changes: str) -> dict[str, str]:
    """The edit form of Mairie A as the page fills it, with ``changes``."""
    return {"csrf": csrf, "name": "Mairie A", "address": "", "opening_hours": "", "default_language": "fr",
            **changes}


def _add_kiosk(services, site_id: str, code: str, revoked: bool = False) -> None:
    with services.db() as db, db.begin():
        db.add(Device(id=f"device-{code}", site_id=site_id, kiosk_code=code, public_key=code * 16,
                      revoked_at=datetime.now(timezone.utc) if revoked else None))


# -- the schema and the kiosk's answer -----------------------------------------------------------------

def test_the_migration_gives_existing_mairies_french_and_goes_back(services):
    def migrate(step, revision):
        with services.engine.connect() as conn:
            cfg = alembic_config(services.engine)
            cfg.attributes["connection"] = conn
            step(cfg, revision)
            conn.commit()

    migrate(command.downgrade, "0002")
    with services.engine.begin() as conn:
        conn.execute(text("INSERT INTO sites (id, name, address, opening_hours, created_at) "
                          "VALUES ('ancienne', 'Mairie ancienne', '', '', CURRENT_TIMESTAMP)"))
    migrate(command.upgrade, "head")
    assert _site(services, "ancienne").default_language == "fr"
    with services.db() as db, db.begin():
        db.add(Site(id="nouvelle", name="Mairie nouvelle"))
    assert _site(services, "nouvelle").default_language == "fr"


def test_the_enrollment_answer_tells_the_kiosk_its_mairies_language(services, client):
    token = create_token(services, add_site(services, "Mairie de Limoux"), created_by="test")
    with services.db() as db, db.begin():
        site = db.get(Site, "mairie-de-limoux")
        site.default_language, site.address = "en", "Place de la République, 11300 Limoux"
    answer = client.post(f"{API}/enroll", json={"token": token,
                                                "public_key": bytes(SigningKey.generate().verify_key).hex()})
    assert answer.status_code == 201
    # Its receipts print the mairie's time and the address where a citizen follows a dossier.
    assert answer.json()["site"] == {"id": "mairie-de-limoux", "name": "Mairie de Limoux",
                                     "address": "Place de la République, 11300 Limoux", "opening_hours": "",
                                     "default_language": "en", "timezone": "Europe/Paris", "status_url": ""}


def test_the_status_page_is_sent_only_when_the_service_knows_its_public_address(services, client):
    from dataclasses import replace

    token = create_token(services, add_site(services, "Mairie de Limoux"), created_by="test")
    client.app.state.services.config = replace(services.config, public_url="https://titres.example.fr")
    answer = client.post(f"{API}/enroll", json={"token": token,
                                                "public_key": bytes(SigningKey.generate().verify_key).hex()})
    assert answer.json()["site"]["status_url"] == "https://titres.example.fr/statut"


def test_a_mairie_in_guyane_gets_cayenne_time_and_a_zone_nobody_knows_is_refused(services):
    from central.sites import SiteError, edit_site

    with services.db() as db, db.begin():
        db.add(Site(id="cayenne", name="Mairie de Cayenne"))
    with services.db() as db, db.begin():
        site = db.get(Site, "cayenne")
        assert site.timezone == "Europe/Paris"  # the default, as every mairie had before
        assert edit_site(db, site, actor="t", role="admin", timezone="America/Cayenne") == ["timezone"]
        with pytest.raises(SiteError) as refused:
            edit_site(db, site, actor="t", role="admin", timezone="Mars/Olympus")
        assert refused.value.field == "timezone"
    assert _site(services, "cayenne").timezone == "America/Cayenne"


# -- the console's page -------------------------------------------------------------------------------

def test_the_page_lists_each_mairie_with_its_enrolled_kiosks(client, services, people):
    _add_kiosk(services, "mairie-a", "K001")
    _add_kiosk(services, "mairie-a", "K002")
    _add_kiosk(services, "mairie-a", "K003", revoked=True)
    with services.db() as db, db.begin():
        db.get(Site, "mairie-b").default_language = "en"
    login(client, "hugo")
    assert '<a href="/console/admin/sites">Mairies</a>' in client.get("/console/fleet").text
    page = client.get("/console/admin/sites")
    assert page.status_code == 200
    rows = re.findall(r"<tr><th scope=\"row\">.*?</tr>", page.text, re.S)
    assert len(rows) == 2
    assert "Mairie A" in rows[0] and "Français" in rows[0] and "<td>2</td>" in rows[0]  # not the revoked one
    assert "Mairie B" in rows[1] and "Anglais" in rows[1] and "<td>0</td>" in rows[1]
    for field in ("name", "address", "opening_hours", "default_language"):
        assert f'<label for="{field}-mairie-a">' in page.text and f'id="{field}-mairie-a"' in page.text
    assert "48 caractères par ligne" in page.text


def test_a_technician_edits_a_mairie_and_the_change_is_audited(client, services, people):
    csrf = login(client, "hugo")
    done = client.post("/console/admin/sites/mairie-a", follow_redirects=False, data=_form(
        csrf, address="  Place de la Mairie,\r\n11000 A  ", opening_hours="Lun.-ven. 8h30-12h", default_language="en"))
    assert done.status_code == 303 and done.headers["location"] == "/console/admin/sites?ok=site#mairie-mairie-a"
    site = _site(services, "mairie-a")
    assert (site.name, site.address, site.opening_hours, site.default_language) == (
        "Mairie A", "Place de la Mairie, 11000 A", "Lun.-ven. 8h30-12h", "en")
    [entry] = _audit(services, "edit_site")
    assert (entry.actor, entry.role) == ("hugo", "technician")
    assert entry.detail == ("mairie-a : adresse «  » → « Place de la Mairie, 11000 A » ; "
                            "horaires «  » → « Lun.-ven. 8h30-12h » ; langue « fr » → « en »")
    assert "Mairie enregistrée." in client.get("/console/admin/sites?ok=site").text


def test_saving_an_unchanged_mairie_writes_no_audit_line(client, services, people):
    csrf = login(client, "aline")
    done = client.post("/console/admin/sites/mairie-a", data=_form(csrf), follow_redirects=False)
    assert done.headers["location"].startswith("/console/admin/sites?ok=unchanged")
    assert _audit(services, "edit_site") == []


def test_an_edit_without_the_sessions_csrf_token_is_refused(client, services, people):
    login(client, "hugo")
    for token in ("", "forged"):
        refused = client.post("/console/admin/sites/mairie-a", data=_form(token, address="Ailleurs"))
        assert refused.status_code == 403 and "Formulaire refusé" in refused.text
    assert _site(services, "mairie-a").address == ""
    assert _audit(services, "edit_site") == []


@pytest.mark.parametrize("changes, field, message", [
    ({"address": "x" * 301}, "address", "Le champ « adresse » fait au plus 300 caractères."),
    ({"opening_hours": "x" * 301}, "opening_hours", "Le champ « horaires » fait au plus 300 caractères."),
    ({"name": "   "}, "name", "Indiquez le nom de la mairie."),
    ({"name": "Mairie B"}, "name", "« Mairie B » désigne déjà une autre mairie."),
    ({"name": "mairie-b"}, "name", "« mairie-b » désigne déjà une autre mairie."),
    ({"default_language": "de"}, "default_language", "Choisissez la langue parmi : français (fr) ou anglais (en)."),
])
def test_a_refused_value_keeps_the_form_and_changes_nothing(client, services, people, changes, field, message):
    csrf = login(client, "hugo")
    refused = client.post("/console/admin/sites/mairie-a", data={**_form(csrf, opening_hours="Lundi 9h-12h"),
                                                                 **changes})
    assert refused.status_code == 400 and message in refused.text
    assert f'id="{field}-mairie-a"' in refused.text
    assert re.search(rf'id="{field}-mairie-a"[^>]* aria-invalid="true"', refused.text)
    if field != "opening_hours":
        assert 'value="Lundi 9h-12h"' in refused.text  # what was typed is still there
    site = _site(services, "mairie-a")
    assert (site.name, site.opening_hours, site.default_language) == ("Mairie A", "", "fr")
    assert _audit(services, "edit_site") == []


def test_an_unknown_mairie_is_not_found(client, people):
    csrf = login(client, "hugo")
    assert client.post("/console/admin/sites/nulle-part", data=_form(csrf)).status_code == 404


@pytest.mark.parametrize("username", ["agent.a", "nadia"])
def test_agents_and_supervisors_cannot_see_or_edit_the_mairies(client, services, people, username):
    csrf = login(client, username)
    assert client.get("/console/admin/sites").status_code == 403
    assert client.post("/console/admin/sites/mairie-a", data=_form(csrf, address="Ailleurs")).status_code == 403
    assert _site(services, "mairie-a").address == ""
    assert "/console/admin/sites" not in client.get("/console/password").text


# -- the command line ----------------------------------------------------------------------------------

def test_the_cli_sets_and_lists_a_mairie_audited_as_cli(services, run_cli, people):
    _add_kiosk(services, "mairie-b", "K009")
    code, _, err = run_cli("site", "set", "Mairie B", "--address", "2 rue Haute, 11000 B",
                           "--hours", "Mardi 9h-12h", "--language", "en", "--timezone", "Indian/Reunion")
    assert code == 0 and "address, opening_hours, default_language, timezone changed" in err
    code, out, _ = run_cli("site", "list", "--json")
    listed = {s["id"]: s for s in json.loads(out)}
    assert listed["mairie-b"] == {"id": "mairie-b", "name": "Mairie B", "address": "2 rue Haute, 11000 B",
                                  "opening_hours": "Mardi 9h-12h", "default_language": "en", "kiosks": 1,
                                  "timezone": "Indian/Reunion"}
    [entry] = _audit(services, "edit_site")
    assert (entry.actor, entry.role) == ("cli", "cli") and entry.detail.startswith("mairie-b : adresse")
    code, out, _ = run_cli("site", "list")
    assert code == 0 and "mairie-b" in out and "2 rue Haute" in out


def test_the_cli_refuses_an_unknown_mairie_and_an_overlong_address(services, run_cli, people):
    code, _, err = run_cli("site", "set", "Nulle part", "--address", "ici")
    assert code == 1 and "Aucune mairie « Nulle part »" in err
    code, _, err = run_cli("site", "set", "mairie-a", "--address", "x" * 301)
    assert code == 1 and "300 caractères" in err
    with pytest.raises(SystemExit):
        run_cli("site", "set", "mairie-a", "--language", "de")
    assert _audit(services, "edit_site") == []


# -- the enrollment sheet ------------------------------------------------------------------------------

def test_the_sheets_qr_code_holds_the_central_services_address_and_the_token(client, services, people):
    csrf = login(client, "hugo")
    page = client.post("/console/admin/tokens", data={"csrf": csrf, "site_id": "mairie-a"})
    assert page.status_code == 200
    token = re.search(r'<p class="token-value mono">([^<]+)</p>', page.text)[1]
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', page.text)[1])
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    code = parse_code(decoded.text)
    assert (code.central_url, code.token) == ("http://testserver", token)
    assert f"kiosk provision --central http://testserver --token {token}" in page.text


def test_the_sheet_names_the_mairie_and_its_expiry_and_prints_without_inline_script(client, services, people):
    csrf = login(client, "hugo")
    page = html.unescape(client.post("/console/admin/tokens", data={"csrf": csrf, "site_id": "mairie-a"}).text)
    with services.db() as db:
        expires_at = db.scalar(select(EnrollmentToken.expires_at))
    assert timedelta(days=6, hours=23) < expires_at - datetime.now(timezone.utc) <= timedelta(days=7)
    paris = expires_at.astimezone(ZoneInfo("Europe/Paris"))
    assert "Mise en service d'une borne — Mairie A" in page  # the name, though the technician typed the id
    assert f"jusqu'au <strong>{paris:%d/%m/%Y à %H:%M}</strong>" in page
    assert "l'écran « Mise en service » s'affiche : présentez ce code QR devant la caméra." in page
    assert re.search(r'<body[^>]* class="sheet-page"', page)
    assert '<script src="/console/static/print.js" defer></script>' in page and "onclick" not in page
    assert "window.print()" in client.get("/console/static/print.js").text
    assert "@media print" in client.get("/console/static/console.css").text


# -- a mairie is added on purpose, and a token is made for one of the list -----------------------------

def _sites(services) -> dict[str, str]:
    with services.db() as db:
        return {s.id: s.name for s in db.scalars(select(Site))}


def test_the_token_page_offers_the_existing_mairies_and_creates_none(client, services, people):
    csrf = login(client, "hugo")
    page = client.get("/console/admin/tokens").text
    select_ = re.search(r'<select id="site_id" name="site_id" required.*?</select>', page, re.S)[0]
    assert re.findall(r'<option value="([^"]+)">', select_) == ["mairie-a", "mairie-b"]
    assert '<label for="site_id">' in page
    for typed in ("Mairie de Trebes", "", "x" * 300):
        refused = client.post("/console/admin/tokens", data={"csrf": csrf, "site_id": typed})
        assert refused.status_code == 400 and "Choisissez la mairie de la borne dans la liste." in refused.text
    assert _sites(services) == {"mairie-a": "Mairie A", "mairie-b": "Mairie B"}
    with services.db() as db:
        assert db.scalar(select(EnrollmentToken)) is None
    assert _audit(services, "create_token") == []


def test_a_technician_adds_a_mairie_on_the_sites_page_and_makes_its_token(client, services, people):
    csrf = login(client, "hugo")
    page = client.get("/console/admin/sites").text
    assert "Ajouter une mairie" in page
    for field in ("name", "address", "opening_hours", "default_language", "timezone"):
        assert f'<label for="{field}-_nouvelle">' in page and f'id="{field}-_nouvelle"' in page
    done = client.post("/console/admin/sites", follow_redirects=False, data={
        "csrf": csrf, "name": " Mairie de Trèbes ", "address": "Place de la République, 11800 Trèbes",
        "opening_hours": "Lun.-ven. 8h30-12h", "default_language": "fr", "timezone": "Europe/Paris"})
    assert done.headers["location"] == "/console/admin/sites?ok=site_created#mairie-mairie-de-trebes"
    assert "Mairie ajoutée." in client.get(done.headers["location"]).text
    site = _site(services, "mairie-de-trebes")
    assert (site.name, site.address, site.opening_hours, site.default_language, site.timezone) == (
        "Mairie de Trèbes", "Place de la République, 11800 Trèbes", "Lun.-ven. 8h30-12h", "fr", "Europe/Paris")
    [entry] = _audit(services, "create_site")
    assert (entry.actor, entry.role) == ("hugo", "technician")
    assert entry.detail.startswith("mairie-de-trebes : nom « Mairie de Trèbes » ; adresse « Place de la République")
    made = client.post("/console/admin/tokens", data={"csrf": csrf, "site_id": "mairie-de-trebes"})
    assert made.status_code == 200 and "Mise en service d'une borne — Mairie de Trèbes" in html.unescape(made.text)


@pytest.mark.parametrize("name, message", [
    ("Mairie B", "« Mairie B » désigne déjà une autre mairie."),
    ("mairie  b", "« mairie b » ressemble trop à « Mairie B »"),
    ("Mairie-B", "« Mairie-B » ressemble trop à « Mairie B »"),
    ("   ", "Indiquez le nom de la mairie."),
])
def test_adding_a_mairie_refuses_a_name_taken_or_one_typo_away(client, services, people, name, message):
    csrf = login(client, "aline")
    refused = client.post("/console/admin/sites", data={"csrf": csrf, "name": name, "address": "1 rue Basse",
                                                        "default_language": "fr", "timezone": "Europe/Paris"})
    assert refused.status_code == 400 and message in html.unescape(refused.text)
    assert re.search(r'id="name-_nouvelle"[^>]* aria-invalid="true"', refused.text)
    assert 'value="1 rue Basse"' in refused.text  # what was typed is still there
    assert _sites(services) == {"mairie-a": "Mairie A", "mairie-b": "Mairie B"}
    assert _audit(services, "create_site") == []


@pytest.mark.parametrize("username", ["agent.a", "nadia"])
def test_agents_and_supervisors_cannot_add_a_mairie(client, services, people, username):
    csrf = login(client, username)
    assert client.post("/console/admin/sites", data={"csrf": csrf, "name": "Mairie C"}).status_code == 403
    assert "mairie-c" not in _sites(services)


def test_the_cli_makes_tokens_only_for_an_existing_mairie_and_adds_one_on_purpose(services, run_cli, people):
    code, out, err = run_cli("token", "create", "--site", "Mairie de Trebes")
    assert (code, out) == (1, "") and "Aucune mairie « Mairie de Trebes »" in err and "site create" in err
    assert "mairie-de-trebes" not in _sites(services)
    code, out, _ = run_cli("site", "create", "Mairie de Trèbes", "--hours", "Lun.-ven. 9h-12h",
                           "--timezone", "Europe/Paris")
    assert (code, out) == (0, "mairie-de-trebes\n")  # the id alone on stdout
    [entry] = _audit(services, "create_site")
    assert (entry.actor, entry.role) == ("cli", "cli")
    code, out, _ = run_cli("token", "create", "--site", "Mairie de Trèbes")
    assert code == 0 and len(out.strip()) >= 16
    code, _, err = run_cli("site", "create", "Mairie de Trebes")
    assert code == 1 and "ressemble trop" in err


# -- a mairie's return reasons ---------------------------------------------------------------------------

def _reasons_form(csrf: str, fr: str, en: str = "", **changes: str) -> dict[str, str]:
    return {**_form(csrf, **changes), "return_reasons_fr": fr, "return_reasons_en": en}


def _textarea(page: str, name: str) -> str:
    return html.unescape(re.search(rf'<textarea id="{name}-mairie-a"[^>]*>(.*?)</textarea>', page, re.S)[1])


def test_a_mairies_return_reasons_round_trip_through_its_settings_form(client, services, people):
    from central.reasons import DEFAULT_REASONS, for_site

    csrf = login(client, "hugo")
    page = client.get("/console/admin/sites").text
    assert _textarea(page, "return_reasons_fr") == "\n".join(r.fr for r in DEFAULT_REASONS)
    assert _textarea(page, "return_reasons_en") == "\n".join(r.en for r in DEFAULT_REASONS)
    assert '<label for="return_reasons_fr-mairie-a">' in page and '<label for="return_reasons_en-mairie-a">' in page
    unchanged = client.post("/console/admin/sites/mairie-a", follow_redirects=False, data=_reasons_form(
        csrf, _textarea(page, "return_reasons_fr"), _textarea(page, "return_reasons_en")))
    assert "ok=unchanged" in unchanged.headers["location"] and _site(services, "mairie-a").return_reasons is None

    photo = DEFAULT_REASONS[0]
    done = client.post("/console/admin/sites/mairie-a", follow_redirects=False, data=_reasons_form(
        csrf, f"{photo.fr}\r\n  Le livret de famille manque : apportez-le.  \r\n\r\n",
        f"{photo.en}\r\nThe family record book is missing: bring it.\r\n"))
    assert "ok=site" in done.headers["location"]
    chosen = for_site(_site(services, "mairie-a"))
    assert [(r.code, r.fr, r.en) for r in chosen] == [
        ("photo", photo.fr, photo.en),  # the same words keep their code
        ("le_livret_de_famille", "Le livret de famille manque : apportez-le.",
         "The family record book is missing: bring it.")]
    page = client.get("/console/admin/sites").text
    assert _textarea(page, "return_reasons_fr") == f"{photo.fr}\nLe livret de famille manque : apportez-le."
    [entry] = _audit(services, "edit_site")
    assert entry.detail == ("mairie-a : motifs de renvoi « par défaut » → « photo, le_livret_de_famille »")

    client.post("/console/admin/sites/mairie-a", data=_reasons_form(csrf, "   \n", ""))
    assert _site(services, "mairie-a").return_reasons is None and for_site(_site(services, "mairie-a")) == list(
        DEFAULT_REASONS)  # an empty field: the defaults again


@pytest.mark.parametrize("fr, en, message", [
    ("Un motif.", "One reason.\nA second reason.", "La ligne 2 du texte anglais n'a pas de motif en français"),
    ("x" * 301, "", "300 caractères au plus"),
    ("\n".join(f"Motif numéro {i}." for i in range(31)), "", "au plus 30 motifs"),
])
def test_return_reasons_a_mairie_cannot_keep_are_refused_and_kept_as_typed(client, services, people, fr, en,
                                                                            message):
    csrf = login(client, "hugo")
    refused = client.post("/console/admin/sites/mairie-a", data=_reasons_form(csrf, fr, en))
    assert refused.status_code == 400 and message in html.unescape(refused.text)
    assert re.search(r'id="return_reasons_fr-mairie-a"[^>]* aria-invalid="true"', refused.text, re.S)
    assert _textarea(refused.text, "return_reasons_fr") == fr
    assert _site(services, "mairie-a").return_reasons is None and _audit(services, "edit_site") == []


@pytest.mark.parametrize("given", [("Un motif.\n" * 1000, ""), ("Un motif.", "One reason.\n" * 1000)])
def test_reasons_longer_than_any_list_could_be_are_refused_in_either_language(services, people, given):
    from central import sites

    with services.db() as db, db.begin():
        with pytest.raises(sites.SiteError) as refused:
            sites.edit_site(db, db.get(Site, "mairie-a"), actor="test", role="test", return_reasons=given)
    assert refused.value.field == "return_reasons" and "trop longs (30 motifs de 300 caractères" in str(refused.value)


def test_codes_of_new_reasons_are_made_from_their_words_and_stay_distinct():
    from central.reasons import DEFAULT_REASONS, from_text

    reasons = from_text("Pièce illisible.\nPièce illisible !\nÀ revoir", "", DEFAULT_REASONS)
    assert [r.code for r in reasons] == ["piece_illisible", "piece_illisible_2", "a_revoir"]
    assert from_text("", "", DEFAULT_REASONS) is None
