"""The whole chain through the commands a technician and the acceptance checks use.

A real ``kiosk-central serve`` process, a token from ``kiosk-central token
create``, ``kiosk provision``, a citizen's session replayed on the simulated
kiosk (which now fetches its pré-demande from the service), ``kiosk sync
--once``, and both ends compared: same ids, same content hashes.
"""

from __future__ import annotations

import json

import pytest

from chain import SCENARIOS, central_service, get_json, run


@pytest.fixture
def central(tmp_path):
    with central_service(tmp_path) as (url, data):
        yield url, data


def test_captured_dossier_reaches_the_service_once_and_identical(central, tmp_path):
    url, data = central
    kiosk = tmp_path / "kiosk"
    token = run("kiosk-central", "token", "create", "--site", "demo-site", "--data-dir", data).stdout
    assert len(token.strip().splitlines()) == 1  # the token alone on stdout
    provisioned = json.loads(run("kiosk", "--data-dir", kiosk, "provision", "--central", url, "--token", token.strip()).stdout)
    assert provisioned["site"] == "Mairie de démonstration"
    again = run("kiosk", "--data-dir", kiosk, "provision", "--central", url, "--token", token.strip(), check=False)
    assert again.returncode != 0 and "bad_token" in again.stderr  # one-time

    session = json.loads(run("kiosk", "--data-dir", kiosk, "scenario", SCENARIOS / "adult-renewal-cni.json", "--simulate").stdout)
    assert session["ok"], session["failures"]
    number = session["dossier_number"]
    assert number.startswith(provisioned["kiosk_code"] + "-")
    status, body = get_json(f"{url}/api/v1/status?number={number}&birth_date=1985-03-14")
    assert status == 404  # not yet announced: the sync worker has not run

    run("kiosk", "--data-dir", kiosk, "selftest", "--simulate", "--json")
    drained = json.loads(run("kiosk", "--data-dir", kiosk, "sync", "--once").stdout)
    assert drained["sent"] == 1 and drained["acknowledged"] == 1
    fleet = json.loads(run("kiosk-central", "devices", "list", "--json", "--data-dir", data).stdout)
    assert fleet[0]["online"] and fleet[0]["selftest_ok"] is True and fleet[0]["software_version"]
    assert json.loads(run("kiosk", "--data-dir", kiosk, "sync", "--once").stdout)["sent"] == 0

    at_service = json.loads(run("kiosk-central", "dossiers", "list", "--json", "--data-dir", data).stdout)
    at_kiosk = json.loads(run("kiosk", "--data-dir", kiosk, "queue", "list", "--json").stdout)
    assert [d["number"] for d in at_service] == [d["number"] for d in at_kiosk] == [number]
    assert at_service[0]["site"] == "demo-site" and at_service[0]["state"] == "received"
    assert at_service[0]["content_sha256"] == at_kiosk[0]["package_sha256"]

    status, body = get_json(f"{url}/api/v1/status?number={number}&birth_date=1985-03-14")
    assert status == 200 and body["state"] == "received"


def test_a_revoked_kiosk_keeps_its_dossiers_and_says_why(central, tmp_path):
    url, data = central
    kiosk = tmp_path / "kiosk"
    token = run("kiosk-central", "token", "create", "--site", "demo-site", "--data-dir", data).stdout.strip()
    device = json.loads(run("kiosk", "--data-dir", kiosk, "provision", "--central", url, "--token", token).stdout)["device_id"]
    run("kiosk-central", "devices", "revoke", device, "--data-dir", data)
    session = json.loads(run("kiosk", "--data-dir", kiosk, "scenario", SCENARIOS / "offline-adult-loss.json", "--simulate").stdout)
    assert session["ok"], session["failures"]
    drained = run("kiosk", "--data-dir", kiosk, "sync", "--once", check=False)
    assert drained.returncode == 1
    queue = json.loads(run("kiosk", "--data-dir", kiosk, "queue", "list", "--json").stdout)
    assert [q["state"] for q in queue] == ["queued"]
    assert "revoked" in queue[0]["last_error"]
    assert json.loads(run("kiosk-central", "dossiers", "list", "--json", "--data-dir", data).stdout) == []


def test_a_usb_export_is_imported_once_even_if_the_network_comes_back(central, tmp_path):
    url, data = central
    kiosk, stick = tmp_path / "kiosk", tmp_path / "usb"
    token = run("kiosk-central", "token", "create", "--site", "demo-site", "--data-dir", data).stdout.strip()
    run("kiosk", "--data-dir", kiosk, "provision", "--central", url, "--token", token)
    for name in ("adult-first-cni", "minor-renewal-cni"):
        assert json.loads(run("kiosk", "--data-dir", kiosk, "scenario", SCENARIOS / f"{name}.json", "--simulate").stdout)["ok"]
    exported = json.loads(run("kiosk", "--data-dir", kiosk, "queue", "export", stick).stdout)["exported"]
    assert len(exported) == 2
    blob = b"".join(p.read_bytes() for p in stick.rglob("*.sealed"))
    assert b"MARTIN" not in blob and b"1985-03-14" not in blob  # nothing readable on the stick

    (stick / "cut-short").mkdir()  # a folder whose copy did not finish
    report = json.loads(run("kiosk-central", "import", stick, "--data-dir", data, check=False).stdout)
    assert report["imported"] == 2 and [r["folder"] for r in report["refused"]] == ["cut-short"]
    again = json.loads(run("kiosk-central", "import", stick, "--data-dir", data, check=False).stdout)
    assert again["imported"] == 0 and again["already_held"] == 2
    drained = json.loads(run("kiosk", "--data-dir", kiosk, "sync", "--once").stdout)
    assert drained["sent"] == 2  # the kiosk gets its acknowledgements; nothing is stored twice
    listed = json.loads(run("kiosk-central", "dossiers", "list", "--json", "--data-dir", data).stdout)
    assert sorted(d["number"] for d in listed) == sorted(exported)
