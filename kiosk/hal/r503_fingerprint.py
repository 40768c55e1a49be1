"""The R503 / R307 fingerprint sensor on the UART, through ``adafruit_fingerprint`` over a ``serial.Serial``.

One :meth:`R503Sensor.read` is one attempt, as the citizen lives it: wait
for a finger (GenImg), **upload the raw image** (UpImage: the sensor's own
greyscale pixels, which the dossier keeps losslessly), judge it with the
same pixel analysis as every image (:func:`kiosk.core.fingerprint_quality.assess_print`),
and ask the sensor for a template (Img2Tz, UpChar) when the image is kept.

Work-arounds for defects of adafruit_fingerprint 2.2 (REFERENCE.md), each
tested against the emulator (:mod:`kiosk.hal.sim.r503_emulator`):

- reception recurses once per data packet, so an image in 32-byte packets
  (1,152 packets) overflows the stack: data uploads are read here, in a loop;
- received checksums are never checked: acknowledgements and data packets
  are read and checked here, and a corrupt one is retried once;
- a short read raises a bare ``RuntimeError``: no answer and a wrong
  password are told apart, and both become :class:`SensorUnavailable`.

The line rate bounds every attempt: an R307 image is 36,864 bytes, 7.0 s at
the 57600 baud the sensors ship with, 3.7 s at 115200 (framing included;
``bench/bench_fingerprint.py``). At open the sensor is
asked to switch to ``hal.fingerprint_fast_baud`` (system parameter 4, which
the sensor keeps across power cycles, so the handshake tries the configured
rate, then the fast one, then the other standard ones).
"""

from __future__ import annotations

import functools
import io
import logging
import struct
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

from titres.errors import BackendUnavailable, SensorTimeout, SensorUnavailable
from kiosk.core.fingerprint_quality import assess_print
from kiosk.hal.fingerprint import FingerprintSensor
from kiosk.hal.r503_protocol import (ACK, BROADCAST, DATA, END_DATA, FEATURE_FAIL, HEADER_BYTES, IMAGE_FAIL,
                                     IMAGE_MESSY, IMAGE_SIZES, INVALID_IMAGE, NO_FINGER, OK, START, UPCHAR, UPIMAGE,
                                     WRONG_PASSWORD, checksum, unpack_nibbles)
from kiosk.core.readings import FingerReading

log = logging.getLogger(__name__)

_MAX_JUNK_BYTES = 64

#: Rates the sensors accept (9600 x N); the handshake tries them in this order after the configured ones.
STANDARD_BAUDS = (57600, 115200, 9600, 19200, 38400)

#: guide mode -> AuraLedConfig (control, speed, colour, cycles). Control: 1 breathing, 2 flashing,
#: 3 on, 4 off. Colour: 1 red, 2 blue, 3 purple. The ring says "put your finger here" (blue,
#: breathing), "got it" (one purple flash), "try again" (red, three flashes), and goes dark between.
LED_MODES = {"idle": (4, 0, 0, 0), "place": (1, 0x60, 2, 0), "ok": (2, 0x20, 3, 1), "retry": (2, 0x30, 1, 3)}

#: Img2Tz refusals -> the advice when our own analysis of the pixels found nothing to say.
_SENSOR_FEEDBACK = {IMAGE_MESSY: "too_wet", FEATURE_FAIL: "too_light", INVALID_IMAGE: "too_light"}


class _NoReply(Exception):
    """Nothing, or not all of a packet, arrived within the serial timeout."""


class _CorruptPacket(Exception):
    """A packet arrived with a wrong start code, address, type or checksum."""


class _PasswordRefused(Exception):
    pass


