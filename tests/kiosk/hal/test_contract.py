"""One contract per facade, run against every backend registered for it.

As gpiozero's ``test_real_pins.py``: a backend that cannot load here (the
Raspberry Pi ones on a PC, the USB printer with nothing plugged in) is
skipped, not faked; the simulators always run, so the contract is always
exercised against at least one backend.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kiosk.config import HalConfig
from titres.errors import BackendUnavailable, CameraUnavailable, HalError, PrinterNotFound, SensorUnavailable
from kiosk.hal import BACKENDS, create_devices, load_backend
from kiosk.hal.audio import AudioOutput
from kiosk.hal.indicator import Light
from kiosk.hal.printer import ReceiptPrinter
from kiosk.hal.r503_fingerprint import LED_MODES
from kiosk.hal.sim.escpos_decode import decode_file
from kiosk.hal.sim.scenes import empty_frame, qr_frame
from kiosk.core.readings import FingerReading, PrinterStatus, SelfTestResult


def _portable(device: str, name: str) -> bool:
    """Backends whose module imports on any PC: only the Raspberry Pi ones (``kiosk.hal.pi``) may not."""
    return not BACKENDS[device][name].startswith("kiosk.hal.pi.")


def _device(device: str, name: str, hal_config, sim_dir):
    """An instantiated (closed) backend, or a skip saying why it cannot run here."""
    try:
        return load_backend(device, name)(hal_config, sim_dir)
    except BackendUnavailable as exc:  # a module that does not import, or a library it finds missing at construction
        if _portable(device, name):
            raise  # a simulator or a portable backend that does not load is a bug, not a missing board
        pytest.skip(str(exc))


def _opened(dev):
    """``dev`` opened, or a skip when its hardware is not here (a printer that does not answer)."""
    try:
        dev.open()
    except BackendUnavailable as exc:
        pytest.skip(str(exc))
    if isinstance(dev, ReceiptPrinter) and dev.status().online is False:
        dev.close()
        pytest.skip(f"no {dev.backend_name} printer attached here")
    if isinstance(dev, AudioOutput) and not dev.present:
        dev.close()
        pytest.skip(f"no {dev.backend_name} sound output here (tests/kiosk/hal/test_audio.py plays through ALSA's file plugin)")
    return dev


@pytest.fixture(scope="module")
def recorded_feed(tmp_path_factory) -> str:
    """A video of the simulated camera's QR scene at still size, for the ``opencv`` camera: no /dev/video here.

    The real OpenCV reads it through the same ``VideoCapture`` a webcam
    uses, so the camera contract runs against the library, not a fake.
    """
    from kiosk.hal.sim.camera import SimCamera
    from tests.kiosk.hal.recordings import record_scene

    config = HalConfig(default="sim")
    folder = tmp_path_factory.mktemp("feed")
    with SimCamera(config, folder, fps=None, rng=np.random.default_rng(1)) as lens:
        return str(record_scene(folder / "feed.avi", lens, config.camera_still_size))


@pytest.fixture
def hal_config(recorded_feed) -> HalConfig:
    return HalConfig(default="sim", camera_device=recorded_feed)


def _every(device: str):
    return pytest.fixture(params=sorted(BACKENDS[device]), ids=lambda name: f"{device}-{name}")


@_every("camera")
def camera_backend(request):
    return request.param


@_every("scanner")
def scanner_backend(request):
    return request.param


@_every("fingerprint")
def fingerprint_backend(request):
    return request.param


@_every("printer")
def printer_backend(request):
    return request.param


@_every("indicator")
def indicator_backend(request):
    return request.param


@pytest.fixture(params=[(d, n) for d in BACKENDS for n in sorted(BACKENDS[d])], ids=lambda p: f"{p[0]}-{p[1]}")
def any_device(request, hal_config, sim_dir):
    device, name = request.param
    with _emulated_sensor_line(device, name, hal_config) as (config, _):
        yield _device(device, name, config, sim_dir)


@contextlib.contextmanager
def _emulated_sensor_line(device: str, name: str, hal_config):
    """The R503 backend reads the emulated sensor when no sensor is wired here (as the sim backend always does).

    Yields the configuration and the emulator on the line (``None``: a real sensor, or no sensor at all)."""
    from kiosk.hal.sim.r503_emulator import SensorEmulator

    if (device, name) != ("fingerprint", "r503") or Path(hal_config.serial_port).exists():
        yield hal_config, None
        return
    with SensorEmulator() as emulator:
        yield replace(hal_config, serial_port=emulator.port), emulator


# --- every device --------------------------------------------------------------
def test_a_device_opens_and_closes_any_number_of_times(any_device):
    dev = any_device
    assert not dev.is_open
    _opened(dev)
    dev.open()
    assert dev.is_open
    dev.close()
    dev.close()
    assert not dev.is_open


def test_a_device_is_a_context_manager(any_device):
    with _opened(any_device) as dev:
        assert dev.is_open
    assert not dev.is_open


def test_self_test_reports_and_never_raises(any_device):
    with _opened(any_device) as dev:
        result = dev.self_test()
    assert isinstance(result, SelfTestResult)
    assert result.device == dev.device_name
    assert result.backend == dev.backend_name
    assert result.ok, result.detail


@pytest.mark.parametrize("device, name", [(d, n) for d in BACKENDS for n in sorted(BACKENDS[d]) if _portable(d, n)])
def test_portable_backends_import_on_any_pc(device, name):
    assert load_backend(device, name).backend_name == name


def test_the_simulated_hal_builds_every_device_and_opens(hal_config, sim_dir):
    with create_devices(hal_config, sim_dir) as devices:
        assert set(devices.backends) == set(BACKENDS)
        assert all(d.is_open for d in devices.all())
    assert not any(d.is_open for d in devices.all())


# --- camera --------------------------------------------------------------------
def test_camera_preview_is_a_luminance_plane_of_the_configured_size(camera_backend, hal_config, sim_dir):
    with _opened(_device("camera", camera_backend, hal_config, sim_dir)) as cam:
        frame = cam.preview_frame()
    w, h = hal_config.camera_preview_size
    assert frame.shape == (h, w) and frame.dtype == np.uint8


def test_camera_still_is_rgb_at_full_resolution(camera_backend, hal_config, sim_dir):
    with _opened(_device("camera", camera_backend, hal_config, sim_dir)) as cam:
        still = cam.capture_still()
    w, h = hal_config.camera_still_size
    assert still.shape == (h, w, 3) and still.dtype == np.uint8


def test_a_closed_camera_says_it_is_unavailable(camera_backend, hal_config, sim_dir):
    cam = _device("camera", camera_backend, hal_config, sim_dir)
    with pytest.raises(CameraUnavailable):
        cam.preview_frame()


# --- scanner -------------------------------------------------------------------
def test_scanner_reads_a_qr_code_payload_as_text(scanner_backend, hal_config, sim_dir, rng):
    with _opened(_device("scanner", scanner_backend, hal_config, sim_dir)) as scanner:
        assert scanner.decode(qr_frame("A1B2C3D4E5", rng=rng)) == ["A1B2C3D4E5"]


def test_scanner_finds_nothing_in_an_empty_frame(scanner_backend, hal_config, sim_dir, rng):
    with _opened(_device("scanner", scanner_backend, hal_config, sim_dir)) as scanner:
        assert scanner.decode(empty_frame(rng=rng)) == []


def test_scanner_reads_accented_payloads(scanner_backend, hal_config, sim_dir, rng):
    with _opened(_device("scanner", scanner_backend, hal_config, sim_dir)) as scanner:
        assert scanner.decode(qr_frame("Pré-demande n° A1B2C3D4E5", rng=rng)) == ["Pré-demande n° A1B2C3D4E5"]


# --- fingerprint ---------------------------------------------------------------
@pytest.fixture
def fingerprint_line(fingerprint_backend, hal_config):
    """(configuration, the emulated sensor the r503 backend talks to, or None)."""
    with _emulated_sensor_line("fingerprint", fingerprint_backend, hal_config) as line:
        yield line


def test_a_reading_is_plain_values_with_a_lossless_greyscale_image(fingerprint_backend, fingerprint_line, sim_dir):
    config, _ = fingerprint_line
    with _opened(_device("fingerprint", fingerprint_backend, config, sim_dir)) as sensor:
        reading = sensor.read(timeout_s=10)
    assert isinstance(reading, FingerReading)
    assert reading.ok == (reading.feedback is None)
    if reading.image is not None:
        img = Image.open(io.BytesIO(reading.image))
        assert img.format == "PNG" and img.mode == "L"
    if reading.quality is not None:
        assert 0 <= reading.quality <= 100


def test_guidance_accepts_every_mode(fingerprint_backend, fingerprint_line, sim_dir):
    """Each mode the facade names reaches the sensor's ring, and the sensor still reads afterwards."""
    config, line = fingerprint_line
    modes = ("idle", "place", "ok", "retry")
    with _opened(_device("fingerprint", fingerprint_backend, config, sim_dir)) as sensor:
        ring = line if line is not None else getattr(sensor, "emulator", None)  # None: a real one, watched by eye
        before = len(ring.led_history) if ring is not None else 0
        for mode in modes:
            sensor.guide(mode)
        if ring is not None:
            assert ring.led_history[before:] == [LED_MODES[mode] for mode in modes]
        reading = sensor.read(timeout_s=10)  # every command was answered: nothing left on the line
    assert isinstance(reading, FingerReading)


