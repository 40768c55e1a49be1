"""The appliance's systemd units and drop-ins, and the central service's unit: they verify, they supervise, they confine.

``tests/kiosk/test_sdnotify.py`` runs ``systemd-analyze verify`` on every service in ``systemd/``.
This adds the image's own plumbing (``image-build/files/systemd/``: the data partition's mount,
its first-boot creation, the update recovery), what each unit must promise (a watchdog, the
hardening, the devices the kiosk needs and no others), and the hardware watchdog and journal caps.
"""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from kiosk.technician.commissioning import RESTART_AFTER_S

from .conftest import FILES, INSTALL_KIOSK, KIOSK_DATAFS, KIOSK_UPDATE, ROOT, STAGE, run

SYSTEMD = ROOT / "systemd"
needs_systemd_analyze = pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Section -> key -> every value, in order (DeviceAllow= and Environment= repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(unit: dict, section: str, key: str) -> str:
    values = unit[section].get(key, [])
    assert len(values) == 1, f"{key}= should be set exactly once in [{section}], found {values}"
    return values[0]


def seconds(value: str) -> float:
    """A systemd time span ("14s", "2min", "30") in seconds."""
    units = {"": 1, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "ms": 0.001}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value):
        total += float(number) * units[unit]
    return total


def _runnable_copy(unit: Path, dest: Path) -> Path:
    """The unit with its commands pointed at this checkout (verify needs ExecStart= to exist)."""
    text = unit.read_text()
    text = re.sub(r"/opt/kiosk(-central)?/venv/bin/", str(ROOT / ".venv" / "bin") + "/", text)
    text = text.replace("/usr/sbin/kiosk-update", str(KIOSK_UPDATE)).replace("/usr/lib/kiosk/kiosk-datafs", str(KIOSK_DATAFS))
    out = dest / unit.name
    out.write_text(text)
    return out


# --- they verify -----------------------------------------------------------------------------------------

@needs_systemd_analyze
@pytest.mark.parametrize("unit", sorted(p.name for p in (FILES / "systemd").iterdir()))
def test_the_image_plumbing_unit_verifies(unit, tmp_path):
    copy = _runnable_copy(FILES / "systemd" / unit, tmp_path)
    result = run(["systemd-analyze", "verify", copy])
    assert result.returncode == 0 and "kiosk" not in result.stderr and unit not in result.stderr, result.stderr


@needs_systemd_analyze
@pytest.mark.parametrize("unit,limit", [("kiosk-ui.service", 4.0), ("kiosk-firstboot.service", 3.5),
                                        ("kiosk-central.service", 2.0)])  # 2.0: systemd's "OK"
def test_the_unit_exposure_stays_low(unit, limit, tmp_path):
    """systemd's own score of what a compromised service could reach (0 sealed .. 10 wide open)."""
    copy = _runnable_copy(SYSTEMD / unit, tmp_path)
    result = run(["systemd-analyze", "security", "--offline=yes", "--no-pager", copy])
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout + result.stderr)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= limit


# --- what the central service's unit promises (it runs at the centre, not in the image) ---------------------

def test_the_central_service_runs_its_own_user_on_its_own_private_directory_under_a_watchdog():
    unit = parse_unit(SYSTEMD / "kiosk-central.service")
    assert one(unit, "Service", "User") == "kiosk-central" and one(unit, "Service", "UMask") == "0077"
    assert one(unit, "Service", "StateDirectory") == "kiosk-central"
    assert one(unit, "Service", "StateDirectoryMode") == "0700"
    assert one(unit, "Service", "ReadWritePaths") == "/var/lib/kiosk-central"
    assert one(unit, "Service", "ProtectSystem") == "strict"
    assert "KIOSK_CENTRAL_DATA=/var/lib/kiosk-central" in one(unit, "Service", "Environment").split()
    assert one(unit, "Service", "Type") == "notify" and 10 <= seconds(one(unit, "Service", "WatchdogSec")) <= 300
    command = one(unit, "Service", "ExecStart")
    assert command.split()[1] == "serve" and "--host 127.0.0.1" in command
    sysusers = (SYSTEMD / "sysusers.d" / "kiosk-central.conf").read_text()
    assert re.search(r"^u kiosk-central\s", sysusers, re.M)


# --- what the UI unit promises ------------------------------------------------------------------------------

