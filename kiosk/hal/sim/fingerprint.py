"""The simulated fingerprint sensor: scripted fingers, real images, the shared verdict.

What the next attempts will be is a queue of outcomes, set by
:meth:`SimFingerprintSensor.script` or, from outside the process, by writing
a JSON list to ``<sim_dir>/fingerprint/script.json``::

    ["too_wet", "good"]

The list is read again whenever the file changes and replaces the outcomes
still waiting; they are consumed one per :meth:`~SimFingerprintSensor.read`.
When the queue is empty every finger is a good one.

``good``, ``no_finger``, ``too_light``, ``too_wet`` and ``too_dry`` only
choose how the finger touches the glass (:mod:`kiosk.hal.sim.prints`);
whether the image is kept is decided, as for the real sensor, by
:func:`kiosk.fingerprint_quality.assess_print`. ``unplugged`` raises
:class:`SensorUnavailable` and ``timeout`` raises :class:`SensorTimeout`, as
a sensor that stopped answering or a citizen who never put a finger would.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections import deque
from pathlib import Path

import numpy as np
from PIL import Image

from kiosk.errors import SensorTimeout, SensorUnavailable
from kiosk.fingerprint_quality import assess_print
from kiosk.hal.fingerprint import FingerprintSensor
from kiosk.hal.sim.control import ControlFile, write_atomic
from kiosk.hal.sim.prints import CONDITIONS, render_print
from kiosk.readings import FingerReading

log = logging.getLogger(__name__)

OUTCOMES = CONDITIONS + ("unplugged", "timeout")
GUIDE_MODES = ("idle", "place", "ok", "retry")
TEMPLATE_BYTES = 512  # an R307 character file / template is 512 bytes


def script_file(sim_dir: Path) -> Path:
    return Path(sim_dir) / "fingerprint" / "script.json"


def write_script_file(sim_dir: Path, outcomes: list[str]) -> Path:
    """What a scenario or a person does from outside: script the next fingers."""
    _check(outcomes)
    return write_atomic(script_file(sim_dir), json.dumps(list(outcomes)).encode("utf-8"))


def _check(outcomes) -> None:
    bad = [o for o in outcomes if o not in OUTCOMES]
    if bad:
        raise ValueError(f"unknown fingerprint outcomes {bad}; choose from {OUTCOMES}")


def png_bytes(image: np.ndarray) -> bytes:
    """Lossless, 8-bit grey: what the dossier keeps of a fingerprint."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8), "L").save(buf, format="PNG")
    return buf.getvalue()


def fake_template(image: np.ndarray) -> bytes:
    """512 bytes that depend only on the image, standing in for the sensor's template.

    Not a biometric template: a hash of coarse block features, so two
    different images give different bytes and the same image the same bytes.
    """
    grey = np.asarray(image, dtype=np.uint8)
    h, w = grey.shape[0] // 16 * 16, grey.shape[1] // 16 * 16
    features = grey[:h, :w].reshape(h // 16, 16, w // 16, 16).mean(axis=(1, 3)).astype(np.uint8)
    return hashlib.shake_256(b"kiosk-sim-template\x00" + features.tobytes()).digest(TEMPLATE_BYTES)


class SimFingerprintSensor(FingerprintSensor):
    """An R307-class sensor (256 x 288, 8-bit grey) that plays a script of outcomes."""

    backend_name = "sim"

    def __init__(self, hal_config, sim_dir: Path, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.sim_dir = Path(sim_dir)
        self._rng = rng if rng is not None else np.random.default_rng()
        self._queue: deque[str] = deque()
        self._control = ControlFile(script_file(self.sim_dir))
        self.led_mode = "idle"
        self.led_history: list[str] = []
        self.readings = 0

    def script(self, *outcomes: str) -> None:
        """Queue the next attempts' outcomes, after those already waiting."""
        _check(outcomes)
        self._queue.extend(outcomes)

    @property
    def pending(self) -> list[str]:
        self._poll_control()
        return list(self._queue)

    def _poll_control(self) -> None:
        changed, text = self._control.poll()
        if not changed or text is None:
            return
        try:
            outcomes = json.loads(text)
            if not isinstance(outcomes, list):
                raise ValueError("the script is a JSON list of outcomes")
            _check(outcomes)
        except ValueError as exc:
            log.warning("ignoring %s: %s", self._control.path, exc)
            return
        self._queue = deque(outcomes)

    def _next_outcome(self) -> str:
        self._poll_control()
        return self._queue.popleft() if self._queue else "good"

    # --- lifecycle --------------------------------------------------------
    def _open(self) -> None:
        self.led_mode = "idle"

    def _self_test(self) -> str:
        if not self.is_open:
            raise SensorUnavailable("sensor is closed")
        quality, feedback = assess_print(render_print("good", self._rng))
        if feedback is not None:
            raise RuntimeError(f"a good simulated print was judged {feedback}")
        return f"simulated R307 256x288, test print quality {quality}"

    # --- the facade -------------------------------------------------------
    def read(self, timeout_s: float = 10.0) -> FingerReading:
        if not self.is_open:
            raise SensorUnavailable("sensor is closed")
        outcome = self._next_outcome()
        self.readings += 1
        if outcome == "unplugged":
            raise SensorUnavailable("simulated sensor unplugged")
        if outcome == "timeout":
            raise SensorTimeout(f"no finger within {timeout_s:g} s")
        image = render_print(outcome, self._rng)
        quality, feedback = assess_print(image)
        if feedback == "no_finger":
            # The real sensor captures nothing without a finger: no image to hand over.
            return FingerReading(ok=False, feedback=feedback, image=None, quality=0)
        ok = feedback is None
        return FingerReading(ok=ok, feedback=feedback, image=png_bytes(image), quality=quality,
                             template=fake_template(image) if ok else None)

    def guide(self, mode: str) -> None:
        if mode not in GUIDE_MODES:
            raise ValueError(f"unknown guide mode {mode!r}; choose from {GUIDE_MODES}")
        self.led_mode = mode
        self.led_history.append(mode)
