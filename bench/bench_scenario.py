"""Wall time of a scripted session, end to end through the simulators, against the state machine alone.

The baseline replays the same citizen's events on the bare session (no
camera, decoder, sensor, sealing or printer), so the ratio shows what the
devices and the queue cost.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.config import load_config, simulated  # noqa: E402
from kiosk.scenario import load_scenario, run_scenario  # noqa: E402

SCENARIO = Path(__file__).resolve().parents[1] / "examples" / "scenarios" / "adult-loss-cni.json"


def bare_session_ms() -> float:
    from datetime import datetime

    import numpy as np

    from titres.predemande import PreDemande
    from kiosk.core.quality import assess
    from kiosk.core.readings import FingerReading
    from kiosk.core.session import Session, SessionSettings
    from kiosk.sync.directory import SimDirectory

    pd: PreDemande = SimDirectory(Path("/nonexistent")).fetch("B2C3D4E5F6")
    good = assess(np.tile((np.indices((480, 640)).sum(0) % 16 * 16).astype(np.uint8)[..., None], (1, 1, 3)))
    t0 = time.perf_counter()
    s = Session(SessionSettings(), time.monotonic, lambda: datetime.fromisoformat("2026-11-22T10:00:00+01:00"))
    s.start()
    s.lookup_finished(pd) if s.qr_decoded(pd.number) else None
    s.confirm()
    s.answer("secure_document", "none")
    s.next_question()
    s.answer("birthplace_dematerialised", False)
    s.next_question()
    s.begin_capture()
    while s.step.value == "capture":
        s.document_captured(b"jpeg", good)
        s.document_kept()
    s.stamp_entered("1234567890123456")
    while s.step.value == "fingerprints":
        s.finger_read(FingerReading(ok=True, image=b"png", quality=80))
    s.signature_done(b"png", 2)
    s.set_consent(True)
    s.submit()
    s.submitted("K01-00001-A")
    s.printed()
    return (time.perf_counter() - t0) * 1000


def run(repeat: int = 5) -> dict:
    scenario = load_scenario(SCENARIO)
    walls = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            cfg = simulated(load_config(env={})).with_overrides(data_dir=Path(tmp) / "kiosk")
            t0 = time.perf_counter()
            result = run_scenario(scenario, cfg)
            walls.append((time.perf_counter() - t0) * 1000)
            assert result["ok"], result["failures"]
    bare = statistics.median(bare_session_ms() for _ in range(repeat))
    full = statistics.median(walls)
    return {"scenario": scenario["name"], "full_median_ms": round(full, 1), "bare_session_median_ms": round(bare, 2),
            "ratio_full_over_bare": round(full / bare, 1)}


if __name__ == "__main__":
    res = run()
    print(f"scripted session {res['scenario']}: {res['full_median_ms']} ms end to end "
          f"(bare state machine {res['bare_session_median_ms']} ms, ratio {res['ratio_full_over_bare']})")
    print(json.dumps(res))