def test_the_ui_is_supervised_by_a_watchdog_it_feeds_and_always_restarted():
    ui = parse_unit(SYSTEMD / "kiosk-ui.service")
    assert one(ui, "Service", "Type") == "notify"
    assert 5 <= seconds(one(ui, "Service", "WatchdogSec")) <= 60
    assert one(ui, "Service", "Restart") == "always"
    assert one(ui, "Unit", "StartLimitAction") == "reboot"
    assert one(ui, "Service", "ExecStart").startswith("/opt/kiosk/venv/bin/kiosk run --fullscreen")
    assert one(ui, "Install", "WantedBy") == "multi-user.target"


def test_the_ui_runs_unprivileged_on_kms_without_a_desktop():
    ui = parse_unit(SYSTEMD / "kiosk-ui.service")
    assert one(ui, "Service", "User") == "kiosk"
    assert one(ui, "Service", "CapabilityBoundingSet") == ""
    env = " ".join(ui["Service"]["Environment"])
    assert "SDL_VIDEODRIVER=kmsdrm" in env and "KIOSK_DATA=/var/lib/kiosk" in env
    assert "getty@tty1.service" in one(ui, "Unit", "Conflicts")


@pytest.mark.parametrize("unit", ["kiosk-ui.service", "kiosk-sync.service"])
def test_the_kiosk_can_write_its_data_directory_and_nothing_else(unit):
    service = parse_unit(SYSTEMD / unit)["Service"]
    assert service["ProtectSystem"] == ["strict"]
    assert service["ReadWritePaths"] == ["/var/lib/kiosk"]
    assert service["NoNewPrivileges"] == ["yes"] and service["PrivateTmp"] == ["yes"]
    assert service["ProtectHome"] == ["yes"]


def test_the_ui_reaches_only_the_kiosk_devices():
    service = parse_unit(SYSTEMD / "kiosk-ui.service")["Service"]
    assert service["DevicePolicy"] == ["closed"]
    allowed = {v.split()[0] for v in service["DeviceAllow"]}
    assert allowed == {"char-drm", "char-input", "char-video4linux", "char-media", "char-dma_heap", "char-ttyAMA",
                       "char-ttyS", "char-ttyUSB", "char-usb_device", "char-gpiochip", "char-alsa"}


#: A udev rule's match -> the DeviceAllow= class that lets the UI open such a node.
UDEV_TO_DEVICE_CLASS = {
    'SUBSYSTEM=="usb"': "char-usb_device",
    'KERNEL=="ttyAMA': "char-ttyAMA",
    'KERNEL=="ttyS': "char-ttyS",
    'KERNEL=="ttyUSB': "char-ttyUSB",
    'SUBSYSTEM=="video4linux"': "char-video4linux",
    'SUBSYSTEM=="media"': "char-media",
    'SUBSYSTEM=="dma_heap"': "char-dma_heap",
    'KERNEL=="gpiochip': "char-gpiochip",
}


