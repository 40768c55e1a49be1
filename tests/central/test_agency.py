"""The agency's status, asked when a kiosk looks a pré-demande up (``central.ants``, ``central.agency``), against the
emulator the project ships (``kiosk-central ants-emulator``, a real process on the loopback, in the agency's
published format).

Each status the agency gives is its own answer on the kiosk, in the agency's words; when the agency does not
answer (down, late, the token refused) the look-up goes on as the kiosk goes on offline, and the number stays
"not checked"; an answer on record is reused for a while, even when the agency is down meanwhile.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from central.ants import AntsClient
from central.appointments import POLL_INTERVAL_S, AgencyCaller
from central.config import ConfigError, load_config
from central.console.dossiers import _tell
from central.models import AgencyCall, AgencyCheck, AuditEntry, Dossier, Predemande, Site
from central.predemandes import demo_records, import_records
from factory import deliver_dossier, enroll_kiosk
from test_console import login
from kiosk.sync.directory import HttpDirectory
from titres.errors import PredemandeNotHeld, PredemandeUnusable
from titres.messages import MESSAGES

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.chain import BIN, free_port  # noqa: E402

TOKEN = "jeton-de-l-emulateur"
HELD = "A1B2C3D4E5"  # a demo pré-demande: the service holds its form
#: The emulated agency's numbers: the demo's, one the agency validated that the service holds no copy of, and one
#: of each refusal.
AGENCY = {HELD: "validated", "V4L1D3N0T8": "validated", "C0NSUMED01": "consumed", "D3CLARED01": "declared",
          "3XP1RED001": "expired"}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    """``kiosk-central ants-emulator`` on a free loopback port; yields its base URL (``…/api``)."""
    folder = tmp_path_factory.mktemp("ants")
    (folder / "statuses.json").write_text(json.dumps(AGENCY))
    port = free_port()
    log = folder / "emulator.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(BIN / "kiosk-central"), "ants-emulator", "--port", str(port),
                                 "--statuses", str(folder / "statuses.json")],
                                env={**os.environ, "KIOSK_CENTRAL_ANTS_TOKEN": TOKEN}, stdout=out,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=5) as http:
            for _ in range(600):  # a loaded machine starts it slowly
                try:
                    http.get("/emulator/appointments")
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, log.read_text()
                    time.sleep(0.1)  # polling for the port to open: the wait ends on the condition
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _faults(emulator: str, **faults) -> None:
    httpx.put(f"{emulator}/emulator/faults", json=faults, timeout=10).raise_for_status()


@pytest.fixture
def agency(services, emulator):
    """The service's connector pointed at the emulator, which answers normally and holds no appointment at the
    start of each test."""
    _faults(emulator, delay_s=0, down=False)
    httpx.delete(f"{emulator}/emulator/appointments", timeout=10).raise_for_status()
    services.ants = AntsClient(f"{emulator}/api", TOKEN, timeout_s=10)
    import_records(services, demo_records())
    yield emulator
    _faults(emulator, delay_s=0, down=False)


def _reads(services) -> list[str]:
    with services.db() as db:
        return [a.detail for a in db.query(AuditEntry).filter_by(action="predemande_read").order_by(AuditEntry.id)]


@pytest.mark.one_engine  # what the agency said decides here, no SQL
@pytest.mark.parametrize("number, status, key", [
    ("C0NSUMED01", "consumed", "identify.error.consumed"),
    ("D3CLARED01", "declared", "identify.error.declared"),
    ("ZZ9ZZ9ZZ9Z", "unknown", "identify.error.agency_unknown"),
    ("3XP1RED001", "expired", "identify.error.expired"),
])
def test_each_refusal_of_the_agency_is_its_own_answer_on_the_kiosk(services, client, agency, tmp_path, number,
                                                                   status, key):
    kiosk = enroll_kiosk(services, client, tmp_path / "kiosk")
    assert kiosk.central.predemande(number) == (410, {"number": number, "status": status})
    with pytest.raises(PredemandeUnusable) as refused:
        HttpDirectory(kiosk.central).fetch(number)
    assert refused.value.message_key == key and "ANTS" in MESSAGES[key]["fr"]
    assert f"ANTS : {status}" in _reads(services)[-1]


@pytest.mark.one_engine  # what the agency said decides here, no SQL
def test_the_agencys_refusal_wins_over_the_services_own_copy(services, client, agency, tmp_path):
    with services.db() as db, db.begin():
        db.add(Predemande(number="C0NSUMED01", status="validated", birth_date=db.get(Predemande, HELD).birth_date,
                          data={**db.get(Predemande, HELD).data, "number": "C0NSUMED01"}))
    kiosk = enroll_kiosk(services, client, tmp_path / "kiosk")
    assert kiosk.central.predemande("C0NSUMED01") == (410, {"number": "C0NSUMED01", "status": "consumed"})


@pytest.mark.one_engine  # what the agency said decides here, no SQL
def test_a_validated_predemande_is_read_from_the_services_copy_or_asked_for_at_the_kiosk(services, client, agency,
                                                                                       tmp_path):
    kiosk = enroll_kiosk(services, client, tmp_path / "kiosk")
    status, record = kiosk.central.predemande(HELD)
    assert status == 200 and record["person"]["surname"] == "MARTIN"
    # validated by the agency, no copy here: the kiosk goes on as offline, with its own words for it
    assert kiosk.central.predemande("V4L1D3N0T8") == (200, {"number": "V4L1D3N0T8", "status": "validated",
                                                            "held": False})
    with pytest.raises(PredemandeNotHeld) as not_held:
        HttpDirectory(kiosk.central).fetch("V4L1D3N0T8")
    assert not_held.value.message_key == "identify.not_held"
    assert all("ANTS : validated" in read for read in _reads(services))


@pytest.mark.one_engine  # what the agency said decides here, no SQL
@pytest.mark.parametrize("fault", ["down", "late", "token"])
def test_when_the_agency_does_not_answer_the_look_up_goes_on_and_the_number_is_not_checked(services, client, agency,
                                                                                         tmp_path, fault):
    if fault == "down":
        _faults(agency, down=True)
    elif fault == "late":  # far later than the connector waits: the look-up does not wait for it
        _faults(agency, delay_s=60)
        services.ants = AntsClient(f"{agency}/api", TOKEN, timeout_s=0.5)
    else:
        services.ants = AntsClient(f"{agency}/api", "not-the-token", timeout_s=10)
    kiosk = enroll_kiosk(services, client, tmp_path / "kiosk")
    status, record = kiosk.central.predemande(HELD)
    assert status == 200 and record["person"]["surname"] == "MARTIN"
    assert kiosk.central.predemande("ZZ9ZZ9ZZ9Z") == (404, None)  # unknown here, and the agency not asked: as before
    with services.db() as db:
        row = db.get(AgencyCheck, HELD)
        assert row.status is None and row.checked_at is None and row.error
    assert "ANTS : non vérifié" in _reads(services)[0]


@pytest.mark.one_engine  # what the agency said decides here, no SQL
def test_an_answer_on_record_is_reused_while_recent_then_asked_again(services, client, agency, tmp_path, clock):
    kiosk = enroll_kiosk(services, client, tmp_path / "kiosk")
    assert kiosk.central.predemande("C0NSUMED01")[0] == 410
    _faults(agency, down=True)
    assert kiosk.central.predemande("C0NSUMED01")[0] == 410  # reused: the agency was not asked
    clock.advance(services.config.ants_reuse_minutes * 60 + 1)
    # too old to reuse, and the agency down: not checked; the service has no copy of it either
    assert kiosk.central.predemande("C0NSUMED01") == (404, None)
    with services.db() as db:
        row = db.get(AgencyCheck, "C0NSUMED01")
        assert row.status == "consumed" and row.error  # the last answer kept, with the failure after it


def test_the_emulator_answers_in_the_agencys_format_and_keeps_what_is_declared(agency):
    headers = {"x-rdv-opt-auth-token": TOKEN}
    with httpx.Client(base_url=f"{agency}/api", headers=headers, timeout=10) as http:
        assert http.get("/status", params={"application_ids": "C0NSUMED01"}).json() == {
            "C0NSUMED01": {"status": "consumed", "appointments": []}}
        appointment = {"application_id": HELD, "meeting_point": "Mairie de Trèbes", "meeting_point_id": "trebes",
                       "appointment_date": "2026-12-02 10:30:00", "management_url": "https://titres.example.fr/statut"}
        assert http.post("/appointments", params=appointment).json() == {"success": True}
        assert http.get("/status", params={"application_ids": HELD}).json()[HELD]["appointments"] == [appointment]
        del appointment["management_url"]
        assert http.delete("/appointments", params=appointment).json() == {"rowcount": 1}
        assert http.get("/status", params={"application_ids": "A1B2C3D4E5,ZZ9ZZ9ZZ9Z"}).json() == {
            HELD: {"status": "validated", "appointments": []}, "ZZ9ZZ9ZZ9Z": {"status": "unknown", "appointments": []}}
        assert http.get("/status", params={"application_ids": HELD}, headers={"x-rdv-opt-auth-token": "x"}
                        ).status_code == 401


@pytest.mark.parametrize("env, problem", [
    ({"KIOSK_CENTRAL_ANTS_URL": "http://ants.example.fr/api", "KIOSK_CENTRAL_ANTS_TOKEN": "t"}, "https://"),
    ({"KIOSK_CENTRAL_ANTS_URL": "https://api-coordination.rendezvouspasseport.ants.gouv.fr/api"}, "TOKEN"),
    ({"KIOSK_CENTRAL_ANTS_URL": "http://127.0.0.1:8090/api", "KIOSK_CENTRAL_ANTS_TOKEN": "t",
      "KIOSK_CENTRAL_ANTS_TIMEOUT_S": "nan"}, "seconds"),
    ({"KIOSK_CENTRAL_ANTS_URL": "http://127.0.0.1:8090/api", "KIOSK_CENTRAL_ANTS_TOKEN": "t"}, "PUBLIC_URL"),
])
def test_a_connector_that_would_leak_its_token_or_has_none_stops_the_service(env, problem):
    with pytest.raises(ConfigError) as refused:
        load_config(env=env)
    assert problem in str(refused.value)
    assert "secret-token" not in repr(load_config(env={"KIOSK_CENTRAL_ANTS_URL": "http://127.0.0.1:1/api",
                                                       "KIOSK_CENTRAL_ANTS_TOKEN": "secret-token",
                                                       "KIOSK_CENTRAL_PUBLIC_URL": "https://titres.example.fr"}))


# -- the appointments: a received dossier declared at its mairie, a returned one removed --------------------------

@pytest.fixture
def declaring(services, agency):
    """The connector on, with the citizen's status page the agency links each appointment to."""
    services.config = replace(services.config, public_url="https://titres.example.fr")
    return agency


