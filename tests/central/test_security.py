"""What the service promises its operator and a data-protection officer, checked over HTTP (docs/central.md,
"Security"): its files are its user's alone, a request of any shape gets an answer and never a 500, the
log says every refusal and holds nothing personal, a login leaves no typed secret behind, and the demo never
lands on real data.

The files and the log are checked on a real ``kiosk-central serve`` process, as deployed; the refusals through
the test client, which runs the same application.
"""

from __future__ import annotations

import html
import json
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from central import throttle
from central.app import create_app
from central.config import load_config
from central.context import build_services
from central.datadir import InsecureDataDir, make_private
from central.demo import DEMO_PASSWORD
from central.enrollment import create_token
from central.models import AuditEntry, Device, Dossier, Predemande, Throttle, User
from central.predemandes import demo_records, import_records
from central.passwords import hash_password
from factory import add_account, add_site, capture, count, deliver_dossier, enroll_kiosk, upload
from test_console import _hidden, login
from titres.protocol import API, H_DEVICE, H_SIGNATURE, H_TIME, sign_request

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.chain import central_service  # noqa: E402  (the real serve command, as the end-to-end tests run it)

KIOSK_CENTRAL = Path(sys.executable).parent / "kiosk-central"


def _modes(folder: Path) -> dict[str, int]:
    return {str(path.relative_to(folder)): stat.S_IMODE(path.stat().st_mode) for path in [folder, *folder.rglob("*")]}


