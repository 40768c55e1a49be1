"""The real Kivy app, driven by touches, through whole citizen sessions on the simulated kiosk.

Each scenario runs in its own process (``drive_flow.py``); these tests check
what a person would check: the screen reached, the dossier in the queue,
the receipt printed, the number on the screen equal to the queue's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kiosk.ui.conftest import SHOTS, assert_ok

pytestmark = pytest.mark.ui

# Short inactivity delays so that the warning and the abandon happen within the test.
CANCEL = ("cancel", "800x480", "--inactivity", "3,3")


def _names(result: dict) -> set[str]:
    return {Path(p).stem.split("_", 3)[-1] for p in result["shots"]}


def test_online_session_from_scan_to_receipt(ui_runs):
    r = ui_runs.get("online")
    assert_ok(r)
    assert r["steps"][:4] == ["welcome", "identify", "looking_up", "confirm"]
    assert {"checklist", "capture", "stamp", "fingerprints", "signature", "summary", "printing", "end"} <= set(r["steps"])
    assert r["steps"][-1] == "welcome", "Terminer brings the next citizen's welcome screen"
    assert r["queue"]["queued"] == 1
    assert len(r["receipts"]) == 1
    assert r["numbers_shown"] == r["queued_numbers"], "the end screen shows the queued dossier's number"


def test_every_screen_has_a_screenshot_at_800x480(ui_runs):
    shots = set()
    for run in (ui_runs.get("online"), ui_runs.get("offline"), ui_runs.get("typed"), ui_runs.get(*CANCEL)):
        assert_ok(run)
        shots |= _names(run)
    expected = {"welcome", "identify_scan", "busy_looking_up", "confirm", "question_secure_document",
                "question_birthplace", "capture_accepted", "question_age", "question_hosted_child",
                "question_birthplace_dont_know", "capture_conditional", "checklist",
                "capture", "capture_retake", "stamp", "fingerprints", "fingerprints_feedback", "signature",
                "summary_consent_needed", "summary", "end", "questions", "receipt_failed", "identify_keyboard",
                "identify_keyboard_error", "identify_not_predemande", "identify_consumed", "cancel_dialog", "inactivity",
                "welcome_abandoned",
                "confirm_en", "checklist_en", "capture_en"}
    assert expected <= shots, f"missing: {sorted(expected - shots)}"
    for name in ("800x480_online_01_welcome.png", "800x480_typed_03_confirm_en.png"):
        assert (SHOTS / name).stat().st_size > 5000


def test_typed_number_in_english_with_everything_left_for_the_desk(ui_runs):
    r = ui_runs.get("typed")
    assert_ok(r)
    assert "looking_up" in r["steps"] and "end" in r["steps"]
    assert r["queue"]["queued"] == 1
    assert r["numbers_shown"] == r["queued_numbers"]


def test_offline_questions_then_no_paper_shows_the_number_then_prints(ui_runs):
    r = ui_runs.get("offline")
    assert_ok(r)
    assert "questions" in r["steps"] and "confirm" not in r["steps"]
    i = r["steps"].index("receipt_failed")
    assert r["steps"][i + 1:i + 3] == ["printing", "end"], "after paper is back, Réessayer prints"
    assert r["queue"]["queued"] == 1
    assert len(r["receipts"]) == 1, "one receipt, printed on the retry"
    # The number on the receipt-failed screen, then on the end screen, is the queued one.
    assert r["numbers_shown"] == r["queued_numbers"] * 2


def test_cancel_and_inactivity_erase_the_session(ui_runs):
    """Also: text size and contrast chosen on the welcome screen last for that session, and end with it
    (drive_flow.choose_legibility, then the checks after the cancel)."""
    r = ui_runs.get(*CANCEL)
    assert_ok(r)
    assert {"welcome_large_contrast", "identify_large_contrast"} <= _names(r)
    assert r["queue"]["queued"] == 0, "nothing of a cancelled session is kept"
    assert r["receipts"] == []
    assert r["steps"].count("welcome") >= 3


def test_a_full_kiosk_says_so_and_takes_no_one(ui_runs):
    r = ui_runs.get("unavailable", "800x480", "--min-free-bytes", str(10**18))
    assert_ok(r)
    assert r["steps"] == ["welcome"]
    assert "welcome_unavailable" in _names(r)
