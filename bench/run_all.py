"""Run every benchmark and print its figures; the UI one needs a display (xvfb-run -a, or SDL offscreen)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    summary = {}
    # The central service's and the sync benchmarks run in their quick mode here (each about a minute); full runs by hand.
    for name, args in (("bench_decode", []), ("bench_scenario", []), ("bench_ui", []),
                       ("bench_ingest", ["--quick"]), ("bench_console", ["--quick"]),
                       ("bench_sync", ["--quick"]), ("bench_fingerprint", ["--quick"]), ("bench_pin", []),
                       ("bench_speech", []), ("bench_imports", []),
                       ("bench_review", ["--dossiers", "3"])):
        print(f"== {name} {' '.join(args)}".rstrip(), flush=True)
        proc = subprocess.run([sys.executable, str(HERE / f"{name}.py"), *args], capture_output=True, text=True)
        lines = proc.stdout.strip().splitlines()
        print("\n".join(lines[:-1]) if lines else proc.stderr[-2000:])
        try:
            summary[name] = json.loads(lines[-1])
        except (IndexError, ValueError):
            summary[name] = {"error": proc.stderr.strip().splitlines()[-1:] or "no output"}
    print(json.dumps(summary))
