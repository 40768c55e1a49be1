"""Shared helpers for the appliance tests: paths in the repository, and how to run its scripts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGE_BUILD = ROOT / "image-build"
FILES = IMAGE_BUILD / "files"
KIOSK_UPDATE = FILES / "kiosk-update"
KIOSK_DATAFS = FILES / "kiosk-datafs"
INSTALL_KIOSK = IMAGE_BUILD / "install-kiosk.sh"
BUILD_SH = IMAGE_BUILD / "build.sh"
STAGE = IMAGE_BUILD / "stage-kiosk"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment a script gets on a kiosk: no developer pip settings, no kiosk overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "KIOSK_"))}
    env.update(extra)
    return env


def run(cmd, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    return subprocess.run([str(c) for c in cmd], **kw)
