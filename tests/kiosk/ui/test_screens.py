"""What the screen really shows, for every case the kiosk knows: no clipped text, no overlap, readable, counted.

``drive_scenarios.py`` plays every example scenario and every demo
pré-demande through the real app by touches (two processes side by side,
half of the sessions each), and audits every screen reached at 800x480 and
at 1280x800 (the two panels the kiosk is built for: the window is resized),
in French and in English (:mod:`tests.kiosk.ui.audit`):
each label's text fits its box, no two widgets overlap, every text reaches
4.5:1 against the pixels drawn behind it, and "Étape N sur M" is shown.

Each *kind* of page (``AuditDriver.kind``: the page, who it speaks to, its
message; not which document a photo page is for) is audited once more at
each size with the text at 125 % and 150 %, and in high contrast at 150 %,
touched on the header as a citizen would: in the page's own language at
800x480 (French, the longer one, for most), in the other at 1280x800. Once
per kind over both shares (the first to reach a kind claims it), not every
page of every session: each change of text size lays every screen out
again, and doing it everywhere would multiply the run's time by five.
:func:`test_every_kind_of_page_was_audited_enlarged_and_in_high_contrast`
checks that every kind seen at the usual size was audited in each setting.

The audit's processes start when collection ends and run beside the rest
of the suite (:mod:`tests.kiosk.ui.audit_run`): the tests here read their
results.

Screenshots of each distinct screen go to ``artifacts/screenshots/audit/``
(``…_150.png``, ``…_150-hc.png`` for the enlarged and high-contrast ones).
"""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest

from tests.kiosk.ui.audit_run import SIZES, started
from tests.kiosk.ui.conftest import ROOT

pytestmark = pytest.mark.ui

#: The text sizes and palette each kind of page is audited in besides the usual one (AuditDriver.setting).
ENLARGED = ("125", "150", "150-hc")


@pytest.fixture(scope="module")
def audit(request) -> dict:
    """Both shares' results, merged: the run started when collection ended (:mod:`tests.kiosk.ui.audit_run`)."""
    return started(request.config).merged()


def _summary(problems: list[dict]) -> str:
    counts = Counter((p["kind"], p["size"][0], p["lang"], p["screen"]) for p in problems)
    first = "\n".join(f"  {p['session']} / {p['screen']} ({p['lang']}, {p['size']}, {p['setting']}): {p['kind']}: "
                      f"{p['text']!r} — {p['detail']}" for p in problems[:25])
    return f"{len(problems)} problems, by kind/size/lang/screen: {counts.most_common(12)}\n{first}"


def test_every_scenario_and_demo_pre_demande_completes_by_touch(audit):
    assert not audit["errors"], audit["errors"]
    sessions = {s["name"]: s for s in audit["sessions"]}
    examples = {p.stem for p in (ROOT / "examples" / "scenarios").glob("*.json")}
    demos = {f"demo-{pd['number']}" for pd in json.loads((ROOT / "titres" / "data" / "demo_predemandes.json").read_text())}
    assert examples | demos <= set(sessions), sorted(examples | demos - set(sessions))
    failed = {name: s["failures"] for name, s in sessions.items() if not s["ok"]}
    assert not failed, failed


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", ("fr", "en"))
def test_no_text_is_clipped_or_overlaps_and_every_text_is_readable(audit, size, lang):
    assert audit["audited_at"][f"{size}/{lang}"] > 150, f"screens audited: {dict(audit['audited_at'])}"
    problems = [p for p in audit["problems"] if f"{p['size'][0]}x{p['size'][1]}" == size and p["lang"] == lang
                and p["setting"] == "100"]
    assert not problems, _summary(problems)


@pytest.mark.parametrize("setting", ENLARGED)
@pytest.mark.parametrize("size", SIZES)
def test_enlarged_text_and_high_contrast_neither_clip_nor_overlap_nor_shrink_a_target(audit, size, setting):
    """At 125 % and 150 %, and in high contrast: the same checks, plus no touch target lower than at 100 %
    (and the contrast measured against the palette in use: the pixels drawn)."""
    audited = sum(n for where, n in audit["audited_at"].items() if where.startswith(f"{size}/")
                  and where.endswith(f"/{setting}"))
    assert audited > 40, f"screens audited: {dict(audit['audited_at'])}"
    problems = [p for p in audit["problems"] if f"{p['size'][0]}x{p['size'][1]}" == size and p["setting"] == setting]
    assert not problems, _summary(problems)


@pytest.mark.parametrize("size", SIZES)
def test_every_kind_of_page_was_audited_enlarged_and_in_high_contrast(audit, size):
    """The subset is computed from what the runs visit: each kind of page seen at the usual size (every
    screen and state the sessions reach) must have been audited in every enlarged setting too."""
    usual = audit["kinds"].get(f"{size}/100", set())
    assert len(usual) > 40, sorted(usual)
    for setting in ENLARGED:
        missing = usual - audit["kinds"].get(f"{size}/{setting}", set())
        assert not missing, (setting, sorted(missing))


def test_every_kind_of_screen_was_seen(audit):
    names = {os.path.basename(p) for p in audit["shots"]}
    for screen in ("welcome", "confirm", "question_secure_document", "question_hosted", "checklist",
                   "capture_photo", "capture_accepted_photo", "capture_working", "stamp", "fingerprints",
                   "fingerprints_reading", "signature", "summary", "end", "receipt_failed", "inactivity",
                   "cancel_dialog"):
        for size in SIZES:
            assert any(n.startswith(size) and f"_{screen}_" in n for n in names), (screen, size)
    # Enlarged and in high contrast, each screen once (a photo page for one document stands for all).
    for screen in ("welcome", "confirm", "question", "checklist", "capture", "capture_accepted", "capture_working",
                   "stamp", "fingerprints", "fingerprints_reading", "signature", "summary", "receipt_failed",
                   "inactivity", "cancel_dialog", "busy_looking_up"):
        for size in SIZES:
            for setting in ENLARGED:
                assert any(n.startswith(size) and f"_{screen}_" in n and n.endswith(f"_{setting}.png")
                           for n in names), (screen, size, setting)
