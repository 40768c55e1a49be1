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


SUMMARY_FILE = "selftest.json"


def save_summary(config: KioskConfig, results: list[dict], now: float | None = None) -> dict:
    """Keep the last result where the sync worker finds it for its heartbeat (the fleet view)."""
    import json
    import time

    from kiosk.sync.durable import write_durably

    summary = {"ok": all(r["ok"] for r in results), "at": time.time() if now is None else now,
               "devices": {r["device"]: ("ok" if r["ok"] else r["detail"]) for r in results}}
    config.data_dir.mkdir(parents=True, exist_ok=True)
    write_durably(config.data_dir / SUMMARY_FILE, json.dumps(summary, ensure_ascii=False).encode("utf-8"))
    return summary


def load_summary(config: KioskConfig) -> dict | None:
    import json

    try:
        return json.loads((config.data_dir / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
