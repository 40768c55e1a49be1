"""Hardware behind facades, backends chosen in one place.

As gpiozero picks a pin factory, :func:`open_devices` picks each device's
backend from the configuration (``KIOSK_HAL=sim``, or per device
``KIOSK_HAL_PRINTER=usb``). Backend modules are imported here, lazily, and
only here: screens and the core never import a backend, and ``import kiosk``
works on a PC without picamera2, pyusb or a serial port.

There is no silent fallback: a backend that cannot load raises
:class:`~titres.errors.BackendUnavailable`, the app stops loudly, the
supervisor restarts it and the fleet view shows it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from titres.errors import BackendUnavailable, ConfigError
from kiosk.hal.audio import AudioOutput
from kiosk.hal.camera import Camera
from kiosk.hal.fingerprint import FingerprintSensor
from kiosk.hal.indicator import Indicator
from kiosk.hal.printer import ReceiptPrinter
from kiosk.hal.scanner import CodeScanner

#: device → backend name → "module:Class". ``pi`` names the Raspberry Pi backend of each device.
BACKENDS: dict[str, dict[str, str]] = {
    "camera": {
        "sim": "kiosk.hal.sim.camera:SimCamera",
        "picamera2": "kiosk.hal.pi.picamera2_camera:Picamera2Camera",
        "opencv": "kiosk.hal.opencv_camera:OpenCVCamera",
    },
    "scanner": {
        "pyzbar": "kiosk.hal.pyzbar_scanner:PyzbarScanner",
        "zxing": "kiosk.hal.zxing_scanner:ZxingScanner",
        "chain": "kiosk.hal.chain_scanner:ChainScanner",
    },
    "fingerprint": {
        "sim": "kiosk.hal.sim.fingerprint:SimFingerprintSensor",
        "r503": "kiosk.hal.r503_fingerprint:R503Sensor",
    },
    "printer": {
        "sim": "kiosk.hal.sim.printer:SimPrinter",
        "usb": "kiosk.hal.escpos_printer:UsbPrinter",
    },
    "indicator": {
        "sim": "kiosk.hal.sim.indicator:SimIndicator",
        "gpio": "kiosk.hal.gpio_indicator:GpioIndicator",
    },
    "audio": {
        "sim": "kiosk.hal.sim.audio:SimAudioOutput",
        "alsa": "kiosk.hal.alsa_audio:AlsaAudioOutput",
    },
}

ALIASES: dict[str, dict[str, str]] = {
    "sim": {"scanner": "chain"},
    "pi": {"camera": "picamera2", "scanner": "chain", "fingerprint": "r503", "printer": "usb", "indicator": "gpio",
           "audio": "alsa"},
}


def resolve(device: str, name: str) -> str:
    """The concrete backend name for ``device`` when the configuration says ``name``."""
    name = ALIASES.get(name, {}).get(device, name)
    if name not in BACKENDS[device]:
        raise ConfigError(f"no backend {name!r} for {device}; choose from {sorted(BACKENDS[device])}")
    return name


def load_backend(device: str, name: str) -> type:
    target = BACKENDS[device][resolve(device, name)]
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendUnavailable(f"{device} backend {name!r} cannot load: {exc}") from exc
    return getattr(module, class_name)


@dataclass
class Devices:
    camera: Camera
    scanner: CodeScanner
    fingerprint: FingerprintSensor
    printer: ReceiptPrinter
    indicator: Indicator
    audio: AudioOutput
    backends: dict[str, str] = field(default_factory=dict)

    def all(self) -> list[Any]:
        return [self.camera, self.scanner, self.fingerprint, self.printer, self.indicator, self.audio]

    def open(self) -> "Devices":
        for d in self.all():
            d.open()
        return self

    def close(self) -> None:
        for d in self.all():
            d.close()

    def __enter__(self) -> "Devices":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()


def create_devices(hal_config, sim_dir: Path) -> Devices:
    """Instantiate (not open) each device with the backend its configuration names.

    Every backend class takes ``(hal_config, sim_dir)``: the Pi backends read
    their ports and ids from the first, the simulators keep their output and
    controls in the second.
    """
    made: dict[str, Any] = {}
    chosen: dict[str, str] = {}
    for device in BACKENDS:
        name = resolve(device, hal_config.backend_for(device))
        cls = load_backend(device, name)
        made[device] = cls(hal_config, Path(sim_dir))
        chosen[device] = name
    return Devices(backends=chosen, **made)