@pytest.mark.skipif(not (SYSTEMD / "udev" / "99-kiosk-devices.rules").exists(), reason="no udev rules yet")
def test_every_device_the_udev_rules_open_to_the_kiosk_is_allowed_in_the_ui_unit():
    """The udev rules give the kiosk user its devices; the unit's device policy must not take them back."""
    allowed = {v.split()[0] for v in parse_unit(SYSTEMD / "kiosk-ui.service")["Service"]["DeviceAllow"]}
    rules = [line for line in (SYSTEMD / "udev" / "99-kiosk-devices.rules").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    for rule in rules:
        if "gpiomem" in rule:
            continue  # legacy /dev/gpiomem: the gpio backend goes through /dev/gpiochip* (lgpio)
        classes = {cls for match, cls in UDEV_TO_DEVICE_CLASS.items() if match in rule}
        assert classes, f"no DeviceAllow= class known for the udev rule: {rule}"
        assert classes <= allowed, f"kiosk-ui.service does not allow {classes - allowed} for: {rule}"


# --- first boot ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("still_commissioning", [True, False])
def test_first_boot_waits_for_provisioning_then_starts_sync_and_restarts_the_ui(tmp_path, still_commissioning):
    """Provisioned from a shell, the UI still shows commissioning: restarted. Commissioned on its screen,
    the app restarted itself (its marker is gone): not restarted a second time."""
    unit = parse_unit(SYSTEMD / "kiosk-firstboot.service")
    assert one(unit, "Unit", "ConditionPathExists") == "!/var/lib/kiosk/provisioned.toml"
    assert one(unit, "Service", "Type") == "exec"  # a wait of days must not hold up the boot
    command = one(unit, "Service", "ExecStart")
    assert command.startswith("/bin/sh -c '") and command.endswith("'")
    marker = tomllib.loads((FILES / "kiosk.toml").read_text())["maintenance"]["commissioning_marker"]
    assert marker in command and marker.startswith("/run/kiosk-ui/")  # kiosk-ui.service's RuntimeDirectory
    script = command[len("/bin/sh -c '"):-1].replace("/var/lib/kiosk/", f"{tmp_path}/")
    script = script.replace(marker, f"{tmp_path}/commissioning")
    # The pause before restarting the UI outlasts the commissioning screen's countdown (then shortened here).
    pause = int(re.search(r"done; sleep (\d+);", script).group(1))
    assert pause > RESTART_AFTER_S
    script = script.replace(f"done; sleep {pause};", "done; sleep 1;")
    if still_commissioning:
        (tmp_path / "commissioning").touch()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "systemctl"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/systemctl.log\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    proc = subprocess.Popen(["/bin/sh", "-c", script], env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(3)  # not provisioned: still waiting, nothing started
        assert not (tmp_path / "systemctl.log").exists()
        (tmp_path / "provisioned.toml").write_text("[sync]\n")
        assert proc.wait(20) == 0
    finally:
        proc.kill()
    assert (tmp_path / "systemctl.log").read_text().splitlines() == [
        "--no-block start kiosk-sync.service",
        *(["--no-block try-restart kiosk-ui.service"] if still_commissioning else [])]


# --- the data partition is safe from the overlay ---------------------------------------------------------

def test_the_data_partition_is_a_mount_unit_not_an_fstab_line_so_overlayroot_leaves_it_writable():
    mount = parse_unit(FILES / "systemd" / "data.mount")
    assert one(mount, "Mount", "Where") == "/data"
    assert one(mount, "Mount", "What") == "/dev/disk/by-label/kioskdata"
    assert "noexec" not in one(mount, "Mount", "Options")  # the releases' venvs run from here
    assert any("systemd-fsck@" in v for v in mount["Unit"]["Requires"])
    for script in STAGE.rglob("*.sh"):
        assert "fstab" not in script.read_text(), f"{script} edits fstab"


def test_recovery_runs_before_the_kiosk_starts_at_every_boot():
    recover = parse_unit(FILES / "systemd" / "kiosk-update-recover.service")
    assert one(recover, "Service", "ExecStart") == "/usr/sbin/kiosk-update recover --no-restart"
    before = one(recover, "Unit", "Before").split()
    assert {"kiosk-ui.service", "kiosk-sync.service"} <= set(before)


def test_the_data_partition_is_only_ever_created_on_the_appliance_image():
    datafs = parse_unit(FILES / "systemd" / "kiosk-datafs.service")
    assert one(datafs, "Unit", "ConditionPathExists") == "/etc/kiosk/appliance"
    assert "/etc/kiosk/appliance" in (STAGE / "02-appliance" / "00-run.sh").read_text()
    assert "appliance" not in INSTALL_KIOSK.read_text()  # a plain Debian install never gets the marker


def test_every_unit_the_image_enables_is_shipped():
    shipped = {p.name for p in SYSTEMD.glob("*.service")} | {p.name for p in (FILES / "systemd").iterdir()}
    scripts = [INSTALL_KIOSK, *STAGE.rglob("*.sh")]
    enabled = set()
    for script in scripts:
        for line in script.read_text().splitlines():
            if line.strip().startswith("systemctl enable"):
                enabled |= {w for w in line.split()[2:] if w.endswith((".service", ".mount"))}
    assert {"kiosk-ui.service", "kiosk-sync.service", "kiosk-firstboot.service", "kiosk-update-recover.service",
            "data.mount"} <= enabled
    assert enabled <= shipped


# --- the drop-ins ------------------------------------------------------------------------------------------

def test_the_hardware_watchdog_is_on_and_within_what_bcm2835_wdt_accepts():
    manager = parse_unit(SYSTEMD / "system.conf.d" / "kiosk-watchdog.conf")["Manager"]
    runtime = seconds(manager["RuntimeWatchdogSec"][0])
    assert 0 < runtime <= 14  # the bcm2835 watchdog's longest timeout is about 15 s
    assert seconds(manager["RebootWatchdogSec"][0]) > 0


def test_logs_are_kept_in_ram_with_a_size_cap():
    journal = parse_unit(SYSTEMD / "journald.conf.d" / "kiosk.conf")["Journal"]
    assert journal["Storage"] == ["volatile"]
    cap = journal["RuntimeMaxUse"][0]
    assert re.fullmatch(r"\d+M", cap) and 8 <= int(cap[:-1]) <= 128
