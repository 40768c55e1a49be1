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

    from _session import consented_session, session_inputs

    pd, good = session_inputs()
    t0 = time.perf_counter()
    s = consented_session(pd, good, lambda: datetime.fromisoformat("2026-11-22T10:00:00+01:00"))
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
