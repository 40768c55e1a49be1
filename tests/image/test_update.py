"""kiosk-update: a release installed beside the running one, an atomic switch, a health check that
rolls back by itself, and no half-installed kiosk whatever moment the update is killed at.

The tests run the real script against a temporary tree. Restarting the services and checking their
health are injected commands (``KIOSK_UPDATE_RESTART``, ``KIOSK_UPDATE_HEALTHCHECK``) that record
which release was current when they ran; a release is "unhealthy" when its version is listed in
``bad-versions``. Most releases come from a stand-in installer (a directory with a ``kiosk``
that prints its version); one test builds a real virtual environment offline from a wheel.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import stat
import subprocess
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import INSTALL_KIOSK, KIOSK_UPDATE, clean_env, run

FAKE_INSTALLER = """#!/bin/bash
# Stand-in for install-kiosk.sh --release-only: the same arguments, a release without Python.
set -euo pipefail
while [ $# -gt 1 ]; do
    case "$1" in --releases-dir) dir=$2; shift 2 ;; --find-links|--constraints) shift 2 ;; *) shift ;; esac
done
version=$(basename "$1" | cut -d- -f2)
mkdir -p "$dir/$version/venv/bin"
if [ -e "$LAB/hang-install" ]; then touch "$LAB/reached-install"; sleep 120; fi
reported=$(cat "$LAB/reports-$version" 2>/dev/null || echo "$version")
printf '#!/bin/sh\\necho %s\\n' "$reported" > "$dir/$version/venv/bin/kiosk"
chmod +x "$dir/$version/venv/bin/kiosk"
touch "$dir/$version/.complete"
echo "install $version" >> "$LAB/log"
"""

RESTART = """#!/bin/bash
set -euo pipefail
echo "restart $(basename "$(readlink -f "$KIOSK_UPDATE_ROOT/current")")" >> "$LAB/log"
if [ -e "$LAB/hang-restart" ]; then touch "$LAB/reached-restart"; sleep 120; fi
"""

HEALTH = """#!/bin/bash
set -euo pipefail
version=$(basename "$(readlink -f "$KIOSK_UPDATE_ROOT/current")")
if [ -e "$LAB/hang-health" ]; then touch "$LAB/reached-health"; sleep 120; fi
if grep -qx "$version" "$LAB/bad-versions" 2>/dev/null; then echo "health $version bad" >> "$LAB/log"; exit 1; fi
echo "health $version ok" >> "$LAB/log"
"""


def _script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@dataclass
class Kiosk:
    """A kiosk's update tree: /data (root), the factory release in the read-only image, and the hooks."""

    lab: Path
    root: Path
    factory: Path
    env: dict

    def update(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return run([KIOSK_UPDATE, *args], env=self.env, timeout=timeout)

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([str(KIOSK_UPDATE), *args], env=self.env, start_new_session=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def bundle(self, version: str) -> Path:
        """An update bundle as build.sh makes one: the kiosk's wheel and the constraints."""
        path = self.lab / f"bundle-{version}"
        path.mkdir(exist_ok=True)
        (path / f"kiosque_titres-{version}-py3-none-any.whl").write_bytes(b"")
        (path / "constraints.txt").write_text("")
        return path

    def current(self) -> str:
        return Path(os.path.realpath(self.root / "current")).name

    def link(self, name: str) -> str | None:
        path = self.root / name
        return Path(os.path.realpath(path)).name if path.is_symlink() else None

    def log(self) -> list[str]:
        path = self.lab / "log"
        return path.read_text().splitlines() if path.exists() else []

    def mark_bad(self, version: str) -> None:
        with open(self.lab / "bad-versions", "a") as f:
            f.write(version + "\n")

    def reset_log(self) -> None:
        (self.lab / "log").unlink(missing_ok=True)


def _factory_release(path: Path, version: str) -> None:
    (path / "venv" / "bin").mkdir(parents=True)
    _script(path / "venv" / "bin" / "kiosk", f"#!/bin/sh\necho {version}\n")
    (path / ".complete").touch()


@pytest.fixture
def kiosk(tmp_path) -> Kiosk:
    lab = tmp_path / "lab"
    lab.mkdir()
    root = tmp_path / "data"
    root.mkdir()
    image = tmp_path / "opt-kiosk"
    _factory_release(image / "releases" / "1.0.0", "1.0.0")
    factory = image / "factory"
    factory.symlink_to("releases/1.0.0")
    env = clean_env(
        LAB=str(lab), KIOSK_UPDATE_ROOT=str(root), KIOSK_FACTORY=str(factory), KIOSK_USER="nobody-here",
        KIOSK_UPDATE_INSTALLER=str(_script(lab / "installer", FAKE_INSTALLER)),
        KIOSK_UPDATE_RESTART=str(_script(lab / "restart", RESTART)),
        KIOSK_UPDATE_HEALTHCHECK=str(_script(lab / "health", HEALTH)),
    )
    k = Kiosk(lab, root, factory, env)
    result = k.update("recover", "--no-restart")
    assert result.returncode == 0, result.stderr
    return k


def _kill_when_reached(proc: subprocess.Popen, marker: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        assert proc.poll() is None, f"kiosk-update ended before {marker.name}: {proc.communicate()}"
        assert time.monotonic() < deadline, f"kiosk-update never reached {marker.name}"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the update and whatever hook it was running
    proc.wait(10)


# --- the normal path -----------------------------------------------------------------------------------

def test_a_new_card_starts_on_the_factory_release_with_an_empty_data_directory(kiosk):
    assert kiosk.current() == "1.0.0"
    assert (kiosk.root / "kiosk").is_dir() and not any((kiosk.root / "kiosk").iterdir())
    assert kiosk.link("previous") is None and kiosk.link("pending") is None


def test_an_update_switches_current_after_a_health_check_and_keeps_the_old_release_as_previous(kiosk):
    result = kiosk.update("install", str(kiosk.bundle("1.1.0")))
    assert result.returncode == 0, result.stderr
    assert kiosk.current() == "1.1.0"
    assert kiosk.link("previous") == "1.0.0"
    assert kiosk.link("pending") is None
    assert kiosk.log() == ["install 1.1.0", "restart 1.1.0", "health 1.1.0 ok"]
    assert (kiosk.root / "releases" / "1.1.0" / ".complete").exists()
    assert Path(os.path.realpath(kiosk.root / "current" / "venv" / "bin" / "kiosk")).exists()


def test_an_unhealthy_release_is_rolled_back_by_itself(kiosk):
    kiosk.mark_bad("1.1.0")
    result = kiosk.update("install", str(kiosk.bundle("1.1.0")))
    assert result.returncode == 1
    assert "rolling back to 1.0.0" in result.stderr
    assert kiosk.current() == "1.0.0"
    assert kiosk.link("pending") is None and kiosk.link("previous") is None
    assert kiosk.log() == ["install 1.1.0", "restart 1.1.0", "health 1.1.0 bad", "restart 1.0.0", "health 1.0.0 ok"]
    assert (kiosk.root / "releases" / "1.1.0" / ".failed").exists()
    assert "failed its health check" in kiosk.update("status").stdout


def test_when_the_old_release_fails_too_the_exit_status_says_a_technician_is_needed(kiosk):
    kiosk.mark_bad("1.1.0")
    kiosk.mark_bad("1.0.0")
    result = kiosk.update("install", str(kiosk.bundle("1.1.0")))
    assert result.returncode == 3
    assert kiosk.current() == "1.0.0"


def test_rollback_returns_to_the_previous_release_and_a_second_rollback_undoes_it(kiosk):
    assert kiosk.update("install", str(kiosk.bundle("1.1.0"))).returncode == 0
    kiosk.reset_log()
    result = kiosk.update("rollback")
    assert result.returncode == 0, result.stderr
    assert (kiosk.current(), kiosk.link("previous")) == ("1.0.0", "1.1.0")
    assert kiosk.log() == ["restart 1.0.0", "health 1.0.0 ok"]
    assert kiosk.update("rollback").returncode == 0
    assert (kiosk.current(), kiosk.link("previous")) == ("1.1.0", "1.0.0")


def test_rollback_without_a_previous_release_changes_nothing(kiosk):
    result = kiosk.update("rollback")
    assert result.returncode == 1 and "no previous release" in result.stderr
    assert kiosk.current() == "1.0.0" and kiosk.log() == []


def test_installing_the_running_version_again_restarts_nothing(kiosk):
    assert kiosk.update("install", str(kiosk.bundle("1.1.0"))).returncode == 0
    kiosk.reset_log()
    result = kiosk.update("install", str(kiosk.bundle("1.1.0")))
    assert result.returncode == 0 and "already the current release" in result.stderr
    assert kiosk.log() == []


def test_a_release_that_reports_another_version_is_never_switched_to(kiosk):
    (kiosk.lab / "reports-1.1.0").write_text("0.9.9")
    result = kiosk.update("install", str(kiosk.bundle("1.1.0")))
    assert result.returncode == 1 and "does not report version 1.1.0" in result.stderr
    assert kiosk.current() == "1.0.0"
    assert not any(line.startswith("restart") for line in kiosk.log())


def test_a_second_update_is_refused_while_one_runs(kiosk):
    with open(kiosk.root / ".kiosk-update.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = kiosk.update("install", str(kiosk.bundle("1.1.0")))
    assert result.returncode == 1 and "another kiosk-update is running" in result.stderr
    assert kiosk.current() == "1.0.0" and kiosk.log() == []


def test_gc_keeps_the_current_previous_and_factory_releases_only(kiosk):
    for version in ("1.1.0", "1.2.0", "1.3.0"):
        assert kiosk.update("install", str(kiosk.bundle(version))).returncode == 0
    assert kiosk.update("gc").returncode == 0
    assert sorted(p.name for p in (kiosk.root / "releases").iterdir()) == ["1.2.0", "1.3.0"]
    assert kiosk.current() == "1.3.0" and kiosk.factory.resolve().is_dir()


# --- killed half-way ------------------------------------------------------------------------------------

def test_killed_while_installing_the_old_release_stays_current_and_the_debris_goes(kiosk):
    (kiosk.lab / "hang-install").touch()
    proc = kiosk.start("install", str(kiosk.bundle("1.1.0")))
    _kill_when_reached(proc, kiosk.lab / "reached-install")
    assert kiosk.current() == "1.0.0"
    assert kiosk.link("pending") is None
    assert not any(line.startswith("restart") for line in kiosk.log())
    assert (kiosk.root / "releases" / "1.1.0").is_dir()  # half-built, never pointed at
    assert kiosk.update("recover", "--no-restart").returncode == 0
    assert not (kiosk.root / "releases" / "1.1.0").exists()
    (kiosk.lab / "hang-install").unlink()
    assert kiosk.update("install", str(kiosk.bundle("1.1.0"))).returncode == 0
    assert kiosk.current() == "1.1.0"


@pytest.mark.parametrize("moment", ["restart", "health"])
def test_killed_after_the_switch_the_next_boot_goes_back_to_the_old_release(kiosk, moment):
    """Between the switch and the health check's verdict, `current` is the new release but `pending`
    remembers the old one: the boot-time recovery (before the kiosk starts) returns to it."""
    (kiosk.lab / f"hang-{moment}").touch()
    proc = kiosk.start("install", str(kiosk.bundle("1.1.0")))
    _kill_when_reached(proc, kiosk.lab / f"reached-{moment}")
    assert kiosk.current() == "1.1.0" and kiosk.link("pending") == "1.0.0"
    assert "interrupted" in kiosk.update("status").stdout
    (kiosk.lab / f"hang-{moment}").unlink()
    kiosk.reset_log()
    result = kiosk.update("recover", "--no-restart")
    assert result.returncode == 0, result.stderr
    assert "was interrupted: back to 1.0.0" in result.stderr
    assert kiosk.current() == "1.0.0" and kiosk.link("pending") is None
    assert kiosk.log() == []  # at boot the services start afterwards, on the right release
    # The release itself was complete: a later attempt switches to it without rebuilding it.
    assert kiosk.update("install", str(kiosk.bundle("1.1.0"))).returncode == 0
    assert "install 1.1.0" not in kiosk.log() and kiosk.current() == "1.1.0"


def test_recovery_by_hand_while_the_kiosk_runs_restarts_it_on_the_old_release(kiosk):
    (kiosk.lab / "hang-health").touch()
    proc = kiosk.start("install", str(kiosk.bundle("1.1.0")))
    _kill_when_reached(proc, kiosk.lab / "reached-health")
    (kiosk.lab / "hang-health").unlink()
    kiosk.reset_log()
    assert kiosk.update("recover").returncode == 0
    assert kiosk.current() == "1.0.0" and kiosk.log() == ["restart 1.0.0"]


def test_a_dangling_current_falls_back_to_the_factory_release(kiosk):
    assert kiosk.update("install", str(kiosk.bundle("1.1.0"))).returncode == 0
    shutil.rmtree(kiosk.root / "releases" / "1.1.0")  # a corrupted data partition, say
    result = kiosk.update("recover", "--no-restart")
    assert result.returncode == 0 and "using the factory release" in result.stderr
    assert kiosk.current() == "1.0.0"


@pytest.mark.skipif(not shutil.which("strace"), reason="strace is not installed (scripts/setup --test installs it)")
def test_current_is_only_ever_replaced_by_rename_never_removed(kiosk, tmp_path):
    """A reader (systemd starting a unit) or a power cut must always find `current`: the switch is a
    rename(2) of a fresh symlink over it, never an unlink followed by a new link (what `ln -sfn` does
    before coreutils 9, and busybox's still does)."""
    trace = tmp_path / "trace"
    result = run(["strace", "-f", "-qq", "-e", "trace=unlink,unlinkat,rename,renameat,renameat2,symlink,symlinkat",
                  "-o", trace, KIOSK_UPDATE, "install", kiosk.bundle("1.1.0")], env=kiosk.env)
    assert result.returncode == 0, result.stderr
    calls = trace.read_text().splitlines()
    current = str(kiosk.root / "current")
    assert not [c for c in calls if "unlink" in c and f'"{current}"' in c]
    assert [c for c in calls if "rename" in c and c.rstrip().endswith("= 0") and f'"{current}"' in c]


# --- the real installer -------------------------------------------------------------------------------------

def _wheel(directory: Path, version: str) -> Path:
    """A minimal wheel of a package called kiosque-titres whose `kiosk` prints its version."""
    name = f"kiosque_titres-{version}"
    path = directory / f"{name}-py3-none-any.whl"
    files = {
        "kiosk_stub.py": f"def main():\n    print({version!r})\n",
        f"{name}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: kiosque-titres\nVersion: {version}\n"
                                      'Provides-Extra: ui\n',
        f"{name}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{name}.dist-info/entry_points.txt": "[console_scripts]\nkiosk = kiosk_stub:main\n",
    }
    with zipfile.ZipFile(path, "w") as whl:
        for arcname, text in files.items():
            whl.writestr(arcname, text)
        whl.writestr(f"{name}.dist-info/RECORD", "".join(f"{a},,\n" for a in files) + f"{name}.dist-info/RECORD,,\n")
    return path


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="needs Debian's python3 with venv")
def test_the_real_installer_builds_a_release_offline_and_the_update_switches_to_it(kiosk):
    bundle = kiosk.lab / "bundle-real"
    bundle.mkdir()
    _wheel(bundle, "2.0.0")
    (bundle / "constraints.txt").write_text("# nothing else to pin\n")
    env = {**kiosk.env, "KIOSK_UPDATE_INSTALLER": str(INSTALL_KIOSK)}
    result = run([KIOSK_UPDATE, "install", bundle], env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    release = kiosk.root / "releases" / "2.0.0"
    assert kiosk.current() == "2.0.0"
    assert run([kiosk.root / "current" / "venv" / "bin" / "kiosk", "--version"]).stdout.strip() == "2.0.0"
    assert "include-system-site-packages = true" in (release / "venv" / "pyvenv.cfg").read_text()
    assert "version=2.0.0" in (release / "RELEASE").read_text()
    assert (release / ".complete").exists()
    assert kiosk.log() == ["restart 2.0.0", "health 2.0.0 ok"]
