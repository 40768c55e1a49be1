"""What importing each layer costs a fresh interpreter, and what it drags in, against a bare interpreter.

Start-up is paid by every process the kiosk runs (the UI, the sync worker,
each ``kiosk`` command a technician types) and by the service's workers.
Each figure is the median wall time of a fresh interpreter that runs
``import MODULE`` and exits, against the median of a bare interpreter
(``pass``) started the same way in the same run (the baseline), as a ratio
and as the milliseconds the import adds; beside it, which of numpy, PIL,
Kivy, OpenCV, FastAPI and SQLAlchemy the import loaded (the core must load
none of them, ``docs/architecture.md``). ``--tree`` measures another
checkout (an older commit's module names) with the same interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = ("titres.dossier", "titres.rules", "kiosk.core.session", "kiosk.core.narration", "kiosk.sync.outbox",
           "kiosk.runtime", "central.app")
HEAVY = ("numpy", "PIL", "kivy", "cv2", "fastapi", "sqlalchemy")
PROBE = "import json, sys; {stmt}; print(json.dumps([m for m in {heavy!r} if m in sys.modules]))"


def sample(stmt: str, tree: Path) -> tuple[float, list[str]]:
    """Wall milliseconds of a fresh interpreter running ``stmt``, and the heavy modules it loaded."""
    env = {**os.environ, "PYTHONPATH": str(tree), "KIVY_NO_ARGS": "1", "KIVY_NO_FILELOG": "1",
           "KIVY_NO_CONSOLELOG": "1"}
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PROBE.format(stmt=stmt, heavy=HEAVY)], cwd=tree, env=env,
                         capture_output=True, text=True, check=True).stdout
    ms = (time.perf_counter() - t0) * 1000
    return ms, json.loads(out.strip().splitlines()[-1])


def measure(runs: int, modules=MODULES, tree: Path = ROOT) -> dict:
    baseline = statistics.median(sample("pass", tree)[0] for _ in range(runs))
    figures = {"baseline_ms": round(baseline, 1), "modules": {}}
    for module in modules:
        times, heavy = [], []
        for _ in range(runs):
            ms, heavy = sample(f"import {module}", tree)
            times.append(ms)
        median = statistics.median(times)
        figures["modules"][module] = {"ms": round(median, 1), "added_ms": round(median - baseline, 1),
                                      "ratio": round(median / baseline, 2), "loads": heavy}
    return figures


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=9)
    p.add_argument("--tree", type=Path, default=ROOT, help="the checkout to import from")
    p.add_argument("modules", nargs="*", default=list(MODULES))
    args = p.parse_args()
    started = time.perf_counter()
    figures = measure(args.runs, args.modules, args.tree.resolve())
    print(f"bare interpreter (baseline): {figures['baseline_ms']} ms")
    for module, f in figures["modules"].items():
        print(f"import {module:24} {f['ms']:7.1f} ms  x{f['ratio']:<5} (+{f['added_ms']} ms)  "
              f"loads: {', '.join(f['loads']) or '-'}")
    print(f"({args.runs} fresh interpreters each, {time.perf_counter() - started:.0f} s)")
    print(json.dumps(figures))
