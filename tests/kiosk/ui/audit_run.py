"""The screen audit's processes, started as soon as the session knows it will need them.

The audit (``drive_scenarios.py``, two shares side by side) is the suite's
longest part, and it waits for nothing else; the rest of the suite mostly
keeps one core busy. Started when collection ends
(``pytest_collection_finish`` in this folder's conftest), the audit runs
beside the other tests instead of after them, and ``test_screens.py``
reads its results when it gets there. Run alone, ``test_screens.py``
starts it the same way. The two shares and everything beside them share
two cores, so the deadline is sized for a loaded machine; the app's clocks
stand still while a screen is audited (``Clocks.freeze``), so a slow audit
lets no deadline of the kiosk pass.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.kiosk.ui.conftest import RESULTS, ROOT, SHOTS

DRIVER = ROOT / "tests" / "kiosk" / "ui" / "drive_scenarios.py"
SIZES = ("800x480", "1280x800")
SHARDS = 2  # the machine's two cores
#: A share takes about nine minutes alone on an idle 2-core machine; beside the rest of the suite, or on a
#: loaded machine, several times that.
RUN_TIMEOUT_S = 3600
#: Where the run is kept for the session (``config.stash``), so the conftest and the tests share one.
STASH = pytest.StashKey["AuditRun"]()


class AuditRun:
    """The audit's processes: started at once, read (waited for) once."""

    def __init__(self) -> None:
        self.shots = SHOTS / "audit"
        self.shots.mkdir(parents=True, exist_ok=True)
        RESULTS.mkdir(parents=True, exist_ok=True)
        for old in self.shots.glob("*.png"):
            old.unlink()
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
        self.claims = Path(tempfile.mkdtemp(prefix="kiosk-audit-claims-"))  # which share audits a kind enlarged
        self.started = time.monotonic()
        self.runs = []
        for k in range(1, SHARDS + 1):
            result = RESULTS / f"audit-{k}.json"
            result.unlink(missing_ok=True)
            log_path = RESULTS / f"audit-{k}.log"
            log = open(log_path, "w")
            proc = subprocess.Popen([sys.executable, str(DRIVER), "--sizes", ",".join(SIZES), "--shard",
                                     f"{k}/{SHARDS}", "--legibility", "--claims", str(self.claims),
                                     "--shots", str(self.shots), "--result", str(result)],
                                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            self.runs.append((proc, result, log, log_path))
        self._merged: dict | None = None

    def merged(self) -> dict:
        """Both shares' results, merged (waiting for them): sessions, problems, screens audited per size and
        language, kinds audited per setting, shots. A share that fails, hangs or writes no result fails the
        test that asked, with its log's end."""
        if self._merged is not None:
            return self._merged
        merged: dict = {"sessions": [], "problems": [], "shots": [], "audited_at": Counter(), "errors": [],
                        "kinds": {}}
        try:
            for proc, result, log, log_path in self.runs:
                left = RUN_TIMEOUT_S - (time.monotonic() - self.started)
                try:
                    proc.wait(timeout=max(left, 1.0))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    pytest.fail(f"{result.name}: the audit did not finish within {RUN_TIMEOUT_S} s\n"
                                f"{log_path.read_text(errors='replace')[-3000:]}")
                log.close()
                tail = log_path.read_text(errors="replace")[-3000:]
                if not result.exists():
                    pytest.fail(f"{result.name}: no result (exit {proc.returncode})\n{tail}")
                r = json.loads(result.read_text(encoding="utf-8"))
                if r.get("error"):
                    merged["errors"].append(f"{r['error']}\n{tail}")
                    continue
                for key in ("sessions", "problems", "shots"):
                    merged[key] += r[key]
                merged["audited_at"].update(r["audited_at"])
                for where, kinds in r["kinds"].items():
                    merged["kinds"].setdefault(where, set()).update(kinds)
        finally:
            self.stop()
        self._merged = merged
        return merged

    def stop(self) -> None:
        """No process left behind, whatever happened to the session."""
        for proc, _, log, _ in self.runs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
        shutil.rmtree(self.claims, ignore_errors=True)


def wanted(items) -> bool:
    return any(item.path.name == "test_screens.py" for item in items)


def started(config) -> AuditRun:
    """The session's run, started now if it was not yet."""
    run = config.stash.get(STASH, None)
    if run is None:
        run = config.stash[STASH] = AuditRun()
    return run
