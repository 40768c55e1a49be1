"""The udev rules file: every line a well-formed rule, and the printer's ids the configuration's.

udev ignores a malformed rule with one log line at boot, and the kiosk then
finds a printer it may not open: the syntax is checked here, with
``udevadm verify`` on top where this machine's systemd has it (254 and later).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kiosk.config import HalConfig

RULES = Path(__file__).resolve().parents[1] / "systemd" / "udev" / "99-kiosk-devices.rules"

MATCH_KEYS = {"ACTION", "DEVPATH", "KERNEL", "KERNELS", "NAME", "SYMLINK", "SUBSYSTEM", "SUBSYSTEMS", "DRIVER",
              "DRIVERS", "ATTR", "ATTRS", "SYSCTL", "ENV", "CONST", "TAG", "TAGS", "TEST", "PROGRAM", "RESULT"}
ASSIGN_KEYS = {"NAME", "SYMLINK", "OWNER", "GROUP", "MODE", "SECLABEL", "ATTR", "SYSCTL", "ENV", "TAG", "RUN",
               "LABEL", "GOTO", "IMPORT", "OPTIONS"}
KEYS_WITH_ATTRIBUTE = {"ATTR", "ATTRS", "SYSCTL", "ENV", "CONST", "TEST", "RUN", "IMPORT", "SECLABEL"}
TOKEN = re.compile(r'\s*(?P<key>[A-Z]+)(?:\{(?P<attr>[^}]+)\})?\s*(?P<op>==|!=|\+=|-=|:=|=)\s*"(?P<value>[^"]*)"\s*')


def parse_rule(line: str) -> list[tuple[str, str | None, str, str]]:
    """``line`` as ``[(key, attribute, operator, value)]``; ``ValueError`` when it is not a udev rule."""
    tokens, pos = [], 0
    while True:
        m = TOKEN.match(line, pos)
        if m is None:
            raise ValueError(f"not a KEY op \"value\" at column {pos}: {line[pos:]!r}")
        key, attr, op, value = m.group("key", "attr", "op", "value")
        if op in ("==", "!=") and key not in MATCH_KEYS:
            raise ValueError(f"{key} is not a key udev matches on")
        if op not in ("==", "!=") and key not in ASSIGN_KEYS:
            raise ValueError(f"{key} is not a key udev assigns")
        if (attr is not None) != (key in KEYS_WITH_ATTRIBUTE):
            raise ValueError(f"{key}{{{attr}}}: the attribute is {'unexpected' if attr else 'missing'}")
        tokens.append((key, attr, op, value))
        pos = m.end()
        if pos == len(line):
            return tokens
        if line[pos] != ",":
            raise ValueError(f"expected a comma at column {pos}: {line[pos:]!r}")
        pos += 1


def rules() -> list[list[tuple[str, str | None, str, str]]]:
    lines = [line for line in RULES.read_text(encoding="ascii").splitlines() if line.strip()]
    return [parse_rule(line) for line in lines if not line.lstrip().startswith("#")]


def test_every_line_is_a_comment_or_a_rule_that_matches_then_assigns():
    found = rules()
    assert len(found) >= 8
    for rule in found:
        ops = [op for _, _, op, _ in rule]
        assert "==" in ops and any(op in ("=", "+=", ":=") for op in ops), rule


def test_the_parser_refuses_what_udev_would_refuse():
    for bad in ['SUBSYSTEM=="usb" GROUP="kiosk"', 'SUBSYSTEM=="usb", GROUP=kiosk', 'SUBSYTEM=="usb", MODE="0660"',
                'ATTRS=="0416", MODE="0660"', 'SUBSYSTEM=="usb", MODE="0660"  # a comment after a rule']:
        with pytest.raises(ValueError):
            parse_rule(bad)


def test_the_printer_rule_matches_the_configurations_default_ids_and_makes_a_stable_name():
    defaults = HalConfig()
    printer = [r for r in rules() if ("ATTRS", "idVendor", "==", f"{defaults.printer_usb_vendor:04x}") in r]
    assert len(printer) == 1
    rule = printer[0]
    assert ("ATTRS", "idProduct", "==", f"{defaults.printer_usb_product:04x}") in rule
    assert ("SUBSYSTEM", None, "==", "usb") in rule
    assert ("SYMLINK", None, "+=", "kiosk-printer") in rule
    assert ("GROUP", None, "=", "kiosk") in rule and ("MODE", None, "=", "0660") in rule


@pytest.mark.parametrize("match, group", [
    (("KERNEL", None, "==", "ttyAMA[0-9]*"), "dialout"),
    (("SUBSYSTEM", None, "==", "video4linux"), "video"),
    (("SUBSYSTEM", None, "==", "dma_heap"), "video"),
    (("KERNEL", None, "==", "gpiochip*"), "gpio"),
])
def test_each_device_node_goes_to_the_group_the_kiosk_user_is_in(match, group):
    rule = next(r for r in rules() if match in r)
    assert ("GROUP", None, "=", group) in rule and ("MODE", None, "=", "0660") in rule


def test_the_files_install_line_names_the_file_itself():
    assert f"systemd/udev/{RULES.name} /etc/udev/rules.d/" in RULES.read_text(encoding="ascii")


def _udevadm_verify() -> str | None:
    udevadm = shutil.which("udevadm")
    if udevadm is None:
        return None
    probe = subprocess.run([udevadm, "verify", "--help"], capture_output=True, text=True)
    return udevadm if probe.returncode == 0 else None


@pytest.mark.skipif(_udevadm_verify() is None, reason="udevadm verify needs systemd 254 or later")
def test_udevadm_verify_accepts_the_file():
    proc = subprocess.run([_udevadm_verify(), "verify", "--resolve-names=never", str(RULES)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
