"""``kiosk selftest``: every device tried, a hung one cut off, a table a technician reads, JSON a script reads.

The command runs as a technician would run it (a subprocess, on the
simulators, with their control files); the orchestration's own rules (the
time limit, a device that will not load or open, the test ticket) are
checked with tiny devices built here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kiosk.config import load_config, simulated
from titres.errors import BackendUnavailable, PaperOut, SensorUnavailable
from kiosk.hal.base import Device
from titres.i18n import Translator
from kiosk.technician.selftest import ProbeResult, format_table, load_summary, probe, run_selftest, save_summary

REPO = Path(__file__).resolve().parents[3]
DEVICES = ["camera", "scanner", "fingerprint", "printer", "indicator", "audio"]
FRENCH = ["Caméra", "Lecture QR code", "Capteur d'empreintes", "Imprimante", "Voyant et bouton", "Son et casque"]


def selftest(*args, data_dir: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    return subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(data_dir), "selftest", *args],
                          capture_output=True, text=True, env={**clean, **(env or {})}, cwd=REPO, timeout=120)


def rows(table: str) -> dict[str, str]:
    """The table's lines by the device label they start with."""
    return {label: line for line in table.splitlines() for label in FRENCH + ["Camera", "Printer"]
            if line.startswith(label + " ")}


def unplug_camera(data_dir: Path) -> None:
    scene = data_dir / "sim" / "camera" / "scene.json"
    scene.parent.mkdir(parents=True, exist_ok=True)
    scene.write_text(json.dumps({"type": "unplugged"}))


# --- the command, on the simulators ------------------------------------------------------
def test_the_table_is_french_first_names_every_device_and_exits_zero(tmp_path):
    proc = selftest("--simulate", data_dir=tmp_path / "k")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "Autotest des appareils de la borne K01"
    header = next(line for line in lines if line.startswith("Appareil"))
    assert header.split() == ["Appareil", "Pilote", "Résultat", "Détail"]
    found = rows(proc.stdout)
    assert list(found) == FRENCH
    result_column = header.index("Résultat")
    assert all(line[result_column:].startswith("OK ") for line in found.values())  # one column, lined up
    assert "GPIO17/22/23" in found["Voyant et bouton"]
    assert lines[-1] == "Tous les appareils fonctionnent (6 sur 6)."


def test_the_table_speaks_english_when_asked(tmp_path):
    proc = selftest("--simulate", "--lang", "en", data_dir=tmp_path / "k")
    assert proc.returncode == 0
    assert "Device" in proc.stdout and "Backend" in proc.stdout and "Appareil" not in proc.stdout
    assert proc.stdout.splitlines()[-1] == "Every device works (6 of 6)."


def test_the_table_follows_the_kiosks_language_setting(tmp_path):
    proc = selftest("--simulate", data_dir=tmp_path / "k", env={"KIOSK_LANG": "en"})
    assert proc.stdout.startswith("Self-test of the kiosk's devices K01")


def test_json_is_stable_for_scripts_with_english_keys(tmp_path):
    proc = selftest("--simulate", "--json", data_dir=tmp_path / "k", env={"KIOSK_LANG": "fr"})
    assert proc.returncode == 0
    report = json.loads(proc.stdout)
    assert set(report) == {"ok", "devices"} and report["ok"] is True
    assert [d["device"] for d in report["devices"]] == DEVICES
    for d in report["devices"]:
        assert set(d) == {"device", "backend", "ok", "detail", "failure", "seconds"}
        assert d["ok"] is True and d["failure"] is None and d["seconds"] >= 0


def test_an_unplugged_camera_fails_its_row_and_the_command_and_the_others_are_still_tried(tmp_path):
    unplug_camera(tmp_path / "k")
    proc = selftest("--simulate", data_dir=tmp_path / "k")
    assert proc.returncode == 1
    found = rows(proc.stdout)
    assert "ÉCHEC" in found["Caméra"] and "unplugged" in found["Caméra"]
    assert all(" OK " in found[label] for label in FRENCH[1:])
    assert proc.stdout.splitlines()[-1] == "Appareils en échec : 1 sur 6. Voir la colonne Détail."


