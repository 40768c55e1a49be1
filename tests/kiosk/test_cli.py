"""The command-line interface the acceptance checks use, run as a person would: as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from kiosk.hal.sim.scenes import empty_frame, qr_frame

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "scenarios" / "adult-renewal-cni.json"


def kiosk(*args, data_dir: Path, check_rc: int | None = 0):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    proc = subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr
    return proc


def test_decode_prints_one_json_line_per_image(tmp_path):
    Image.fromarray(qr_frame("A1B2C3D4E5", code_px=150, angle_deg=12)).save(tmp_path / "recap.png")
    Image.fromarray(qr_frame("https://www.example.org/menu")).save(tmp_path / "menu.jpg", quality=80)
    Image.fromarray(empty_frame()).save(tmp_path / "desk.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    files = ["recap.png", "menu.jpg", "desk.png", "broken.png"]
    proc = kiosk("decode", "--json", *[str(tmp_path / f) for f in files], data_dir=tmp_path / "k", check_rc=1)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [Path(r["file"]).name for r in lines] == files
    assert lines[0]["number"] == "A1B2C3D4E5" and lines[0]["error"] is None
    for r in lines[1:]:
        assert r["number"] is None and r["error"]
        assert isinstance(r["ms"], (int, float))
    assert "pré-demande" in lines[1]["error"]


def test_decode_exits_zero_when_every_image_holds_a_number(tmp_path):
    Image.fromarray(qr_frame("B2C3D4E5F6")).save(tmp_path / "ok.png")
    proc = kiosk("decode", "--json", str(tmp_path / "ok.png"), data_dir=tmp_path / "k")
    assert json.loads(proc.stdout)["number"] == "B2C3D4E5F6"


def test_scenario_then_queue_status_agree(tmp_path):
    proc = kiosk("scenario", str(EXAMPLE), "--simulate", data_dir=tmp_path / "k")
    result = json.loads(proc.stdout)
    assert result["ok"] and result["queue_state"] == "queued" and Path(result["receipt"]).exists()
    status = json.loads(kiosk("queue", "status", "--json", "--simulate", data_dir=tmp_path / "k").stdout)
    assert status["queued"] == 1
    listed = json.loads(kiosk("queue", "list", "--json", "--simulate", data_dir=tmp_path / "k").stdout)
    assert [r["number"] for r in listed] == [result["dossier_number"]]


def test_reprint_prints_a_duplicate_from_the_queue(tmp_path):
    from kiosk.hal.sim.escpos_decode import decode

    result = json.loads(kiosk("scenario", str(EXAMPLE), "--simulate", data_dir=tmp_path / "k").stdout)
    kiosk("reprint", result["dossier_number"], "--simulate", data_dir=tmp_path / "k")
    jobs = sorted((tmp_path / "k" / "sim" / "printer").glob("receipt-*.bin"))
    assert len(jobs) == 2
    text = decode(jobs[-1].read_bytes()).text
    assert "DUPLICATA" in text and result["dossier_number"] in text


def test_selftest_reports_every_device(tmp_path):
    proc = kiosk("selftest", "--simulate", "--json", data_dir=tmp_path / "k")
    report = json.loads(proc.stdout)
    assert report["ok"] is True
    assert [d["device"] for d in report["devices"]] == ["camera", "scanner", "fingerprint", "printer", "indicator",
                                                       "audio"]
    assert all(d["ok"] for d in report["devices"])


def test_selftest_fails_loudly_when_a_backend_cannot_load(tmp_path):
    env_backup = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(tmp_path / "k"), "selftest", "--json"],
                          capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**{k: v for k, v in env_backup.items() if not k.startswith("KIOSK_")},
                               "KIOSK_HAL": "sim", "KIOSK_HAL_CAMERA": "picamera2"})
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    camera = report["devices"][0]
    assert camera["device"] == "camera" and camera["ok"] is False and "picamera2" in camera["detail"]


def test_a_simulated_printer_without_paper_fails_its_selftest(tmp_path):
    paper = tmp_path / "k" / "sim" / "printer" / "paper"
    paper.parent.mkdir(parents=True)
    paper.write_text("out")
    proc = kiosk("selftest", "--simulate", "--json", data_dir=tmp_path / "k", check_rc=1)
    printer = json.loads(proc.stdout)["devices"][3]
    assert printer["device"] == "printer" and printer["ok"] is False