def _declared(emulator: str) -> list[dict]:
    return httpx.get(f"{emulator}/emulator/appointments", timeout=10).json()


def _calls(services) -> list[tuple[str, str, int]]:
    with services.db() as db:
        return [(c.action, c.state, c.attempts) for c in db.query(AgencyCall).order_by(AgencyCall.id)]


def _return(services, dossier_id: str) -> None:
    """What the console's « Renvoyer » tells, in the decision's transaction (``central.console.dossiers``)."""
    with services.db() as db, db.begin():
        _tell(services)(db, db.get(Dossier, dossier_id), "returned", None)


def test_a_received_dossier_is_declared_at_its_mairie_and_a_returned_one_removed(services, client, declaring,
                                                                                tmp_path):
    dossier = deliver_dossier(services, client, tmp_path / "kiosk", site="Mairie de Trèbes")
    caller = AgencyCaller(services)
    assert caller.call_due() == 1
    with services.db() as db:
        site = db.get(Site, dossier.site_id)
    assert _declared(declaring) == [{
        "application_id": dossier.predemande_number, "meeting_point": site.name, "meeting_point_id": site.id,
        "appointment_date": dossier.created_at.astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%d %H:%M:%S"),
        "management_url": "https://titres.example.fr/statut"}]
    assert caller.call_due() == 0  # made once
    _return(services, dossier.id)
    assert caller.call_due() == 1
    assert _declared(declaring) == [] and _calls(services) == [("declare", "done", 1), ("remove", "done", 1)]