def test_an_unplugged_printer_fails_its_row_with_the_reason(tmp_path):
    paper = tmp_path / "k" / "sim" / "printer" / "paper"
    paper.parent.mkdir(parents=True)
    paper.write_text("unplugged\n")
    proc = selftest("--simulate", "--json", data_dir=tmp_path / "k")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    printer = report["devices"][3]
    assert report["ok"] is False
    assert printer["device"] == "printer" and printer["ok"] is False and printer["failure"] == "self_test"
    assert "unplugged" in printer["detail"] or "offline" in printer["detail"]
    assert report["devices"][4]["ok"] is True  # the light after it was still tried


def test_the_last_result_is_kept_for_the_heartbeat(tmp_path):
    unplug_camera(tmp_path / "k")
    selftest("--simulate", data_dir=tmp_path / "k")
    summary = load_summary(load_config(env={}, data_dir=tmp_path / "k"))
    assert summary["ok"] is False
    assert summary["devices"]["scanner"] == "ok"
    assert "unplugged" in summary["devices"]["camera"]  # English, whatever the table's language


def test_a_backend_that_cannot_load_is_a_failed_row(tmp_path):
    proc = selftest("--json", data_dir=tmp_path / "k", env={"KIOSK_HAL": "sim", "KIOSK_HAL_CAMERA": "picamera2"})
    assert proc.returncode == 1
    camera = json.loads(proc.stdout)["devices"][0]
    assert camera["failure"] == "load" and camera["detail"].startswith("backend cannot load:")
    assert "picamera2" in camera["detail"]


def test_print_asks_the_printer_for_a_test_ticket(tmp_path):
    from kiosk.hal.sim.printer import SimPrinter

    proc = selftest("--simulate", "--json", "--print", data_dir=tmp_path / "k")
    printer = json.loads(proc.stdout)["devices"][3]
    if hasattr(SimPrinter, "print_test_page"):
        assert printer["ok"] and "test ticket printed" in printer["detail"], printer
        assert proc.returncode == 0
    else:  # until the printer backend has one: the row says so, and fails
        assert printer["failure"] == "print" and "cannot print a test ticket" in printer["detail"]
        assert proc.returncode == 1


# --- the orchestration, with tiny devices ----------------------------------------------------
class Tiny(Device):
    """A device whose open and self-test do what the test says: answer, fail, or hang until released."""

    device_name = "tiny"
    backend_name = "test"

    def __init__(self, *, open_error: Exception | None = None, hang_in: str = "", said: str = "fine") -> None:
        super().__init__()
        self.open_error, self.hang_in, self.said = open_error, hang_in, said
        self.release = threading.Event()
        self.closed = threading.Event()

    def _open(self) -> None:
        if self.hang_in == "open":
            self.release.wait()
        if self.open_error is not None:
            raise self.open_error

    def _close(self) -> None:
        self.closed.set()

    def _self_test(self) -> str:
        if self.hang_in == "test":
            self.release.wait()
        return self.said


class TinyPrinter(Tiny):
    def __init__(self, page_error: Exception | None = None) -> None:
        super().__init__(said="online, paper ok")
        self.page_error = page_error
        self.pages = 0

    def print_test_page(self) -> str:
        if self.page_error is not None:
            raise self.page_error
        self.pages += 1
        return f"page {self.pages}"


@pytest.fixture
def hung():
    devices: list[Tiny] = []

    def make(where: str) -> Tiny:
        devices.append(Tiny(hang_in=where))
        return devices[-1]

    yield make
    for d in devices:
        d.release.set()  # let the abandoned threads finish


def test_a_hung_self_test_is_cut_by_the_time_limit(hung):
    device = hung("test")
    started = time.monotonic()
    result = probe("tiny", "test", lambda: device, timeout_s=0.3)
    assert time.monotonic() - started < 2
    assert not result.ok and result.failure == "timeout"
    assert result.detail() == "no answer within 0.3 s (during the test)"
    assert result.detail(Translator("fr")) == "pas de réponse en 0.3 s (pendant le test)"


def test_a_device_hung_at_open_says_so_and_the_next_device_is_still_probed(hung):
    results = [probe("tiny", "test", lambda: hung("open"), timeout_s=0.2),
               probe("tiny", "test", lambda: Tiny(said="still here"), timeout_s=2)]
    assert results[0].as_dict()["detail"] == "no answer within 0.2 s (opening)"
    assert results[1].ok and results[1].detail() == "still here"


