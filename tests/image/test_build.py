"""The image build, as far as an x86 machine without arm64 emulation can check it.

The image itself needs arm64 execution (docs/image.md says where it is built). Here: every script is
shellcheck-clean; build.sh stops at once, with the way out, when arm64 programs cannot run; it
assembles the pi-gen tree (stage, payload, configuration) from a stand-in pi-gen; the stage's boot
file edits do what the kiosk needs on pi-gen's real files; and the lock pins every dependency.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .conftest import BUILD_SH, FILES, IMAGE_BUILD, INSTALL_KIOSK, KIOSK_DATAFS, KIOSK_UPDATE, ROOT, STAGE, clean_env, run

SHELL_SCRIPTS = sorted([BUILD_SH, INSTALL_KIOSK, KIOSK_UPDATE, KIOSK_DATAFS, *STAGE.rglob("*.sh")])


def _can_run_arm64() -> bool:
    if os.uname().machine in ("aarch64", "arm64"):
        return True
    entries = Path("/proc/sys/fs/binfmt_misc").glob("qemu-aarch64*")
    return any(e.read_text().startswith("enabled") for e in entries)


@pytest.mark.skipif(not shutil.which("shellcheck"), reason="shellcheck is not installed (scripts/setup --test installs it)")
@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: str(p.relative_to(IMAGE_BUILD)))
def test_the_script_is_shellcheck_clean(script):
    # pi-gen feeds NN-run-chroot.sh to bash on stdin: checked as bash like the others.
    result = run(["shellcheck", "--shell=bash", "--severity=style", script])
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: str(p.relative_to(IMAGE_BUILD)))
def test_the_script_stops_at_the_first_error(script):
    assert "set -euo pipefail" in script.read_text()


@pytest.mark.skipif(_can_run_arm64(), reason="this machine can run arm64 programs: the build would start")
@pytest.mark.parametrize("mode", ["docker", "native", "check"])
def test_without_arm64_emulation_the_build_stops_at_once_and_says_what_to_do(mode, tmp_path):
    result = run([BUILD_SH, mode], env=clean_env(FIRST_USER_PASS="x", KIOSK_IMAGE_WORK=str(tmp_path)), timeout=30)
    assert result.returncode == 3
    assert "cannot run arm64 programs" in result.stderr
    assert "qemu-user-static binfmt-support" in result.stderr and "docs/image.md" in result.stderr
    assert not any(tmp_path.iterdir())  # nothing fetched, nothing built


@pytest.fixture(scope="module")
def fake_pi_gen(tmp_path_factory) -> Path:
    """The shape of pi-gen that build.sh relies on: a git checkout with stage2/ and the build scripts."""
    path = tmp_path_factory.mktemp("pi-gen")
    (path / "stage2").mkdir()
    (path / "stage2" / "EXPORT_IMAGE").write_text('IMG_SUFFIX="-lite"\n')
    for name in ("build.sh", "build-docker.sh"):
        (path / name).write_text("#!/bin/bash\nexit 99\n")
    git = ["git", "-C", str(path), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "stand-in"], check=True)
    return path


def test_build_refuses_a_pi_gen_that_is_not_at_the_pinned_commit(fake_pi_gen, tmp_path):
    result = run([BUILD_SH, "assemble", tmp_path / "tree"], env=clean_env(PI_GEN_SRC=str(fake_pi_gen)))
    assert result.returncode == 1 and "not the pinned" in result.stderr


@pytest.fixture(scope="module")
def assembled(fake_pi_gen, tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("assembled") / "pi-gen"
    password = "mot de passe \"avec\" $des 'guillemets'"
    env = clean_env(PI_GEN_SRC=str(fake_pi_gen), KIOSK_PI_GEN_UNPINNED="1", FIRST_USER_PASS=password)
    result = run([BUILD_SH, "assemble", tree], env=env)
    assert result.returncode == 0, result.stderr
    return tree


def _pi_gen_config(tree: Path) -> dict[str, str]:
    """The configuration as pi-gen sees it: sourced by bash."""
    out = run(["bash", "-c", 'set -eu; source "$1"; for v in IMG_NAME RELEASE STAGE_LIST ENABLE_SSH FIRST_USER_NAME '
                             'FIRST_USER_PASS DISABLE_FIRST_BOOT_USER_RENAME DEPLOY_COMPRESSION; do printf "%s=%s\\0" '
                             '"$v" "${!v}"; done', "_", tree / "config"])
    assert out.returncode == 0, out.stderr
    return dict(item.split("=", 1) for item in out.stdout.split("\0") if item)


def test_the_pi_gen_configuration_builds_lite_then_the_kiosk_with_ssh_off(assembled):
    config = _pi_gen_config(assembled)
    assert config["STAGE_LIST"] == "stage0 stage1 stage2 stage-kiosk"
    assert config["RELEASE"] == "bookworm"
    assert config["ENABLE_SSH"] == "0"
    assert config["FIRST_USER_NAME"] == "technicien" and config["DISABLE_FIRST_BOOT_USER_RENAME"] == "1"
    assert config["FIRST_USER_PASS"] == "mot de passe \"avec\" $des 'guillemets'"  # quoted, not interpreted
    assert config["IMG_NAME"] == "kiosque-titres" and config["DEPLOY_COMPRESSION"] == "xz"
    assert oct((assembled / "config").stat().st_mode & 0o777) == "0o600"  # it holds a password


def test_the_assembled_tree_has_our_stage_its_payload_and_only_our_image(assembled):
    stage = assembled / "stage-kiosk"
    assert (stage / "EXPORT_IMAGE").exists() and (assembled / "stage2" / "SKIP_IMAGES").exists()
    files = stage / "01-kiosk" / "files"
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert (files / f"kiosque_titres-{version}-py3-none-any.whl").exists()
    for name in ("install-kiosk.sh", "kiosk-update", "kiosk-datafs"):
        assert os.access(files / name, os.X_OK), name
    assert (files / "constraints.txt").read_text() == (IMAGE_BUILD / "constraints.txt").read_text()
    units = {p.name for p in (files / "systemd").iterdir() if p.is_file()}
    assert {"kiosk-ui.service", "kiosk-sync.service", "kiosk-firstboot.service", "data.mount"} <= units
    assert "kiosk-central.service" not in units  # the service runs at the centre, never on a kiosk
    assert (files / "udev" / "99-kiosk-devices.rules").exists()
    assert (files / "systemd" / "system.conf.d" / "kiosk-watchdog.conf").exists()


# --- the boot files, on pi-gen's own (2026-06-18 bookworm arm64: stage1 files + stage2's patch) ------------

PI_GEN_CMDLINE = ("console=serial0,115200 console=tty1 root=ROOTDEV rootfstype=ext4 fsck.repair=yes rootwait quiet "
                  "init=/usr/lib/raspberrypi-sys-mods/firstboot\n")
PI_GEN_CONFIG_TAIL = """# Automatically load overlays for detected cameras
camera_auto_detect=1
dtoverlay=vc4-kms-v3d
arm_64bit=1

