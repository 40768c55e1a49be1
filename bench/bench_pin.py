"""The technician PIN: what one check costs, and what that means for guessing it.

A 6-digit PIN is a million possibilities. On the kiosk, guessing is slowed
by the lockout (5 wrong PINs, then 5 minutes); on a copied card, only by
the hash. This times ``PinGuard.check`` (scrypt, read from the card as the
app does it) against a baseline measured in the same run, a plain SHA-256
of the PIN (what a naive store would cost an attacker), and derives:

* the time to try every 6-digit PIN on a copied card, one core, with each;
* the time to try them all on the kiosk's screen, through the lockout.

Last line: JSON of the figures.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.config import MaintenanceConfig  # noqa: E402
from kiosk.technician.pin import PinGuard  # noqa: E402

SPACE = 10 ** 6  # every 6-digit PIN
RUNS = 20


def _timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        guard = PinGuard(Path(tmp) / "pin.json")
        guard.set("975310")
        scrypt_s = _timed(lambda: guard.check("975310"), RUNS)
    sha_s = _timed(lambda: hashlib.sha256(b"975310").digest(), 10_000)
    check = statistics.median(scrypt_s)
    sha = statistics.median(sha_s)
    m = MaintenanceConfig()
    on_screen_s = SPACE / m.max_pin_failures * m.lockout_s  # the lockout alone; typing time not counted
    figures = {
        "check_ms_p50": round(check * 1000, 1), "check_ms_max": round(max(scrypt_s) * 1000, 1),
        "sha256_us_p50": round(sha * 1e6, 2), "ratio_to_sha256": round(check / sha),
        "copied_card_all_pins_h_scrypt": round(SPACE * check / 3600, 1),
        "copied_card_all_pins_s_sha256": round(SPACE * sha, 1),
        "on_screen_all_pins_days": round(on_screen_s / 86400),
    }
    print(f"PinGuard.check (scrypt n=2^14, from the card): p50 {figures['check_ms_p50']} ms, "
          f"max {figures['check_ms_max']} ms over {RUNS} checks")
    print(f"baseline, SHA-256 of the PIN: p50 {figures['sha256_us_p50']} µs; scrypt is {figures['ratio_to_sha256']}x")
    print(f"every 6-digit PIN on a copied card, one core: {figures['copied_card_all_pins_h_scrypt']} h "
          f"(SHA-256: {figures['copied_card_all_pins_s_sha256']} s)")
    print(f"every 6-digit PIN on the screen, through the lockout ({m.max_pin_failures} tries / "
          f"{m.lockout_s:g} s): {figures['on_screen_all_pins_days']} days")
    return figures


if __name__ == "__main__":
    print(json.dumps(main()))