def test_a_closed_sensor_says_it_is_unavailable(fingerprint_backend, hal_config, sim_dir):
    sensor = _device("fingerprint", fingerprint_backend, hal_config, sim_dir)
    with pytest.raises(SensorUnavailable):
        sensor.read(timeout_s=0.1)


# --- printer -------------------------------------------------------------------
def test_printer_status_is_plain_values(printer_backend, hal_config, sim_dir):
    with _opened(_device("printer", printer_backend, hal_config, sim_dir)) as printer:
        status = printer.status()
    assert isinstance(status, PrinterStatus)
    assert status.online in (True, None)
    assert status.paper in ("ok", "near_end", "out", None)


def test_printer_prints_a_receipt(printer_backend, hal_config, sim_dir, receipt):
    with _opened(_device("printer", printer_backend, hal_config, sim_dir)) as printer:
        if not printer.status().can_print:
            pytest.skip("the attached printer cannot print now")
        printer.print_receipt(receipt)
        after = printer.status()
        filed = printer.jobs() if hasattr(printer, "jobs") else None  # what a simulator printed
    assert after.online is not False, "the printer went away while printing"
    if filed is not None:
        assert len(filed) == 1 and decode_file(filed[0]).qr_payloads == [receipt.dossier_number]


def test_a_closed_printer_prints_nothing_and_says_so(printer_backend, hal_config, sim_dir, receipt):
    printer = _device("printer", printer_backend, hal_config, sim_dir)
    assert printer.status().online is False
    with pytest.raises(PrinterNotFound):
        printer.print_receipt(receipt)


# --- indicator -----------------------------------------------------------------
def test_indicator_shows_every_light(indicator_backend, hal_config, sim_dir):
    shown = []
    with _opened(_device("indicator", indicator_backend, hal_config, sim_dir)) as indicator:
        for light in Light:
            indicator.show(light)
            shown.append(indicator.light)
    assert shown == list(Light)


def test_indicator_takes_a_call_button_callback(indicator_backend, hal_config, sim_dir):
    presses = []
    with _opened(_device("indicator", indicator_backend, hal_config, sim_dir)) as indicator:
        indicator.on_call_button(lambda: presses.append("pressed"))
        press = getattr(indicator, "press_call_button", None)
        if press is None:
            pytest.skip(f"only a finger presses the {indicator.backend_name} call button")
        press()  # the simulator's pin goes low then high, as under a finger
    assert presses == ["pressed"]


def test_a_closed_indicator_refuses_to_show(indicator_backend, hal_config, sim_dir):
    indicator = _device("indicator", indicator_backend, hal_config, sim_dir)
    with pytest.raises(HalError):
        indicator.show(Light.READY)