[cm4]
otg_mode=1

[cm5]
dtoverlay=dwc2,dr_mode=host

[all]
"""


@pytest.fixture
def boot_files(tmp_path) -> Path:
    rootfs = tmp_path / "rootfs"
    (rootfs / "boot" / "firmware").mkdir(parents=True)
    (rootfs / "boot" / "firmware" / "cmdline.txt").write_text(PI_GEN_CMDLINE)
    (rootfs / "boot" / "firmware" / "config.txt").write_text(PI_GEN_CONFIG_TAIL)
    for _ in range(2):  # pi-gen may run a stage again (CONTINUE=1): the result must not change
        result = run([STAGE / "02-appliance" / "00-run.sh"], cwd=STAGE / "02-appliance",
                     env=clean_env(ROOTFS_DIR=str(rootfs)))
        assert result.returncode == 0, result.stderr
    return rootfs


def test_the_serial_console_and_the_first_boot_resize_are_off(boot_files):
    cmdline = (boot_files / "boot" / "firmware" / "cmdline.txt").read_text()
    assert cmdline == "console=tty1 root=ROOTDEV rootfstype=ext4 fsck.repair=yes rootwait quiet\n"


def test_the_uart_is_given_to_the_sensor_and_the_camera_is_detected(boot_files):
    config = (boot_files / "boot" / "firmware" / "config.txt").read_text()
    ours = config.split("# --- kiosk titres ---")[1]
    assert config.count("# --- kiosk titres ---") == 1
    assert ours.lstrip().startswith("[all]")  # after pi-gen's [cm4]/[cm5] sections, for every model
    for line in ("enable_uart=1", "dtoverlay=disable-bt", "camera_auto_detect=1"):
        assert line in ours.splitlines()
    assert ours.rstrip().endswith("[all]")
    assert (boot_files / "etc" / "kiosk" / "appliance").exists()


# --- the lock ---------------------------------------------------------------------------------------------

def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (IMAGE_BUILD / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"not an exact pin: {line}"
            assert canonicalize_name(name) not in pins, f"pinned twice: {name}"
            pins[canonicalize_name(name)] = version
    return pins


def test_every_dependency_of_the_kiosk_is_pinned_to_a_version_it_accepts():
    """Adding or narrowing a dependency in pyproject.toml without running image-build/lock.py fails here."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _pins()
    for spec in project["dependencies"] + project["optional-dependencies"]["ui"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in constraints.txt: run image-build/lock.py"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req.name}=={pins[name]} does not satisfy {spec}"


def test_the_lock_keeps_the_overrides_for_the_pi():
    pins = _pins()
    for line in (IMAGE_BUILD / "lock-overrides.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            assert req.specifier.contains(pins[canonicalize_name(req.name)]), f"{line} is not honoured"


def test_the_stage_installs_the_package_lists_ci_checks():
    """The Debian list CI installs into its root is the stage's own; the Pi-only list stays separate."""
    debian = (STAGE / "00-kiosk-packages" / "00-packages-nr").read_text()
    assert "python3-venv" in debian and "python3-picamera2" not in debian
    assert "python3-picamera2" in (STAGE / "00-kiosk-packages" / "01-packages-nr").read_text()
    assert (FILES / "kiosk.toml").exists()
