"""Running the real app in its own process, once per scenario, and reading back what it saw.

Kivy keeps global state (its window, clock, configuration, logging): each
run is a subprocess (``drive_flow.py``), so nothing of it leaks into the
other tests, and its environment (``KIVY_NO_ARGS``, ``KIVY_HOME``,
``SDL_VIDEODRIVER=offscreen`` unless a ``DISPLAY`` is set) is set there
before Kivy is imported. Screenshots land in ``artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DRIVER = Path(__file__).with_name("drive_flow.py")
SHOTS = ROOT / "artifacts" / "screenshots"
RESULTS = ROOT / "artifacts" / "ui"
#: One scenario takes seconds alone; the screen audit runs beside the UI tests (tests.kiosk.ui.audit_run), and a
#: loaded machine is slower still.
RUN_TIMEOUT_S = 600


def run_scenario(scenario: str, size: str = "800x480", *extra: str, prefix: str | None = None) -> dict:
    prefix = prefix or f"{size}_{scenario}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob(f"{prefix}_*.png"):
        old.unlink()
    result_file = RESULTS / f"{prefix}.json"
    result_file.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    cmd = [sys.executable, str(DRIVER), scenario, "--size", size, "--shots", str(SHOTS), "--prefix", prefix,
           "--result", str(result_file), *extra]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{prefix}: the app did not finish within {RUN_TIMEOUT_S} s\n{(exc.stderr or '')[-3000:]}")
    if not result_file.exists():
        pytest.fail(f"{prefix}: no result (exit {proc.returncode})\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    result = json.loads(result_file.read_text(encoding="utf-8"))
    result["stderr_tail"] = proc.stderr[-3000:]
    return result


class Runs:
    """Each scenario runs once per test session; several tests read its result."""

    def __init__(self) -> None:
        self._cache: dict[tuple, dict] = {}

    def get(self, scenario: str, size: str = "800x480", *extra: str) -> dict:
        key = (scenario, size, extra)
        if key not in self._cache:
            self._cache[key] = run_scenario(scenario, size, *extra)
        return self._cache[key]


@pytest.fixture(scope="session")
def ui_runs() -> Runs:
    return Runs()


def assert_ok(result: dict) -> None:
    assert result["ok"], f"{result.get('scenario')}: {result.get('error')}\n--- stderr ---\n{result.get('stderr_tail', '')}"


def pytest_collection_finish(session) -> None:
    """Start the screen audit now if the session will run it, so that it runs beside the other tests."""
    from tests.kiosk.ui import audit_run

    if audit_run.wanted(session.items) and not session.config.option.collectonly:
        audit_run.started(session.config)


def pytest_sessionfinish(session) -> None:
    from tests.kiosk.ui import audit_run

    run = session.config.stash.get(audit_run.STASH, None)
    if run is not None:
        run.stop()