def png_bytes(image: np.ndarray) -> bytes:
    """Lossless, 8-bit grey: what the dossier keeps of a fingerprint."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8), "L").save(buf, format="PNG")
    return buf.getvalue()


@functools.cache
def _checked_library_class() -> type:
    """``Adafruit_Fingerprint`` with its packet reception replaced by one that checks what it reads.

    Built on first use so that the module imports (and the registry lists
    it) where the library is missing; :class:`BackendUnavailable` then says so.
    """
    try:
        import adafruit_fingerprint
    except ImportError as exc:
        raise BackendUnavailable(f"adafruit_fingerprint cannot load (pip install "
                                 f"adafruit-circuitpython-fingerprint): {exc}") from exc

    class CheckedFingerprint(adafruit_fingerprint.Adafruit_Fingerprint):
        def verify_password(self) -> int:
            code = super().verify_password()
            if code == WRONG_PASSWORD:
                raise _PasswordRefused()
            return code

        def _read_packet(self) -> tuple[int, bytes]:
            head = self._resync()
            if len(head) < HEADER_BYTES:
                raise _CorruptPacket(f"a packet cut short after {len(head)} bytes")
            address, kind, length = struct.unpack(">IBH", head[2:HEADER_BYTES])
            if head[:2] != START or address != BROADCAST or length < 2:
                raise _CorruptPacket(f"a malformed header {head.hex()}")
            rest = self._uart.read(length)
            if len(rest) < length:
                raise _CorruptPacket(f"a packet cut short: {len(rest)} of {length} bytes")
            payload, received = rest[:-2], struct.unpack(">H", rest[-2:])[0]
            if received != checksum(head[6:HEADER_BYTES] + payload):
                raise _CorruptPacket("a wrong checksum")
            return kind, payload

        def _resync(self) -> bytes:
            """Up to a packet's header bytes, starting at its start code.

            A sensor sends a lone 0x55 when it powers up; that, or the tail of
            an abandoned upload, is skipped instead of failing the next reply.
            """
            skipped = 0
            while True:
                first = self._uart.read(1)
                if not first:
                    raise _NoReply("no answer")
                if first == START[:1]:
                    return first + self._uart.read(HEADER_BYTES - 1)
                skipped += 1
                if skipped > _MAX_JUNK_BYTES:
                    raise _CorruptPacket(f"{skipped} bytes without a start code")

        def _get_packet(self, expected: int) -> list[int]:
            kind, payload = self._read_packet()
            if kind != ACK:
                raise _CorruptPacket(f"packet type {kind:#04x} where an acknowledgement was due")
            if not payload:
                raise _CorruptPacket("an empty acknowledgement")
            return list(payload)

        def _get_data(self, expected: int) -> list[int]:
            return list(self.read_data())

        def read_data(self) -> bytes:
            """The data packets that follow an upload's acknowledgement, joined, in a loop (not recursion)."""
            out = bytearray()
            while True:
                kind, payload = self._read_packet()
                if kind not in (DATA, END_DATA):
                    raise _CorruptPacket(f"packet type {kind:#04x} inside an upload")
                out += payload
                if kind == END_DATA:
                    return bytes(out)

        def upload(self, instruction: list[int]) -> bytes | int:
            """Send an upload command; the data, or the refusal's confirmation code."""
            self._send_packet(instruction)
            code = self._get_packet(12)[0]
            return self.read_data() if code == OK else code

    return CheckedFingerprint


def _open_serial(port: str, baud: int, timeout_s: float) -> Any:
    try:
        import serial
    except ImportError as exc:
        raise BackendUnavailable(f"pyserial cannot load: {exc}") from exc
    try:
        return serial.Serial(port, baud, timeout=timeout_s)
    except serial.SerialException as exc:
        raise SensorUnavailable(f"cannot open {port}: {exc} (is the UART enabled and the user in dialout?)") from exc


