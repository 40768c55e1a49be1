"""The self-test: open each device with its configured backend and exercise it.

A device whose backend cannot even load is reported as failed (with the
reason), not skipped: that is exactly what a technician needs to see.
"""

from __future__ import annotations

from kiosk.config import KioskConfig
from kiosk.errors import KioskError
from kiosk.hal import BACKENDS, load_backend, resolve


def run_selftest(config: KioskConfig) -> list[dict]:
    results = []
    for device in BACKENDS:
        name = config.hal.backend_for(device)
        try:
            backend = resolve(device, name)
            dev = load_backend(device, backend)(config.hal, config.sim_dir)
        except KioskError as exc:
            results.append({"device": device, "backend": name, "ok": False, "detail": exc.detail})
            continue
        try:
            dev.open()
        except KioskError as exc:
            results.append({"device": device, "backend": backend, "ok": False, "detail": f"cannot open: {exc.detail}"})
            continue
        try:
            results.append(dev.self_test().as_dict())
        finally:
            dev.close()
    return results
