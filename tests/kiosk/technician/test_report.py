"""The status report: gathered once, printed by ``kiosk status`` and shown on the maintenance screen."""

from __future__ import annotations

import json
import logging

from nacl.public import PrivateKey

from kiosk.config import load_config
from kiosk.sync.outbox import Outbox
from kiosk.sync.status import SyncStatus, write_status
from kiosk.technician.report import (
    Problem, QueueFacts, RecentProblems, SelftestSummary, StatusReport, Unreadable, release_name, section_text,
    status_lines, status_report,
)
from titres.i18n import Translator

NOW = 1_000_000.0
COUNTS = {"queued": 2, "uploading": 1, "acknowledged": 5, "corrupt": 0, "purged": 7}


def report(**kw) -> StatusReport:
    fields = dict(version="1.4.0", release="1.4.0", kiosk_code="K07", site="Mairie de Démoville", site_id="demo",
                  device_id="dev-7", provisioned=True, central_url="https://central.example",
                  sync=SyncStatus(last_contact_at=NOW - 90, last_delivery_at=0.0, last_error="answered 503",
                                  last_error_at=NOW - 600),
                  selftest=SelftestSummary(False, NOW - 7200, {"camera": "ok", "printer": "out of paper"}),
                  disk_free_bytes=2_000_000_000,
                  queue=QueueFacts(COUNTS, oldest_waiting_age_s=3600, free_bytes=950_000_000, accepting=False),
                  problems=(Problem(NOW - 600, "warning", "kiosk.sync", "sync", "answered 503"),))
    return StatusReport(**{**fields, **kw})


def test_the_report_gathers_queue_sync_and_problems_newest_first(tmp_path):
    config = load_config(env={}, data_dir=tmp_path)
    write_status(tmp_path, SyncStatus(last_contact_at=100.0, last_error="central service answered 503", last_error_at=300.0))
    problems = RecentProblems()
    logger = logging.getLogger("kiosk.test-maintenance")
    logger.addHandler(problems)
    try:
        logger.warning("printer out of paper", extra={"error": "PaperOut"})
        logger.info("not kept: below warning")
    finally:
        logger.removeHandler(problems)
    with Outbox(tmp_path, PrivateKey.generate().public_key) as outbox:
        gathered = status_report(config, outbox, problems)
    data = json.loads(json.dumps(gathered.as_dict()))  # ``kiosk status --json`` prints it as it is
    assert data["queue"]["counts"]["queued"] == 0 and data["queue"]["accepting"] is True
    assert data["sync"]["last_contact_at"] == 100.0
    assert [p["msg"] for p in data["problems"]] == ["printer out of paper", "sync"]
    assert data["problems"][0]["detail"] == "PaperOut"
    assert data["release"] == "development"
    assert "queue" not in status_report(config).as_dict(), "no queue asked about, none reported"


def test_a_fact_that_cannot_be_read_says_why_in_its_place(tmp_path):
    class Broken:
        def counts(self):
            raise OSError("disk I/O error")

    gathered = status_report(load_config(env={}, data_dir=tmp_path / "missing"), Broken())
    assert gathered.queue == Unreadable("OSError: disk I/O error")
    assert gathered.as_dict()["queue"] == {"error": "OSError: disk I/O error"}
    assert "error" in gathered.as_dict()["disk"], "the data directory does not exist"
    assert section_text(gathered, "queue", Translator("en")) == "Failed: OSError: disk I/O error"
    assert gathered.version in status_lines(gathered)[0], "the rest is still reported"


def test_kiosk_status_prints_one_line_per_fact():
    assert status_lines(report(), now=NOW) == [
        "version        1.4.0 (1.4.0)",
        "kiosk          K07  Mairie de Démoville  device dev-7",
        "provisioned    yes",
        "central        https://central.example",
        "queue          3 waiting, 5 acknowledged, 0 corrupt; oldest 3600 s; 950 MB free (REFUSING new sessions)",
        "sync           last contact 90 s ago, last delivery never, last error: answered 503",
        "self-test      2 h ago: printer: out of paper",
    ]
    quiet = status_lines(report(sync=None, selftest=None, queue=None, device_id=""), now=NOW)
    assert quiet[1].endswith("device -") and quiet[4:] == ["sync           the sync worker has reported nothing yet"]


def test_the_maintenance_screen_shows_the_same_facts_in_its_language():
    fr, en = Translator("fr"), Translator("en")
    queue = section_text(report(), "queue", fr, now=NOW)
    assert "À envoyer : 2" in queue and "En cours d'envoi : 1" in queue and "Plus ancien dossier en attente : 60 min" in queue
    assert "Espace libre : 950 Mo" in queue and queue.endswith("la borne refuse les nouvelles demandes.")
    network = section_text(report(), "network", en, now=NOW)
    assert "(90 s ago)" in network and "Last dossier sent: never" in network and "Last error: answered 503" in network
    assert section_text(report(sync=None), "network", en, now=NOW).endswith("(it is not running yet).")
    assert section_text(report(problems=()), "problems", en) == "No error since the app started."
    assert "Device id: dev-7" in section_text(report(), "about", en)


def test_release_name_reads_kiosk_updates_layout(tmp_path):
    venv = tmp_path / "releases" / "1.4.0" / "venv"
    venv.mkdir(parents=True)
    (tmp_path / "current").symlink_to(tmp_path / "releases" / "1.4.0")
    assert release_name(str(tmp_path / "current" / "venv")) == "1.4.0"
    assert release_name(str(tmp_path)) == "development"