class R503Sensor(FingerprintSensor):
    """An R503 (192x192, LED ring) or R307-class (256x288) sensor on ``hal.serial_port``.

    A sensor that stops answering is closed on our side and reconnected at
    the next :meth:`read`, so a cable put back is enough. ``open_serial``
    (``(port, baud, timeout_s) -> serial.Serial``) is for tests that count
    or break the connection; it defaults to pyserial.
    """

    backend_name = "r503"
    reply_timeout_s = 1.0  # an acknowledgement takes well under 0.5 s (GenImg is the slowest)
    poll_interval_s = 0.05

    def __init__(self, hal_config, sim_dir: Path | None = None, *,
                 open_serial: Callable[[str, int, float], Any] | None = None) -> None:
        super().__init__()
        self.hal_config = hal_config
        self.port = hal_config.serial_port
        self._open_serial = open_serial or _open_serial
        self._uart: Any = None
        self._finger: Any = None
        self.baud: int | None = None
        self.has_led_ring = True
        self.parameters: dict[str, Any] = {}

    # --- connection ---------------------------------------------------------
    def _bauds_to_try(self) -> list[int]:
        """Every plausible rate at the first connection; afterwards only the one that worked.

        The sensor keeps its rate across power cycles, so a reconnection at
        the last good rate is right, and costs one timeout, not five, when the
        sensor is really gone.
        """
        if self.baud:
            return [self.baud]
        configured = [self.hal_config.serial_baud, self.hal_config.fingerprint_fast_baud]
        return list(dict.fromkeys([b for b in configured if b] + list(STANDARD_BAUDS)))

    def _connect(self) -> Any:
        """Handshake at each plausible rate, then move to the fast one; the library object, or an error."""
        if self._finger is not None:
            return self._finger
        library = _checked_library_class()
        password = self.hal_config.fingerprint_password
        tried = []
        for baud in self._bauds_to_try():
            uart = self._open_serial(self.port, baud, self.reply_timeout_s)
            try:
                finger = library(uart, tuple(password.to_bytes(4, "big")))
            except _PasswordRefused:
                uart.close()
                raise SensorUnavailable("the sensor refused the password (hal.fingerprint_password)") from None
            except (_NoReply, _CorruptPacket, RuntimeError) as exc:
                uart.close()
                tried.append(f"{baud}: {exc}")
                continue
            self._uart, self._finger, self.baud = uart, finger, baud
            self._raise_baud()
            self._read_parameters()
            log.info("fingerprint sensor on %s", self.port, extra=self.parameters)
            return self._finger
        raise SensorUnavailable(f"no fingerprint sensor answers on {self.port} ({'; '.join(tried)})")

    def _raise_baud(self) -> None:
        fast = self.hal_config.fingerprint_fast_baud
        if not fast or fast == self.baud:
            return
        try:
            self._finger.set_sysparam(4, fast // 9600)
        except (_NoReply, _CorruptPacket, RuntimeError) as exc:
            log.warning("fingerprint sensor stays at %d baud: %s", self.baud, exc)
            return
        self._uart.baudrate = fast
        self.baud = fast

    def _read_parameters(self) -> None:
        f = self._finger
        f.read_sysparam()
        self.parameters = {"baud": self.baud, "system_id": f.system_id, "library_size": f.library_size,
                           "security_level": f.security_level, "packet_bytes": 32 << f.data_packet_size,
                           "port": self.port}

    def _disconnect(self) -> None:
        uart, self._uart, self._finger = self._uart, None, None
        if uart is not None:
            try:
                uart.close()
            except OSError as exc:  # a vanished USB-serial adapter; nothing left to release
                log.debug("closing %s: %s", self.port, exc)

    def _command(self, call: Callable[[Any], Any], what: str) -> Any:
        """Run one exchange; a corrupt reply is retried once after flushing, no reply drops the connection."""
        for attempt in (1, 2):
            finger = self._connect()
            try:
                return call(finger)
            except _CorruptPacket as exc:
                if attempt == 2:
                    self._disconnect()
                    raise SensorUnavailable(f"{what}: corrupt replies from the sensor ({exc})") from exc
                log.warning("fingerprint sensor, %s: %s; retrying", what, exc)
                self._drain_line()
            except _NoReply as exc:
                self._disconnect()
                raise SensorUnavailable(f"{what}: the sensor stopped answering") from exc
            except OSError as exc:
                self._disconnect()
                raise SensorUnavailable(f"{what}: {exc}") from exc

    def _drain_line(self, quiet_s: float = 0.1) -> None:
        """Discard what the sensor is still sending (the rest of an upload may stream for seconds) until the line is quiet."""
        uart = self._uart
        saved = uart.timeout
        uart.timeout = quiet_s
        try:
            while uart.read(4096):
                pass
        finally:
            uart.timeout = saved

    # --- lifecycle ----------------------------------------------------------
    def _open(self) -> None:
        self._connect()

    def _close(self) -> None:
        if self._finger is not None and self.has_led_ring:
            try:
                self._set_led("idle")
            except (SensorUnavailable, _NoReply, _CorruptPacket):
                pass
        self._disconnect()

    def _self_test(self) -> str:
        self._command(lambda f: f.read_sysparam(), "read the parameters")
        self._read_parameters()
        p = self.parameters
        return (f"{p['port']} at {p['baud']} baud, system id {p['system_id']:#06x}, "
                f"security level {p['security_level']}, {p['packet_bytes']}-byte packets")

    # --- the facade -----------------------------------------------------------
    def read(self, timeout_s: float = 10.0) -> FingerReading:
        if not self.is_open:
            raise SensorUnavailable("sensor is closed")
        deadline = time.monotonic() + timeout_s
        while True:
            code = self._command(lambda f: f.get_image(), "wait for a finger")
            if code == OK:
                break
            if code not in (NO_FINGER, IMAGE_FAIL):
                raise SensorUnavailable(f"GenImg answered {code:#04x}")
            if time.monotonic() >= deadline:
                if self.has_led_ring:
                    self._set_led("idle")  # stop inviting a finger nobody is giving
                raise SensorTimeout(f"no finger within {timeout_s:g} s")
            time.sleep(self.poll_interval_s)
        image = self._upload_image()
        quality, feedback = assess_print(image)
        if feedback == "no_finger":
            return FingerReading(ok=False, feedback=feedback, image=None, quality=0)
        code = self._command(lambda f: f.image_2_tz(1), "make a template")
        template = None
        if code == OK and feedback is None:
            template = self._command(lambda f: f.upload([UPCHAR, 1]), "upload the template")
            if isinstance(template, int):
                raise SensorUnavailable(f"UpChar answered {template:#04x}")
        elif feedback is None:
            feedback = _SENSOR_FEEDBACK.get(code)
            if feedback is None:
                raise SensorUnavailable(f"Img2Tz answered {code:#04x}")
        return FingerReading(ok=feedback is None, feedback=feedback, image=png_bytes(image), quality=quality,
                             template=template)

    def _upload_image(self) -> np.ndarray:
        data = self._command(lambda f: f.upload([UPIMAGE]), "upload the image")
        if isinstance(data, int):
            raise SensorUnavailable(f"UpImage answered {data:#04x}")
        if len(data) not in IMAGE_SIZES:
            raise SensorUnavailable(f"an image of {len(data)} bytes, not a known sensor's")
        width, height = IMAGE_SIZES[len(data)]
        return unpack_nibbles(data, width, height)

    def guide(self, mode: str) -> None:
        """Light the ring; never raises for the sensor's sake: guidance is a help, the screen says it too.

        A sensor that is not connected now is left alone (no reconnection
        for a light); the next :meth:`read` reconnects and reports.
        """
        if mode not in LED_MODES:
            raise ValueError(f"unknown guide mode {mode!r}; choose from {sorted(LED_MODES)}")
        if not self.has_led_ring or not self.is_open or self._finger is None:
            return
        try:
            self._set_led(mode)
        except SensorUnavailable as exc:
            log.warning("fingerprint ring not lit: %s", exc)

    def _set_led(self, mode: str) -> None:
        control, speed, colour, cycles = LED_MODES[mode]
        code = self._command(lambda f: f.set_led(color=colour, mode=control, speed=speed, cycles=cycles),
                             "light the ring")
        if code != OK:
            self.has_led_ring = False  # an R307 has no ring: guidance is on screen only
            log.info("fingerprint sensor has no LED ring (AuraLedConfig answered %#04x)", code)
