"""The image's install step, run for real in a Debian bookworm root (amd64, debootstrap --variant=minbase).

The pi-gen stage runs install-kiosk.sh in the arm64 image, which this machine cannot enter. Everything
but the architecture is checked here instead: the stage's own Debian package list, the same payload
build.sh puts in the stage, the same script, then the installed kiosk run inside the root (its
version, the self-test and a whole scripted session on the simulators, as the kiosk user), the pinned
versions, the user, the links and the units (verified with their real paths).

One root is built per run (about 2 minutes: debootstrap ~50 s, apt ~25 s, pip ~40 s; the phases are
written to artifacts/image-install-timings.json), with ``KIOSK_TEST_IMAGE=1``: the suite must stay within
its 25 minutes on two cores, and this is its longest single step. Mounts live in a private mount namespace
(unshare), so nothing of the host's /dev or /proc stays bound into the root, even if a test dies.
``KIOSK_TEST_DEBIAN_MIRROR`` points debootstrap and apt at another mirror.

``KIOSK_TEST_ARCH=arm64`` builds the root for the Pi's own architecture instead, where the host can
run arm64 programs (qemu-user-static registered with binfmt_misc: ``image-build/build.sh check``).
Everything then runs emulated, about ten times slower, so it is not part of the default run; it is
what shows that every pinned dependency installs from aarch64 wheels and runs on arm64.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .conftest import BUILD_SH, IMAGE_BUILD, ROOT, STAGE, clean_env, run

#: The root takes two minutes of the suite's 25 (more where the Debian mirror is far): an opt-in, as the image's
#: other long runs are (README, "Tests").
WANTED = bool(os.environ.get("KIOSK_TEST_IMAGE")) or os.environ.get("KIOSK_TEST_ARCH", "amd64") != "amd64"

pytestmark = [
    pytest.mark.skipif(not WANTED, reason="a Debian root built for the install: set KIOSK_TEST_IMAGE=1 (~2 min)"),
    pytest.mark.skipif(
        os.geteuid() != 0 or not all(shutil.which(t) for t in ("debootstrap", "unshare", "chroot")),
        reason="needs root, debootstrap (scripts/setup --test installs it), unshare and chroot"),
]

MIRROR = os.environ.get("KIOSK_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
ARCH = os.environ.get("KIOSK_TEST_ARCH", "amd64")
#: Emulated (another architecture than the host's), everything is slower: so are the time limits.
SLOW = 1 if ARCH == "amd64" else 10
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")

#: Mount what a package manager and the kiosk need, privately, then enter the root with a clean environment.
ENTER = r"""
set -eu
root=$1; script=$2
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive ${PIP_CERT:+PIP_CERT=/tmp/host-ca.crt} /bin/bash -c "$script"
"""


@dataclass
class DebianRoot:
    path: Path
    install: object = None
    timings: dict = field(default_factory=dict)

    def run(self, script: str, timeout: float = 600):
        env = clean_env(PIP_CERT="1") if (self.path / "tmp" / "host-ca.crt").exists() else clean_env()
        return run(["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", ENTER, "_",
                    self.path, f"set -euo pipefail\n{script}"], env=env, timeout=timeout * SLOW)

    def as_kiosk(self, command: str, timeout: float = 300):
        return self.run(f"cd /tmp && runuser -u kiosk -- env HOME=/var/lib/kiosk KIOSK_CONFIG=/etc/kiosk/kiosk.toml "
                        f"{command}", timeout=timeout)


def _timed(timings: dict, phase: str, fn):
    start = time.monotonic()
    try:
        return fn()
    finally:
        timings[phase] = round(time.monotonic() - start, 1)


@pytest.fixture(scope="module")
def debian(tmp_path_factory):
    base = tmp_path_factory.mktemp("debian-root")
    root = DebianRoot(base / "root")
    t = root.timings
    boot = _timed(t, "debootstrap", lambda: run(["debootstrap", "--variant=minbase", f"--arch={ARCH}", "bookworm",
                                                 root.path, MIRROR], timeout=900 * SLOW))
    assert boot.returncode == 0, boot.stdout[-3000:] + boot.stderr[-3000:]
    (root.path / "etc" / "apt" / "sources.list").write_text(f"deb {MIRROR} bookworm main\n")
    shutil.copy("/etc/resolv.conf", root.path / "etc" / "resolv.conf")
    if HOST_CA.exists():  # an HTTPS-inspecting proxy's CA, if the host trusts one
        shutil.copy(HOST_CA, root.path / "tmp" / "host-ca.crt")
    payload = _timed(t, "payload", lambda: run([BUILD_SH, "payload", root.path / "tmp" / "kiosk-install"]))
    assert payload.returncode == 0, payload.stderr
    packages = " ".join(line.split("#", 1)[0].strip()
                        for line in (STAGE / "00-kiosk-packages" / "00-packages-nr").read_text().splitlines()
                        if line.split("#", 1)[0].strip())
    # systemd: Raspberry Pi OS has it; a minbase root does not (systemctl enable, systemd-analyze).
    apt = _timed(t, "apt", lambda: root.run(
        f"apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd {packages} >/dev/null"))
    assert apt.returncode == 0, apt.stdout[-3000:] + apt.stderr[-3000:]
    # Exactly what stage-kiosk/01-kiosk/01-run-chroot.sh runs.
    chroot_script = (STAGE / "01-kiosk" / "01-run-chroot.sh").read_text()
    root.install = _timed(t, "install", lambda: root.run(chroot_script.replace("rm -rf /tmp/kiosk-install", ":")))
    yield root
    artifacts = ROOT / "artifacts"
    if artifacts.is_dir():
        name = "image-install-timings.json" if ARCH == "amd64" else f"image-install-timings-{ARCH}.json"
        (artifacts / name).write_text(json.dumps(t, indent=2) + "\n")
    with open("/proc/self/mounts") as mounts:
        assert str(root.path) not in mounts.read(), "a mount is still inside the Debian root: not deleting it"
    shutil.rmtree(base)


def test_the_stage_install_script_installs_the_kiosk_into_a_debian_root(debian):
    assert debian.install.returncode == 0, debian.install.stdout[-3000:] + debian.install.stderr[-3000:]
    assert f"kiosk {VERSION} installed" in debian.install.stderr


def test_the_installed_kiosk_runs_and_reports_the_project_version(debian):
    result = debian.run("/opt/kiosk/venv/bin/kiosk --version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == VERSION


def test_the_selftest_passes_on_the_simulators_as_the_kiosk_user(debian):
    result = debian.as_kiosk("KIOSK_DATA=/var/lib/kiosk/selftest /opt/kiosk/venv/bin/kiosk selftest --simulate --json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ok"] and {d["device"] for d in report["devices"]} >= {"camera", "scanner", "fingerprint", "printer"}


def test_a_whole_scripted_session_runs_on_the_pinned_dependencies(debian):
    shutil.copy(ROOT / "examples" / "scenarios" / "adult-loss-cni.json", debian.path / "tmp" / "scenario.json")
    result = debian.as_kiosk("KIOSK_DATA=/var/lib/kiosk/scenario /opt/kiosk/venv/bin/kiosk scenario "
                             "/tmp/scenario.json --simulate")
    assert result.returncode == 0, result.stdout + result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["ok"] and outcome["queue_state"] == "queued"


def _pins() -> dict[str, str]:
    pins = {}
    for line in (IMAGE_BUILD / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name] = version
    return pins


def test_the_release_holds_exactly_the_pinned_versions(debian):
    result = debian.run("/opt/kiosk/venv/bin/python -m pip list --local --format=json --disable-pip-version-check")
    assert result.returncode == 0, result.stderr
    installed = {re.sub(r"[-_.]+", "-", p["name"]).lower(): p["version"] for p in json.loads(result.stdout)}
    for tool in ("pip", "setuptools"):  # the venv's own installer, unless a dependency pins it
        if tool not in _pins():
            installed.pop(tool, None)
    assert installed.pop("kiosque-titres") == VERSION
    pins = _pins()
    unpinned = {n: v for n, v in installed.items() if n not in pins}
    assert not unpinned, f"installed without a pin: {unpinned}"
    assert {n: v for n, v in installed.items() if pins[n] != v} == {}


def test_the_release_sees_debian_packages_for_picamera2(debian):
    cfg = (debian.path / "opt" / "kiosk" / "releases" / VERSION / "venv" / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = true" in cfg
    assert (debian.path / "opt" / "kiosk" / "releases" / VERSION / ".complete").exists()


def test_the_kiosk_user_is_a_system_user_in_the_device_groups_and_nothing_more(debian):
    result = debian.run("id -nG kiosk; getent passwd kiosk")
    assert result.returncode == 0, result.stderr
    groups_line, passwd = result.stdout.splitlines()
    assert set(groups_line.split()) == {"kiosk", "video", "input", "render", "dialout", "gpio", "audio"}
    fields = passwd.split(":")
    assert int(fields[2]) < 1000 and fields[5] == "/var/lib/kiosk" and fields[6] == "/usr/sbin/nologin"


def test_the_units_run_the_current_release_and_the_data_lives_on_the_writable_side(debian):
    p = debian.path
    assert os.readlink(p / "opt" / "kiosk" / "venv") == "/data/current/venv"
    assert os.readlink(p / "data" / "current") == f"/opt/kiosk/releases/{VERSION}"
    assert os.readlink(p / "opt" / "kiosk" / "factory") == f"releases/{VERSION}"
    assert os.readlink(p / "var" / "lib" / "kiosk") == "/data/kiosk"
    result = debian.run("stat -c '%U %G %a' /data/kiosk")
    assert result.stdout.split() == ["kiosk", "kiosk", "750"]


def test_the_units_are_enabled_and_verify_with_their_real_paths(debian):
    wants = debian.path / "etc" / "systemd" / "system" / "multi-user.target.wants"
    for unit in ("kiosk-ui.service", "kiosk-sync.service", "kiosk-firstboot.service", "kiosk-update-recover.service"):
        assert (wants / unit).is_symlink(), f"{unit} is not enabled"
    # The appliance-only units are installed but not enabled outside the image.
    assert not (debian.path / "etc" / "systemd" / "system" / "local-fs.target.wants" / "data.mount").exists()
    units = " ".join(f"/etc/systemd/system/{u}" for u in (
        "kiosk-ui.service", "kiosk-sync.service", "kiosk-firstboot.service", "kiosk-update-recover.service",
        "data.mount", "kiosk-datafs.service"))
    result = debian.run(f"systemd-analyze verify {units}")
    assert result.returncode == 0 and "kiosk" not in result.stderr, result.stderr
    assert (debian.path / "etc" / "systemd" / "system.conf.d" / "kiosk-watchdog.conf").exists()
    assert (debian.path / "etc" / "udev" / "rules.d" / "99-kiosk-devices.rules").exists()
    # The maintenance screen's restart buttons: the rule, and the daemon that reads it (from the package list).
    assert (debian.path / "etc" / "polkit-1" / "rules.d" / "50-kiosk-technician.rules").exists()
    assert (debian.path / "usr" / "lib" / "polkit-1" / "polkitd").exists()
    assert "blacklist usblp" in (debian.path / "etc" / "modprobe.d" / "kiosk-no-usblp.conf").read_text()


def test_kiosk_update_sees_the_factory_release(debian):
    result = debian.run("kiosk-update status")
    assert result.returncode == 0, result.stderr
    assert f"current:  {VERSION}" in result.stdout and f"factory:  {VERSION}" in result.stdout


def test_installing_again_changes_nothing(debian):
    before = (debian.path / "opt" / "kiosk" / "releases" / VERSION / "RELEASE").read_text()
    result = debian.run("/tmp/kiosk-install/install-kiosk.sh /tmp/kiosk-install/kiosque_titres-*.whl", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "already installed" in result.stderr
    assert (debian.path / "opt" / "kiosk" / "releases" / VERSION / "RELEASE").read_text() == before
