"""The real commands, as a technician runs them: a ``kiosk-central serve`` process and ``kiosk`` calls.

Shared by the end-to-end tests and the whole-chain browser test.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SCENARIOS = ROOT / "examples" / "scenarios"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*cmd, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([str(BIN / cmd[0]), *map(str, cmd[1:])], capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"{cmd} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def get_json(url: str):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@contextmanager
def central_service(workdir: Path, demo: bool = True, env: dict[str, str] | None = None
                    ) -> Iterator[tuple[str, Path]]:
    """``kiosk-central serve`` on a free port with its own data directory (and ``env`` added to its
    environment); yields (url, data dir)."""
    data, port = workdir / "central", free_port()
    env = {**os.environ, "KIOSK_CENTRAL_SECURE_COOKIES": "0", **(env or {})}
    env.pop("KIOSK_CENTRAL_DB", None)
    log_path = workdir / "central.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(BIN / "kiosk-central"), "serve", *(["--demo"] if demo else []), "--port", str(port),
                                 "--data-dir", str(data)], stdout=log, stderr=subprocess.STDOUT, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(url + "/healthz", timeout=1)
                    break
                except OSError:
                    if proc.poll() is not None:
                        raise AssertionError(log_path.read_text())
                    time.sleep(0.1)
            yield url, data
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def enrolled_kiosk(url: str, data: Path, kiosk: Path, site: str = "demo-site") -> dict:
    token = run("kiosk-central", "token", "create", "--site", site, "--data-dir", data).stdout.strip()
    return json.loads(run("kiosk", "--data-dir", kiosk, "provision", "--central", url, "--token", token).stdout)


def capture(kiosk: Path, scenario: str) -> str:
    """Replay an example session on the simulated kiosk; return the dossier number it printed."""
    result = json.loads(run("kiosk", "--data-dir", kiosk, "scenario", SCENARIOS / f"{scenario}.json", "--simulate").stdout)
    assert result["ok"], result["failures"]
    return result["dossier_number"]
