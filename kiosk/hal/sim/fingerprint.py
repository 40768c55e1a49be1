"""The simulated fingerprint sensor: the real R503 backend and the real library, talking to an emulated sensor.

:class:`SimFingerprintSensor` is :class:`~kiosk.hal.r503_fingerprint.R503Sensor`
unchanged, connected to a :class:`~kiosk.hal.sim.r503_emulator.SensorEmulator`
on a pseudo-terminal instead of ``/dev/serial0``: every reading crosses the
sensor's packet protocol, adafruit_fingerprint and our work-arounds.

What the next attempts will be is a queue of outcomes, set by
:meth:`SimFingerprintSensor.script` or, from outside the process, by writing
a JSON list to ``<sim_dir>/fingerprint/script.json``::

    ["too_wet", "good"]

The list is read again whenever the file changes and replaces the outcomes
still waiting; they are consumed one per finger the sensor sees. When the
queue is empty every finger is a good one. ``good``, ``no_finger``,
``too_light``, ``too_wet`` and ``too_dry`` choose how the finger touches the
glass; whether the image is kept is decided, as for a real sensor, by
:func:`kiosk.core.fingerprint_quality.assess_print`. ``timeout`` is a citizen who
never puts a finger (the reading raises :class:`SensorTimeout` after its
timeout), ``unplugged`` a command lost on a loose cable (the reading raises
:class:`SensorUnavailable`, the next one reconnects), ``corrupt`` a reply
damaged on the line (retried, so the reading still succeeds).

The emulator does not pace replies at the line rate here (an image would
take 1.6 s at 115200 baud on every attempt of every test); ``bench/`` does.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from kiosk.hal.r503_fingerprint import R503Sensor
from kiosk.hal.sim.control import ControlFile
from titres.durable import write_atomic
from kiosk.hal.sim.r503_emulator import OUTCOMES, SensorEmulator, check_outcomes

log = logging.getLogger(__name__)

GUIDE_MODES = ("idle", "place", "ok", "retry")


def script_file(sim_dir: Path) -> Path:
    return Path(sim_dir) / "fingerprint" / "script.json"


def write_script_file(sim_dir: Path, outcomes: list[str]) -> Path:
    """What a scenario or a person does from outside: script the next fingers."""
    check_outcomes(outcomes)
    return write_atomic(script_file(sim_dir), json.dumps(list(outcomes)).encode("utf-8"))


class _ScriptFile:
    """The script file as the emulator polls it: a new, valid list when the file changed, else ``None``."""

    def __init__(self, path: Path) -> None:
        self._control = ControlFile(path)

    def __call__(self) -> list[str] | None:
        changed, text = self._control.poll()
        if not changed or text is None:
            return None
        try:
            outcomes = json.loads(text)
            if not isinstance(outcomes, list):
                raise ValueError("the script is a JSON list of outcomes")
            check_outcomes(outcomes)
        except ValueError as exc:
            log.warning("ignoring %s: %s", self._control.path, exc)
            return None
        return outcomes


class SimFingerprintSensor(R503Sensor):
    """The R503 backend on an emulated sensor (model ``hal.sim_fingerprint_model``)."""

    backend_name = "sim"

    def __init__(self, hal_config, sim_dir: Path, *, rng: np.random.Generator | None = None,
                 emulator: SensorEmulator | None = None) -> None:
        super().__init__(hal_config, sim_dir)
        self.sim_dir = Path(sim_dir)
        self.emulator = emulator or SensorEmulator(
            model=hal_config.sim_fingerprint_model, password=hal_config.fingerprint_password,
            baud=hal_config.serial_baud, rng=rng, script_source=_ScriptFile(script_file(self.sim_dir)))

    def script(self, *outcomes: str) -> None:
        """Queue the next attempts' outcomes, after those already waiting."""
        self.emulator.script(*outcomes)

    @property
    def pending(self) -> list[str]:
        return self.emulator.pending

    @property
    def led_history(self) -> list[tuple[int, int, int, int]]:
        """Each AuraLedConfig the emulated ring received: ``(control, speed, colour, cycles)``."""
        return self.emulator.led_history

    def _open(self) -> None:
        self.port = self.emulator.start()
        try:
            super()._open()
        except Exception:
            self.emulator.stop()
            raise

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self.emulator.stop()

    def _self_test(self) -> str:
        return f"emulated {self.emulator.model.name.upper()}: {super()._self_test()}"


__all__ = ["SimFingerprintSensor", "OUTCOMES", "GUIDE_MODES", "script_file", "write_script_file"]