def test_a_device_that_answers_is_closed_after_its_test():
    device = Tiny()
    result = probe("tiny", "test", lambda: device)
    assert result.ok and result.failure is None
    assert device.closed.is_set() and not device.is_open


def test_a_device_that_cannot_open_is_reported_with_the_reason():
    result = probe("tiny", "test", lambda: Tiny(open_error=SensorUnavailable("no handshake on /dev/serial0")))
    assert not result.ok and result.failure == "open"
    assert result.detail() == "cannot open: no handshake on /dev/serial0"
    assert result.detail(Translator("fr")) == "ouverture impossible : no handshake on /dev/serial0"


def test_a_backend_that_cannot_be_made_is_reported_as_not_loading():
    def make():
        raise BackendUnavailable("pyusb is missing")

    result = probe("printer", "usb", make)
    assert result.failure == "load" and result.detail() == "backend cannot load: pyusb is missing"


def test_a_failing_self_test_keeps_the_devices_own_words():
    class Broken(Tiny):
        def _self_test(self) -> str:
            raise PaperOut("no paper")

    result = probe("printer", "test", Broken)
    assert result.failure == "self_test" and result.detail() == "PaperOut: no paper"


def test_print_adds_the_test_ticket_to_a_working_printer():
    printer = TinyPrinter()
    result = probe("printer", "test", lambda: printer, print_test_page=True)
    assert result.ok and printer.pages == 1
    assert result.detail() == "online, paper ok; test ticket printed: page 1"
    assert result.detail(Translator("fr")) == "online, paper ok ; ticket de test imprimé : page 1"


def test_without_print_no_ticket_is_printed():
    printer = TinyPrinter()
    assert probe("printer", "test", lambda: printer).ok and printer.pages == 0


def test_a_ticket_that_does_not_print_fails_the_row():
    result = probe("printer", "test", lambda: TinyPrinter(page_error=PaperOut("paper ran out")), print_test_page=True)
    assert result.failure == "print" and result.detail() == "online, paper ok; test ticket not printed: paper ran out"


def test_a_printer_backend_without_a_test_ticket_fails_the_row_when_one_is_asked():
    result = probe("printer", "test", lambda: Tiny(said="online"), print_test_page=True)
    assert result.failure == "print" and result.detail() == "online; this backend cannot print a test ticket"


def test_an_unknown_backend_name_is_a_failed_row_not_a_crash(tmp_path):
    cfg = simulated(load_config(env={}, data_dir=tmp_path / "k"))
    cfg = cfg.with_overrides(hal=dataclasses.replace(cfg.hal, backends={"printer": "laser"}))
    results = run_selftest(cfg, timeout_s=30)
    assert [r.device for r in results] == DEVICES
    printer = results[3]
    assert printer.backend == "laser" and printer.failure == "load" and "no backend 'laser'" in printer.detail()
    assert all(r.ok for r in results if r.device != "printer")


def test_the_table_lines_up_and_gives_a_verdict():
    results = [ProbeResult("camera", "picamera2", True, said="frame 640x480"),
               ProbeResult("printer", "usb", False, failure="open", error="no USB device 0416:5011")]
    table = format_table(results, Translator("fr"), "K07").splitlines()
    assert table[0] == "Autotest des appareils de la borne K07"
    assert table[2].split() == ["Appareil", "Pilote", "Résultat", "Détail"]
    assert table[4].startswith("Caméra ") and table[5].startswith("Imprimante ")
    assert table[4].index("OK") == table[5].index("ÉCHEC") == table[2].index("Résultat")
    assert table[5].endswith("ouverture impossible : no USB device 0416:5011")
    assert table[-1] == "Appareils en échec : 1 sur 2. Voir la colonne Détail."


def test_the_summary_still_takes_the_old_dictionaries(tmp_path):
    cfg = load_config(env={}, data_dir=tmp_path / "k")
    summary = save_summary(cfg, [{"device": "printer", "backend": "usb", "ok": False, "detail": "no paper"}], now=5.0)
    assert summary == {"ok": False, "at": 5.0, "devices": {"printer": "no paper"}}
    assert load_summary(cfg) == summary
