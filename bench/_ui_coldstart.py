"""Child process of bench_ui.py: start the kiosk app and report when the Welcome screen is on screen.

Arguments: the data directory, then the parent's spawn time. Prints ``welcome <seconds since the spawn>`` once the Welcome
screen has been drawn (two frames after it became current), then quits.
"""

import os
import sys
import time
from pathlib import Path

DATA = Path(sys.argv[1])
SPAWNED_AT = float(sys.argv[-1])
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_FILELOG", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.config import load_config, simulated  # noqa: E402
from kiosk.runtime import build_kiosk  # noqa: E402

cfg = simulated(load_config(env={})).with_overrides(data_dir=DATA)
kiosk = build_kiosk(cfg)

from kiosk.ui.app import KioskApp, configure_kivy  # noqa: E402

configure_kivy(False, (800, 480))
from kivy.clock import Clock  # noqa: E402
from kivy.core.window import Window  # noqa: E402

app = KioskApp(kiosk)
seen = {"frames": 0}


def on_flip(*_):
    screen = app.root.ids.sm.current if app.root is not None else None
    if screen == "welcome":
        seen["frames"] += 1
        if seen["frames"] == 2:
            print(f"welcome {time.time() - SPAWNED_AT:.3f}", flush=True)
            rss = next(line for line in open("/proc/self/status") if line.startswith("VmRSS")).split()[1]
            print(f"rss_mb {int(rss) / 1024:.1f}", flush=True)
            Clock.schedule_once(lambda dt: app.stop(), 0)


Window.bind(on_flip=on_flip)
app.run()
kiosk.close()