@pytest.mark.one_engine  # the calls' SQL (due, claimed, the removal after its declaration) runs on both engines above
def test_a_day_without_the_agency_loses_nothing_and_the_fleet_page_says_what_waits(services, client, declaring,
                                                                                 tmp_path, clock, people):
    _faults(declaring, down=True)
    first = deliver_dossier(services, client, tmp_path / "kiosk")
    second = deliver_dossier(services, client, tmp_path / "kiosk2", site="Mairie de Trèbes")
    _return(services, first.id)  # sent back while the agency is down: its removal waits for its declaration
    caller = AgencyCaller(services)
    start = clock.now()
    while clock.now() < start + timedelta(days=1):  # a day on the fake clock, a pass whenever a call is due
        assert caller.call_due() == 0
        with services.db() as db:
            due = db.scalar(select(func.min(AgencyCall.next_attempt_at)).where(AgencyCall.state == "pending"))
        clock.advance(max(POLL_INTERVAL_S, (due - clock.now()).total_seconds()))  # the next pass, or the next due
    assert _declared(declaring) == [] and all(state == "pending" for _, state, _ in _calls(services))
    attempts = max(a for _, _, a in _calls(services))
    assert 10 <= attempts <= 20  # 1, 2, 4 … minutes, then every 6 hours: not every minute
    login(client, "hugo")
    page = client.get("/console/fleet").text
    assert "Déclarations à l'ANTS" in page and "3 en attente" in page and "503" in page

    _faults(declaring, down=False)
    clock.advance(6 * 3600)
    assert caller.call_due() == 2 and caller.call_due() == 1  # the removal after its declaration, in order
    # the returned dossier's appointment declared then removed; the other's declared, once
    assert [(a["application_id"], a["meeting_point_id"]) for a in _declared(declaring)] == [
        (second.predemande_number, second.site_id)]
    assert [(a, s) for a, s, _ in _calls(services)] == [("declare", "done")] * 2 + [("remove", "done")]
    login(client, "hugo")  # hours later: a new session
    assert "Toutes transmises." in client.get("/console/fleet").text


@pytest.mark.one_engine  # what the agency said decides here, no SQL
def test_the_dossier_page_says_the_agencys_status_as_last_seen_or_not_checked(services, client, declaring, tmp_path,
                                                                               people):
    kiosk = enroll_kiosk(services, client, tmp_path / "kiosk", site="mairie-a")
    assert kiosk.central.predemande(HELD)[0] == 200  # the agency asked: validated
    checked = deliver_dossier(services, client, tmp_path / "kiosk", kiosk=kiosk)
    login(client, "agent.a")
    assert "Statut ANTS : validée (vu le" in client.get(f"/console/dossiers/{checked.id}").text
    with services.db() as db, db.begin():
        db.query(AgencyCheck).delete()  # a kiosk offline at the look-up: the agency never asked
    assert "Statut ANTS non vérifié" in client.get(f"/console/dossiers/{checked.id}").text
