"""The kiosk app itself: cold start to the Welcome screen, memory after a whole session, UI frame gaps.

Cold start is measured from the moment the process is spawned to the second
frame drawn with the Welcome screen, with a baseline measured in the same
run: a bare Python interpreter that imports Kivy and shows an empty window
(what any Kivy app pays). Memory and frame gaps come from the UI driver
(``tests/kiosk/ui/drive_flow.py``), which touches its way through a whole online
session and reports the process's resident memory at the end and the
longest gaps between frames.

Needs a display: run under ``xvfb-run -a`` (scripts/test does) or with
``SDL_VIDEODRIVER=offscreen``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BARE = """
import os, sys, time
os.environ.setdefault('KIVY_NO_ARGS', '1')
from kivy.app import App
from kivy.uix.widget import Widget
from kivy.clock import Clock
from kivy.core.window import Window
n = {'f': 0}
def flip(*_):
    n['f'] += 1
    if n['f'] == 2:
        print('welcome %.3f' % (time.time() - float(sys.argv[-1])), flush=True)
        rss = [l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1]
        print('rss_mb %.1f' % (int(rss) / 1024), flush=True)
        Clock.schedule_once(lambda dt: App.get_running_app().stop(), 0)
Window.bind(on_flip=flip)
class A(App):
    def build(self):
        return Widget()
A().run()
"""


def _env(tmp: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.update(KIVY_NO_ARGS="1", KIVY_NO_FILELOG="1", KIVY_NO_CONSOLELOG="1", KIVY_HOME=str(Path(tmp) / "kivy"))
    if not env.get("DISPLAY"):
        env.setdefault("SDL_VIDEODRIVER", "offscreen")
    return env


def _time(cmd: list[str], env: dict) -> tuple[float, float]:
    """Seconds from spawn to the first drawn frame, and resident MB then."""
    t0 = time.time()
    out = subprocess.run([*cmd, f"{t0:.6f}"], capture_output=True, text=True, env=env, timeout=120)
    figures = dict(line.split() for line in out.stdout.splitlines() if line.startswith(("welcome ", "rss_mb ")))
    if "welcome" not in figures:
        raise RuntimeError(f"no welcome frame: {out.stderr[-2000:]}")
    return float(figures["welcome"]), float(figures.get("rss_mb", "nan"))


def cold_start(repeat: int = 3) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = _env(tmp)
        _time([sys.executable, str(ROOT / "bench" / "_ui_coldstart.py"), str(Path(tmp) / "warm")], env)  # fill caches
        app = [_time([sys.executable, str(ROOT / "bench" / "_ui_coldstart.py"), str(Path(tmp) / f"d{i}")], env)
               for i in range(repeat)]
        bare_script = Path(tmp) / "bare_kivy.py"  # a file: Kivy's App wants its class's source file
        bare_script.write_text(BARE)
        bare = [_time([sys.executable, str(bare_script)], env) for _ in range(repeat)]
    a, b = statistics.median(t for t, _ in app), statistics.median(t for t, _ in bare)
    return {"cold_start_s": round(a, 2), "bare_kivy_window_s": round(b, 2), "ratio": round(a / b, 2),
            "rss_at_welcome_mb": statistics.median(m for _, m in app),
            "bare_kivy_window_rss_mb": statistics.median(m for _, m in bare)}


def session() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        result_file = Path(tmp) / "result.json"
        cmd = [sys.executable, str(ROOT / "tests" / "kiosk" / "ui" / "drive_flow.py"), "online", "--size", "800x480",
               "--result", str(result_file)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(tmp), timeout=600, cwd=ROOT)
        if not result_file.exists():
            raise RuntimeError(proc.stderr[-3000:])
        return json.loads(result_file.read_text())


if __name__ == "__main__":
    start = cold_start()
    print(f"cold start to Welcome: {start['cold_start_s']} s (bare Kivy window {start['bare_kivy_window_s']} s, "
          f"ratio {start['ratio']}); resident at Welcome {start['rss_at_welcome_mb']} MB "
          f"(bare Kivy window {start['bare_kivy_window_rss_mb']} MB)")
    flow = session()
    print(f"whole online session through the UI: ok={flow.get('ok')} "
          f"rss_after_session={flow.get('rss_mb')} MB, peak_rss={flow.get('peak_rss_mb')} MB, "
          f"longest frame gap={flow.get('max_frame_gap_ms')} ms; "
          f"app's own share after the session: {round(flow.get('rss_mb', 0) - start['bare_kivy_window_rss_mb'], 1)} MB")
    print(json.dumps({"cold_start": start, "session": {k: flow.get(k) for k in
                      ("ok", "rss_mb", "peak_rss_mb", "max_frame_gap_ms", "frame_gaps_over_100ms")}}))
