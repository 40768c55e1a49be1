"""What the screen really shows, for every case the kiosk knows: no clipped text, no overlap, readable, counted.

``drive_scenarios.py`` plays every example scenario and every demo
pré-demande through the real app by touches, at 800x480 and at 1280x800
(the two panels the kiosk is built for, one process each, side by side), and
audits every screen reached in French and in English (:mod:`tests.ui.audit`):
each label's text fits its box, no two widgets overlap, every text reaches
4.5:1 against the pixels drawn behind it, and "Étape N sur M" is shown.
Screenshots of each distinct screen go to ``artifacts/screenshots/audit/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from tests.ui.conftest import RESULTS, ROOT, SHOTS

pytestmark = pytest.mark.ui

DRIVER = ROOT / "tests" / "ui" / "drive_scenarios.py"
SIZES = ("800x480", "1280x800")
#: A whole run takes about five minutes on an idle 2-core machine; this leaves room for a loaded one.
RUN_TIMEOUT_S = 1800


@pytest.fixture(scope="module")
def audits() -> dict[str, dict]:
    shots = SHOTS / "audit"
    shots.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    for old in shots.glob("*.png"):
        old.unlink()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    runs = {}
    for size in SIZES:
        result = RESULTS / f"audit-{size}.json"
        result.unlink(missing_ok=True)
        log = open(RESULTS / f"audit-{size}.log", "w")
        proc = subprocess.Popen([sys.executable, str(DRIVER), "--size", size, "--shots", str(shots),
                                 "--result", str(result)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        runs[size] = (proc, result, log)
    out = {}
    try:
        for size, (proc, result, log) in runs.items():
            try:
                proc.wait(timeout=RUN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
            tail = (RESULTS / f"audit-{size}.log").read_text(errors="replace")[-3000:]
            if not result.exists():
                pytest.fail(f"{size}: no result (exit {proc.returncode})\n{tail}")
            out[size] = json.loads(result.read_text(encoding="utf-8"))
            out[size]["log_tail"] = tail
    finally:
        for proc, _, log in runs.values():
            if proc.poll() is None:
                proc.kill()
            log.close()
    return out


def _summary(problems: list[dict]) -> str:
    counts = Counter((p["kind"], p["size"][0], p["lang"], p["screen"]) for p in problems)
    first = "\n".join(f"  {p['session']} / {p['screen']} ({p['lang']}, {p['size']}): {p['kind']}: "
                      f"{p['text']!r} — {p['detail']}" for p in problems[:25])
    return f"{len(problems)} problems, by kind/size/lang/screen: {counts.most_common(12)}\n{first}"


@pytest.mark.parametrize("size", SIZES)
def test_every_scenario_and_demo_pre_demande_completes_by_touch(audits, size):
    r = audits[size]
    assert r.get("error") is None, f"{r.get('error')}\n{r.get('log_tail')}"
    sessions = {s["name"]: s for s in r["sessions"]}
    examples = {p.stem for p in (ROOT / "examples" / "scenarios").glob("*.json")}
    demos = {f"demo-{pd['number']}" for pd in json.loads((ROOT / "kiosk" / "data" / "demo_predemandes.json").read_text())}
    assert examples | demos <= set(sessions), sorted(examples | demos - set(sessions))
    failed = {name: s["failures"] for name, s in sessions.items() if not s["ok"]}
    assert not failed, failed


@pytest.mark.parametrize("size", SIZES)
def test_no_text_is_clipped_or_overlaps_and_every_text_is_readable(audits, size):
    r = audits[size]
    assert r["window"] == [int(v) for v in size.split("x")]
    assert r["audited"] > 150, "screens were audited"
    assert {p["lang"] for p in r["problems"]} <= {"fr", "en"}
    assert not r["problems"], _summary(r["problems"])


def test_both_languages_were_audited_on_every_kind_of_screen(audits):
    names = {os.path.basename(p).split("_", 2)[-1] for r in audits.values() for p in r["shots"]}
    for screen in ("welcome", "confirm", "question_secure_document", "question_hosted", "checklist",
                   "capture_photo", "capture_accepted_photo", "stamp", "fingerprints", "signature", "summary", "end",
                   "receipt_failed", "inactivity", "cancel_dialog"):
        assert any(screen in n for n in names), screen
    for lang in ("fr", "en"):
        assert any(n.endswith(f"_{lang}.png") for n in names), lang
