"""Fingerprint image upload against the UART line rate, at 57600 and 115200 baud.

The real backend (``R503Sensor``, adafruit_fingerprint, pyserial) reads
from the sensor emulator with ``pace=True``: replies leave no faster than
the line carries them (10 bits per byte). The baseline, computed in the
same run, is the time the upload's bytes need on the line alone (data
packets with their 11 bytes of framing, plus the acknowledgement); the
ratio measured / line says how much our side adds. A whole attempt
(GenImg, upload, the quality analysis, Img2Tz, UpChar) is timed as well.

Last line: JSON of the figures. ``--quick``: the R503 only, one run each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.config import HalConfig  # noqa: E402
from kiosk.hal.r503_fingerprint import R503Sensor  # noqa: E402
from kiosk.hal.r503_protocol import PACKET_SIZES  # noqa: E402
from kiosk.hal.sim.r503_emulator import SensorEmulator, image_bytes  # noqa: E402

FRAMING = 11  # EF01, address (4), type, length (2), checksum (2)
ACK_BYTES = 12


def line_seconds(data_bytes: int, packet_size: int, baud: int) -> float:
    packets = -(-data_bytes // packet_size)
    return (data_bytes + packets * FRAMING + ACK_BYTES) * 10 / baud


def measure(model: str, baud: int, runs: int) -> dict:
    hal = replace(HalConfig(), serial_baud=baud, fingerprint_fast_baud=0)
    uploads, attempts = [], []
    with SensorEmulator(model=model, baud=baud, pace=True) as emu:
        with R503Sensor(replace(hal, serial_port=emu.port)) as sensor:
            for _ in range(runs):
                sensor._command(lambda f: f.get_image(), "bench")  # an image in the sensor's buffer
                start = time.perf_counter()
                sensor._upload_image()
                uploads.append(time.perf_counter() - start)
                start = time.perf_counter()
                reading = sensor.read()
                attempts.append(time.perf_counter() - start)
                assert reading.ok, reading
    data = image_bytes(model)
    line = line_seconds(data, PACKET_SIZES[emu.packet_size_code], baud)
    upload = statistics.median(uploads)
    return {"model": model, "baud": baud, "image_bytes": data, "upload_s": round(upload, 3),
            "line_s": round(line, 3), "ratio_to_line": round(upload / line, 3),
            "attempt_s": round(statistics.median(attempts), 3), "runs": runs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    models = ("r503",) if args.quick else ("r503", "r307")
    runs = 1 if args.quick else args.runs
    rows = [measure(model, baud, runs) for model in models for baud in (57600, 115200)]
    print(f"{'model':<6} {'baud':>7} {'bytes':>7} {'upload s':>9} {'line s':>7} {'ratio':>6} {'attempt s':>10}")
    for r in rows:
        print(f"{r['model']:<6} {r['baud']:>7} {r['image_bytes']:>7} {r['upload_s']:>9.3f} {r['line_s']:>7.3f} "
              f"{r['ratio_to_line']:>6.3f} {r['attempt_s']:>10.3f}")
    speedup = {m: round(next(r["upload_s"] for r in rows if r["model"] == m and r["baud"] == 57600)
                        / next(r["upload_s"] for r in rows if r["model"] == m and r["baud"] == 115200), 2)
               for m in models}
    print("upload at 57600 / at 115200:", speedup)
    print(json.dumps({"rows": rows, "speedup_115200": speedup}))


if __name__ == "__main__":
    main()
