"""Frame to decoded number: our pipeline against plain pyzbar, on camera-like frames made here.

The frames cover what a kiosk camera sees: codes from 70 to 300 px, turned,
blurred, noisy, low contrast (a phone screen), frames with no code, and codes
that are not pré-demandes. Prints the share decoded right, false accepts,
and median / 95th percentile milliseconds per frame for both.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.config import HalConfig  # noqa: E402
from kiosk.hal.pyzbar_scanner import PyzbarScanner  # noqa: E402
from kiosk.hal.sim.scenes import empty_frame, qr_frame  # noqa: E402
from kiosk.predemande import NumberFormat  # noqa: E402
from kiosk.scanning import decode_number  # noqa: E402


def frames(seed: int = 7):
    rng = np.random.default_rng(seed)
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    out = []
    for i in range(160):
        number = "".join(rng.choice(list(alphabet), 10))
        if not any(c.isdigit() for c in number):
            number = number[:-1] + "7"
        params = dict(
            code_px=int(rng.integers(70, 301)), angle_deg=float(rng.uniform(-35, 35)),
            blur=float(rng.choice([0, 0, 0.8, 1.5, 2.2])), noise=float(rng.uniform(2, 12)),
            brightness=float(rng.uniform(0.6, 1.25)), contrast=float(rng.choice([1.0, 1.0, 0.6, 0.35])),
        )
        payload = number if i % 3 else f"https://predemande.example/recap?numero={number}&v=2"
        out.append((qr_frame(payload, rng=rng, **params), number, params))
    for _ in range(20):
        out.append((empty_frame(rng=rng), None, {"empty": True}))
    for i in range(20):
        out.append((qr_frame(f"https://www.example.org/menu-{i}", code_px=180, rng=rng), None, {"foreign": True}))
    return out


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def run() -> dict:
    fmt = NumberFormat.from_pattern("[A-Z0-9]{10}")
    scanner = PyzbarScanner(HalConfig(), Path("/tmp")).open()
    data = frames()
    results = {}
    for name, fn in (
        ("pyzbar_plain", lambda f: _plain(scanner, fmt, f)),
        ("pipeline", lambda f: decode_number(f, scanner, fmt).number),
    ):
        right = false_accept = 0
        times = []
        for frame, expected, _ in data:
            t0 = time.perf_counter()
            got = fn(frame)
            times.append((time.perf_counter() - t0) * 1000)
            if got is not None and got == expected:
                right += 1
            elif got is not None:
                false_accept += 1
        with_code = sum(1 for _, e, _ in data if e is not None)
        results[name] = {
            "decoded_right": right, "frames_with_code": with_code, "share_right": round(right / with_code, 3),
            "false_accepts": false_accept, "median_ms": round(statistics.median(times), 2),
            "p95_ms": round(percentile(times, 0.95), 2),
        }
    scanner.close()
    results["p95_ratio_pipeline_over_plain"] = round(results["pipeline"]["p95_ms"] / results["pyzbar_plain"]["p95_ms"], 2)
    return results


def _plain(scanner, fmt, frame):
    for payload in scanner.decode(frame):
        try:
            return fmt.number_from_qr(payload)
        except Exception:
            return None
    return None


if __name__ == "__main__":
    res = run()
    print("frame → number, 640x480, %d frames" % (res["pipeline"]["frames_with_code"] + 40))
    for name in ("pyzbar_plain", "pipeline"):
        r = res[name]
        print(f"  {name:<13} right {r['decoded_right']}/{r['frames_with_code']} ({r['share_right']:.1%}), "
              f"false accepts {r['false_accepts']}, median {r['median_ms']} ms, p95 {r['p95_ms']} ms")
    print(f"  p95 ratio pipeline/plain: {res['p95_ratio_pipeline_over_plain']}")
    print(json.dumps(res))