def _personal(value, out: set[str]) -> set[str]:
    """Every text of a pré-demande worth hiding: names, dates, places, address, e-mail, phone."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in ("number", "titles", "motif", "status", "sex", "nationality", "birth_country"):
                _personal(item, out)
    elif isinstance(value, list):
        for item in value:
            _personal(item, out)
    elif isinstance(value, str) and len(value) >= 4:
        out.add(value)
        out.update(part for part in value.replace(",", " ").split() if len(part) >= 5)
    return out


# -- 1. files -------------------------------------------------------------------------------------------
def test_the_served_data_directory_and_every_file_in_it_are_the_services_users_only(tmp_path):
    with central_service(tmp_path, demo=False) as (url, data):
        for command in (["site", "create", "Mairie de Trèbes"], ["token", "create", "--site", "Mairie de Trèbes"]):
            made = subprocess.run([str(KIOSK_CENTRAL), *command, "--data-dir", str(data)], capture_output=True,
                                  text=True, timeout=120)
            assert made.returncode == 0, made.stderr
        assert httpx.get(url + "/healthz", timeout=30).status_code == 200
        modes = _modes(data)
    assert {"central.db", "keys", "keys/sealing.key", "keys/signing.key"} <= set(modes)
    opened = {name: f"{mode:04o}" for name, mode in modes.items() if mode & 0o077}
    assert opened == {}, f"readable by others than the service's user: {opened}"
    assert modes["."] == 0o700


def test_the_service_will_not_start_on_a_directory_others_can_read(tmp_path):
    data = tmp_path / "central"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    refused = subprocess.run([str(KIOSK_CENTRAL), "serve", "--port", "9", "--data-dir", str(data)],
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2, refused.stderr
    assert f"chmod 700 {data}" in refused.stderr and "0755" in refused.stderr
    assert refused.stderr.index("Le dossier de données") < refused.stderr.index("The data directory")
    assert list(data.iterdir()) == []  # nothing was created in it


def test_a_private_directory_is_made_private_and_an_open_one_refused(tmp_path):
    make_private(tmp_path / "new" / "central")
    assert stat.S_IMODE((tmp_path / "new" / "central").stat().st_mode) == 0o700
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared").chmod(0o750)
    with pytest.raises(InsecureDataDir, match="0750"):
        make_private(tmp_path / "shared")


def test_an_older_database_file_readable_by_others_is_tightened_at_start(tmp_path):
    data = tmp_path / "central"
    data.mkdir(mode=0o700)
    (data / "central.db").touch()
    (data / "central.db").chmod(0o644)
    build_services(load_config(env={}, data_dir=str(data))).close()
    assert stat.S_IMODE((data / "central.db").stat().st_mode) == 0o600


# -- 2, 3. throttles that a stranger cannot turn against a user ------------------------------------------
@pytest.mark.parametrize("trusted, seen", [("none", "127.0.0.1"), ("10.9.9.9", "127.0.0.1"),
                                           ("", "203.0.113.7"), ("127.0.0.1", "203.0.113.7")])
def test_the_client_is_the_connection_unless_a_trusted_proxy_names_it(tmp_path, trusted, seen):
    """A client cannot escape its throttle by writing X-Forwarded-For; a trusted proxy (by default one on the
    same host, as docs/central.md deploys it) names the client."""
    with central_service(tmp_path, demo=False, env={"KIOSK_CENTRAL_TRUSTED_PROXIES": trusted}) as (url, data):
        asked = httpx.get(f"{url}{API}/status", params={"number": "K01-00001-H", "birth_date": "1990-01-01"},
                          headers={"X-Forwarded-For": "203.0.113.7"}, timeout=30)
        assert asked.status_code == 404
        services = build_services(load_config(env={}, data_dir=str(data)))
        try:
            with services.db() as db:
                lookups = [(a.ip, a.detail) for a in db.query(AuditEntry).filter_by(action="status_lookup")]
        finally:
            services.close()
    assert lookups == [(seen, "K01-00001-H : non trouvé")]


# -- 4. what a kiosk is told ----------------------------------------------------------------------------
def test_a_kiosk_gets_what_it_shows_and_the_rules_read_and_each_read_is_audited(services, client, tmp_path):
    import_records(services, demo_records())
    kiosk = enroll_kiosk(services, client, tmp_path / "kiosk", site="Mairie de Trèbes")
    status, record = kiosk.central.predemande("A1B2C3D4E5")
    assert status == 200
    assert set(record) <= {"number", "titles", "motif", "status", "person", "nationality", "hosted",
                           "born_abroad_parents_abroad", "alternating_residence"}
    assert record["person"]["surname"] == "MARTIN" and record["person"]["birth_place"]
    form = next(r for r in demo_records() if r["number"] == "A1B2C3D4E5")
    assert form["contact"]["email"] not in json.dumps(record) and form["address"] not in json.dumps(record)
    assert kiosk.central.predemande("ZZZZZZZZZZ") == (404, None)
    with services.db() as db:
        reads = [(a.actor, a.role, a.detail) for a in db.query(AuditEntry).filter_by(action="predemande_read")]
    assert [(actor, role) for actor, role, _ in reads] == [(kiosk.kiosk_code, "device")] * 2
    assert "A1B2C3D4E5" in reads[0][2] and kiosk.site_id in reads[0][2] and "ZZZZZZZZZZ : inconnue" in reads[1][2]


@pytest.mark.parametrize("state", ["consumed", "expired"])
def test_a_predemande_a_kiosk_cannot_use_is_answered_with_its_status_alone(services, client, tmp_path, state):
    import_records(services, demo_records())
    with services.db() as db, db.begin():
        db.get(Predemande, "A1B2C3D4E5").status = state
    kiosk = enroll_kiosk(services, client, tmp_path / "kiosk")
    assert kiosk.central.predemande("A1B2C3D4E5") == (410, {"number": "A1B2C3D4E5", "status": state})


# -- 5. input bounds --------------------------------------------------------------------------------------
@pytest.fixture
def answering(services):
    """The test client as a stranger's client sees the service: a server error is an answer (500), not raised."""
    with TestClient(create_app(services), base_url="http://testserver", raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("stamp", ["9" * 309, "1" * 13, "+1700000000", " 1700000000", "1_700_000_000",
                                   "١٧٠٠٠٠٠٠٠٠".encode(), "-5", "1e9", ""])
def test_a_request_time_of_any_shape_is_refused_as_such_never_a_500(services, answering, tmp_path, stamp):
    kiosk = enroll_kiosk(services, answering, tmp_path / "kiosk")
    path = f"{API}/predemandes/A1B2C3D4E5"
    headers = sign_request(kiosk.key, kiosk.device_id, "GET", path, b"", 1_700_000_000)
    r = answering.get(path, headers={**headers, H_TIME: stamp})
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "bad_signature" and H_TIME in r.json()["detail"]


def test_a_time_far_off_but_well_formed_is_clock_skew(services, answering, tmp_path):
    kiosk = enroll_kiosk(services, answering, tmp_path / "kiosk")
    path = f"{API}/predemandes/A1B2C3D4E5"
    r = answering.get(path, headers=sign_request(kiosk.key, kiosk.device_id, "GET", path, b"", 999_999_999_999))
    assert r.status_code == 401 and r.json()["error"] == "clock_skew" and "server_time" in r.json()


@pytest.mark.one_engine
def test_json_nested_deeper_than_the_reader_goes_is_malformed_never_a_500(services, answering, tmp_path):
    deep = b"[" * 2000 + b"]" * 2000  # 4 KB: json.loads ran out of recursion, and an enrollment needs no key
    assert answering.post(f"{API}/enroll", content=deep).json()["error"] == "malformed_json"
    kiosk = enroll_kiosk(services, answering, tmp_path / "kiosk")
    for method, path in [("POST", f"{API}/heartbeat"), ("PUT", f"{API}/packages/01900000-0000-7000-8000-000000000001")]:
        r = answering.request(method, path, content=deep, headers=sign_request(kiosk.key, kiosk.device_id, method,
                                                                               path, deep, int(services.clock())))
        assert r.status_code == 400 and r.json()["error"] == "malformed_json", (path, r.text)


@pytest.mark.parametrize("text, problem", [("a\x00b", "NUL"), ("a\udcffb", "lone surrogate")],
                         ids=["nul", "lone-surrogate"])
def test_text_no_database_stores_is_refused_as_such_never_a_500(services, answering, tmp_path, text, problem):
    """PostgreSQL's text refuses NUL, and neither engine stores a lone surrogate: both are refused before either
    sees them, on both engines alike (a NUL was a 500 on PostgreSQL only, so the SQLite tests never met it)."""
    token = create_token(services, add_site(services, "demo-site"), created_by="test")
    body = json.dumps({"token": token, "public_key": "ab" * 32, "hostname": text}).encode()
    r = answering.post(f"{API}/enroll", content=body)
    assert r.status_code == 400 and r.json()["error"] == "malformed" and problem in r.json()["detail"]
    assert "a\x00b" not in r.text and count(services, Device) == 0
    if problem == "NUL":  # a lone surrogate has no place in a URL or a form: they are UTF-8
        kiosk = enroll_kiosk(services, answering, tmp_path / "kiosk")
        path = f"{API}/predemandes/A1B2{text}"
        r = answering.get(path.replace("\x00", "%00"), headers=sign_request(kiosk.key, kiosk.device_id, "GET", path,
                                                                            b"", int(services.clock())))
        assert r.status_code == 400 and r.json()["error"] == "malformed"
        form = answering.get("/console/login")
        r = answering.post("/console/login", data={"username": text, "password": "x" * 12,
                                                   "csrf": _hidden(form.text)})
        assert r.status_code == 400 and "Saisie refusée" in r.text


@pytest.mark.one_engine
@pytest.mark.parametrize("path", ["/statut", "/console/login"])
def test_a_file_where_a_form_expects_text_is_refused_never_a_500(answering, path):
    """The page's refusal named the value sent, and a file is no JSON: a 500 to anyone."""
    r = answering.post(path, files={"number": ("a.txt", b"\xff", "text/plain"),
                                    "username": ("a.txt", b"\xff", "text/plain")})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "string_type"


# -- 6. the login audit -----------------------------------------------------------------------------------
def test_a_password_typed_in_the_username_field_is_nowhere_in_the_audit_log(services, answering, people):
    typed = "mairie2026-secret"  # a password that is also a valid username
    for _ in range(throttle.POLICIES["login.account"].free + 1):  # enough for this client to wait on that name
        form = answering.get("/console/login")
        r = answering.post("/console/login", data={"username": typed, "password": "x" * 12,
                                                   "csrf": _hidden(form.text)})
        assert r.status_code == 401 and "Se connecter" in r.text
    login(answering, "aline")
    log = answering.get("/console/admin/audit").text
    assert "(compte inconnu)" in log
    assert typed not in log
    waits = html.unescape(answering.get("/console/admin/throttles").text)
    assert "testclient|(compte inconnu) " in waits and typed not in waits  # waiting, under a keyed hash
    with services.db() as db:
        assert not [t.key for t in db.query(Throttle) if typed in t.key]


# -- 7. every read of personal data is audited ---------------------------------------------------------
def test_listing_and_searching_the_dossiers_are_audited_with_what_was_shown(services, client, people, tmp_path):
    dossier = deliver_dossier(services, client, tmp_path / "kiosk-a", site="mairie-a")
    login(client, "agent.a")
    assert dossier.id in client.get("/console/").text
    assert dossier.id in client.get("/console/", params={"q": dossier.surname.lower()}).text
    with services.db() as db:
        rows = [(a.actor, a.action, a.detail) for a in db.query(AuditEntry).order_by(AuditEntry.id)
                if a.action in ("list_dossiers", "search_dossiers")]
    assert [(actor, action) for actor, action, _ in rows] == [("agent.a", "list_dossiers"),
                                                             ("agent.a", "search_dossiers")]
    assert all(f"1 dossier(s) : {dossier.id}" in detail for _, _, detail in rows)
    assert f"q={dossier.surname.lower()}" in rows[1][2]


# -- 8. logging -------------------------------------------------------------------------------------------
def test_the_log_is_json_names_every_refusal_and_holds_nothing_personal(tmp_path):
    with central_service(tmp_path, demo=False) as (url, data):
        services = build_services(load_config(env={}, data_dir=str(data)))
        try:
            with httpx.Client(base_url=url, timeout=60) as http:
                kiosk = enroll_kiosk(services, http, tmp_path / "kiosk", site="Mairie de Trèbes")
                dossier_id, _ = capture(kiosk)
                upload(kiosk, dossier_id)
                path = f"{API}/predemandes/A1B2C3D4E5"
                signed = sign_request(kiosk.key, kiosk.device_id, "GET", path, b"", 1_700_000_000)
                assert http.get(path, headers={**signed, H_TIME: "9" * 309}).status_code == 401
                assert http.get(path, headers={**signed, H_DEVICE: "no-such-kiosk"}).status_code == 401
                assert http.get(path, headers={**signed, H_SIGNATURE: "00" * 64}).status_code == 401
                with services.db() as db:
                    dossier = db.get(Dossier, dossier_id)
                born = dossier.birth_date.isoformat()
                assert http.get(f"{API}/status", params={"number": dossier.number, "birth_date": "1901-01-01"}
                                ).status_code == 404
        finally:
            services.close()
    lines = [line for line in (tmp_path / "central.log").read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    received = [r for r in records if r["msg"] == "dossier received"]
    assert [(r["dossier"], r["device"]) for r in received] == [(dossier_id, kiosk.device_id)]
    refused = {(r["status"], r["code"], r["path"], r["device"]) for r in records if r["msg"] == "request refused"}
    assert {(401, "bad_signature", path, kiosk.device_id), (401, "unknown_device", path, "no-such-kiosk"),
            (404, "not_found", f"{API}/status", "")} <= refused
    assert not any(r["level"] == "error" or "exc" in r for r in records)
    text = "\n".join(lines)
    hidden = _personal(dossier.content["predemande"], {dossier.surname, dossier.given_names, born})
    assert hidden and not [value for value in hidden if value in text]


# -- 9. the demo ------------------------------------------------------------------------------------------
def test_the_demo_refuses_a_service_that_holds_real_accounts(services, run_cli):
    with services.db() as db, db.begin():
        add_account(db, "aline", "admin", None, "Aline Administratrice")
    code, _out, err = run_cli("demo")
    assert code == 2 and "--data-dir" in err and "pas celles de la démonstration" in err
    with services.db() as db:
        assert [u.username for u in db.query(User)] == ["aline"]


def test_the_demo_seeds_an_empty_service_and_again_the_same(services, run_cli):
    assert run_cli("demo")[0] == 0
    with services.db() as db:
        first = sorted(u.username for u in db.query(User))
    assert run_cli("demo")[0] == 0
    with services.db() as db:
        assert sorted(u.username for u in db.query(User)) == first and "admin" in first


@pytest.mark.parametrize("later", ["a real account", "a demo password changed"])
def test_a_demo_directory_later_given_real_data_is_refused(services, run_cli, later):
    assert run_cli("demo")[0] == 0
    with services.db() as db, db.begin():
        if later == "a real account":
            add_account(db, "aline", "admin", None, "Aline Administratrice")
        else:
            db.query(User).filter_by(username="admin").one().password_hash = hash_password("a-real-password-2026")
    code, _out, err = run_cli("demo")
    assert code == 2 and "pas celles de la démonstration" in err
    assert DEMO_PASSWORD not in err
