"""An R503 / R307 fingerprint sensor on a pseudo-terminal, speaking the sensor's own packet protocol.

The real backend (:mod:`kiosk.hal.r503_fingerprint`) and the real
``adafruit_fingerprint`` library open the emulator's port exactly as they
open ``/dev/serial0`` on a Raspberry Pi, so everything above the wire (the
library, its defects, our work-arounds, the error mapping) is exercised.

The wire format is in :mod:`kiosk.hal.r503_protocol`, shared with the
backend. Commands implemented: VfyPwd 13, ReadSysPara 0F, SetSysPara 0E
(4 baud, 5 security level, 6 packet size), GenImg 01, Img2Tz 02, UpImage
0A, UpChar 08, TempleteNum 1D, AuraLedConfig 35 (R503 only), GetEcho 53,
SoftReset 3D. Anything else is answered 01, as the sensors do.

What the emulator does not fake:

- **The line rate.** The pseudo-terminal carries the speed the host set
  (``termios``); when it differs from the sensor's own baud rate the
  emulator drops what it received, as a UART would read framing errors.
  With ``pace=True`` replies leave no faster than the line allows (10 bits
  per byte), which is what makes an R307 image upload take 7 s at 57600 baud.
- **The images.** An image is a print rendered for the scripted condition
  (:mod:`kiosk.hal.sim.prints`), cropped to the model's window and sent as
  the sensors do: 4 bits per pixel, two pixels per byte, high nibble first.

What it does fake: the template (UpChar) is 512 opaque bytes derived from
the image, not a biometric template, and Img2Tz's verdict follows the
scripted condition (a real sensor's firmware judges the pixels itself).

Outcomes, consumed one per GenImg that finds a finger (see
:data:`OUTCOMES`): ``good``, ``too_light``, ``too_wet``, ``too_dry`` and
``no_finger`` (something touched the glass but left no print) choose the
image; ``timeout`` answers "no finger" to every GenImg until the host sends
any other command or stops polling for a moment (the citizen never came,
and the kiosk gave up waiting); ``unplugged`` leaves that
command unanswered (a loose cable); ``corrupt`` answers it with a wrong
checksum (noise on the line).
"""

from __future__ import annotations

import hashlib
import logging
import os
import select
import struct
import termios
import threading
import time
import tty
from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np

from kiosk.hal.r503_protocol import (ACK, AURA, BAD_REGISTER, BROADCAST, COMMAND, DATA, END_DATA, FEATURE_FAIL,
                                     GENIMG, GETECHO, IMAGE_MESSY, IMG2TZ, INVALID_IMAGE, MODULE_OK, NO_FINGER, OK,
                                     PACKET_ERROR, PACKET_SIZES, READSYSPARA, SETSYSPARA, SOFTRESET, START,
                                     TEMPLATENUM, UPCHAR, UPCHAR_FAIL, UPIMAGE, UPLOAD_FAIL, VFYPWD, WRONG_PASSWORD,
                                     checksum, pack_nibbles, packet)
from kiosk.hal.sim.prints import CONDITIONS, HEIGHT, WIDTH, render_print

log = logging.getLogger(__name__)

TEMPLATE_BYTES = 512
BITS_PER_BYTE_ON_LINE = 10  # start bit, 8 data bits, stop bit

#: A pause this long in the host's GenImg polling ends a ``timeout`` outcome: the host stopped waiting.
ABSENCE_ENDS_AFTER_S = 0.5

OUTCOMES = CONDITIONS + ("timeout", "unplugged", "corrupt")

#: termios speed constants for the rates the sensors accept (9600 * N, N = 1..12).
_TERMIOS_SPEEDS = {getattr(termios, f"B{rate}"): rate for rate in (9600, 19200, 38400, 57600, 115200)}


@dataclass(frozen=True)
class Model:
    name: str
    width: int
    height: int
    has_led_ring: bool
    system_id: int


MODELS = {
    "r503": Model("r503", 192, 192, True, 0x0009),
    "r307": Model("r307", WIDTH, HEIGHT, False, 0x0000),
}


def check_outcomes(outcomes) -> None:
    bad = [o for o in outcomes if o not in OUTCOMES]
    if bad:
        raise ValueError(f"unknown fingerprint outcomes {bad}; choose from {OUTCOMES}")


def crop_to(image: np.ndarray, model: Model) -> np.ndarray:
    """The model's sensing window, centred on the rendered finger."""
    h, w = image.shape
    top, left = (h - model.height) // 2, (w - model.width) // 2
    return image[top:top + model.height, left:left + model.width]


def template_of(image: np.ndarray) -> bytes:
    """512 bytes that depend only on the image: stands in for the sensor's (opaque) character file."""
    grey = np.asarray(image, dtype=np.uint8)
    h, w = grey.shape[0] // 16 * 16, grey.shape[1] // 16 * 16
    features = grey[:h, :w].reshape(h // 16, 16, w // 16, 16).mean(axis=(1, 3)).astype(np.uint8)
    return hashlib.shake_256(b"kiosk-sim-template\x00" + features.tobytes()).digest(TEMPLATE_BYTES)


class SensorEmulator:
    """The sensor's side of the UART, served on a pseudo-terminal by a thread.

    ``start()`` returns the port path (``/dev/pts/N``) to open with
    ``serial.Serial``. The emulator keeps what a test or the simulated kiosk
    needs to look at: ``commands`` (instruction codes received, in order),
    ``led_history`` (each AuraLedConfig as ``(control, speed, colour,
    cycles)``), ``uploaded_images`` (each image as sent, 8-bit).
    """

    def __init__(self, *, model: str = "r503", password: int = 0, baud: int = 57600,
                 packet_size_code: int = 2, pace: bool = False, rng: np.random.Generator | None = None,
                 script_source: Callable[[], list[str] | None] | None = None) -> None:
        if model not in MODELS:
            raise ValueError(f"unknown sensor model {model!r}; choose from {sorted(MODELS)}")
        self.model = MODELS[model]
        self.password = password
        self.address = BROADCAST
        self.baud = baud
        self.packet_size_code = packet_size_code
        self.security_level = 3
        self.pace = pace
        self._rng = rng if rng is not None else np.random.default_rng()
        #: Polled before each outcome is taken: a new list replaces the outcomes still waiting
        #: (the simulated kiosk's ``script.json``, edited from outside the process).
        self._script_source = script_source
        self._queue: deque[str] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self.port: str | None = None
        self.plugged = True
        self._absent = False  # a "timeout" outcome in force
        self._last_genimg = 0.0
        self._image: np.ndarray | None = None
        self._condition: str | None = None
        self._template: bytes | None = None
        self._line_free_at = 0.0
        self.commands: list[int] = []
        self.led_history: list[tuple[int, int, int, int]] = []
        self.uploaded_images: list[np.ndarray] = []
        self.dropped_bytes = 0
        #: How many of the next data packets leave with a damaged payload (their checksum no longer matches).
        self.corrupt_data_packets = 0

    # --- what a test or the simulated kiosk drives --------------------------
    def script(self, *outcomes: str) -> None:
        check_outcomes(outcomes)
        with self._lock:
            self._queue.extend(outcomes)

    def replace_script(self, outcomes) -> None:
        check_outcomes(outcomes)
        with self._lock:
            self._queue = deque(outcomes)

    @property
    def pending(self) -> list[str]:
        self._poll_source()
        with self._lock:
            return list(self._queue)

    def _poll_source(self) -> None:
        if self._script_source is not None:
            outcomes = self._script_source()
            if outcomes is not None:
                self.replace_script(outcomes)

    def unplug(self) -> None:
        """The cable is out: nothing is answered until :meth:`plug`."""
        self.plugged = False

    def plug(self) -> None:
        self.plugged = True

    def power_cycle(self) -> None:
        """Lose power and come back: buffers emptied, and the lone 0x55 a sensor sends when it is ready."""
        self._image = self._template = None
        self._absent = False
        self._send(bytes([MODULE_OK]))

    # --- lifecycle ----------------------------------------------------------
    def start(self) -> str:
        if self._thread is not None:
            return self.port
        master, slave = os.openpty()
        tty.setraw(slave)  # no line discipline: 0x0A, 0x0D and 0x11 must pass untouched
        self._set_speed(slave, self.baud)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.port = os.ttyname(slave)
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="r503-emulator", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()  # every wait in the thread is bounded by the stop flag
            self._thread = None
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    def __enter__(self) -> "SensorEmulator":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @staticmethod
    def _set_speed(fd: int, baud: int) -> None:
        attrs = termios.tcgetattr(fd)
        speed = getattr(termios, f"B{baud}")
        attrs[4] = attrs[5] = speed
        termios.tcsetattr(fd, termios.TCSANOW, attrs)

    def _host_baud(self) -> int | None:
        """The rate the host set on its end of the line (a pty shares one termios between its two ends)."""
        return _TERMIOS_SPEEDS.get(termios.tcgetattr(self._master)[5])

    # --- the serving loop ---------------------------------------------------
    def _serve(self) -> None:
        buf = bytearray()
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._master], [], [], 0.05)
                if not ready:
                    continue
                chunk = os.read(self._master, 4096)
            except OSError:  # the host closed its end; keep serving the next open
                time.sleep(0.05)
                continue
            if self._host_baud() != self.baud:
                self.dropped_bytes += len(chunk)  # framing errors: the UART reads noise
                continue
            buf += chunk
            for cmd in self._packets(buf):
                self._handle(cmd)

    def _packets(self, buf: bytearray):
        """Complete, valid command packets taken off the front of ``buf``; garbage before a start code is skipped."""
        while True:
            at = buf.find(START)
            if at < 0:
                del buf[:-1]
                return
            del buf[:at]
            if len(buf) < 9:
                return
            address, kind, length = struct.unpack(">IBH", bytes(buf[2:9]))
            if len(buf) < 9 + length:
                return
            body, received = bytes(buf[6:7 + 2 + length - 2]), bytes(buf[7 + 2 + length - 2:9 + length])
            del buf[:9 + length]
            if address != self.address or kind != COMMAND or length < 3:
                continue  # not for us: a sensor stays silent
            payload = body[3:]
            if struct.unpack(">H", received)[0] != checksum(body):
                self._ack(PACKET_ERROR)
                continue
            yield payload

    def _send(self, data: bytes) -> None:
        if self.pace:
            # The line carries 10 bits per byte: wait until the previous bytes have left, then
            # until these would have.
            now = time.monotonic()
            start = max(now, self._line_free_at)
            self._line_free_at = start + len(data) * BITS_PER_BYTE_ON_LINE / self.baud
            delay = self._line_free_at - now
            if delay > 0:
                time.sleep(delay)
        self._write_all(data)

    def _write_all(self, data: bytes) -> None:
        """Write without ever blocking past :meth:`stop`: a host that stopped reading must not hang the thread."""
        view = memoryview(data)
        while view and not self._stop.is_set():
            _, writable, _ = select.select([], [self._master], [], 0.05)
            if writable:
                try:
                    view = view[os.write(self._master, view):]
                except BlockingIOError:
                    continue

    def _ack(self, code: int, extra: bytes = b"") -> None:
        self._send(packet(ACK, bytes([code]) + extra, self.address))

    def _send_data(self, data: bytes) -> None:
        size = PACKET_SIZES[self.packet_size_code]
        for offset in range(0, len(data), size):
            last = offset + size >= len(data)
            out = bytearray(packet(END_DATA if last else DATA, data[offset:offset + size], self.address))
            if self.corrupt_data_packets > 0:
                self.corrupt_data_packets -= 1
                out[9] ^= 0xFF  # a burst of noise in the payload
            self._send(bytes(out))

    # --- commands -----------------------------------------------------------
    def _next_outcome(self) -> str:
        self._poll_source()
        with self._lock:
            return self._queue.popleft() if self._queue else "good"

    def _handle(self, payload: bytes) -> None:
        if not self.plugged:
            return
        code, args = payload[0], payload[1:]
        self.commands.append(code)
        now = time.monotonic()
        if code != GENIMG or now - self._last_genimg > ABSENCE_ENDS_AFTER_S:
            self._absent = False
        if code == GENIMG:
            self._last_genimg = now
        handler = {
            VFYPWD: self._verify_password, READSYSPARA: self._read_sysparam, SETSYSPARA: self._set_sysparam,
            GENIMG: self._gen_img, IMG2TZ: self._img2tz, UPIMAGE: self._up_image, UPCHAR: self._up_char,
            TEMPLATENUM: lambda a: self._ack(OK, struct.pack(">H", 0)), AURA: self._aura,
            GETECHO: lambda a: self._ack(MODULE_OK), SOFTRESET: self._soft_reset,
        }.get(code)
        if handler is None:
            self._ack(PACKET_ERROR)
            return
        handler(args)

    def _verify_password(self, args: bytes) -> None:
        given = struct.unpack(">I", args[:4])[0] if len(args) >= 4 else None
        self._ack(OK if given == self.password else WRONG_PASSWORD)

    def _read_sysparam(self, args: bytes) -> None:
        status = 0x0004 if self._image is not None else 0x0000  # bit 2: ImgBufStat, an image is held
        params = struct.pack(">HHHHIHH", status, self.model.system_id, 200, self.security_level,
                             self.address, self.packet_size_code, self.baud // 9600)
        self._ack(OK, params)

    def _set_sysparam(self, args: bytes) -> None:
        if len(args) < 2:
            self._ack(PACKET_ERROR)
            return
        number, value = args[0], args[1]
        if number == 4 and value in (1, 2, 4, 6, 12):
            self._ack(OK)
            self._drain()
            self.baud = 9600 * value  # the new rate applies after the acknowledgement has left
        elif number == 5 and 1 <= value <= 5:
            self.security_level = value
            self._ack(OK)
        elif number == 6 and value in range(4):
            self.packet_size_code = value
            self._ack(OK)
        else:
            self._ack(BAD_REGISTER)

    def _drain(self) -> None:
        if self.pace:
            time.sleep(max(0.0, self._line_free_at - time.monotonic()))
        termios.tcdrain(self._master)

    def _gen_img(self, args: bytes) -> None:
        if self._absent:
            self._ack(NO_FINGER)
            return
        outcome = self._next_outcome()
        if outcome == "timeout":
            self._absent = True
            self._ack(NO_FINGER)
        elif outcome == "unplugged":
            return  # the command is lost on a loose cable
        elif outcome == "corrupt":
            reply = bytearray(packet(ACK, bytes([OK]), self.address))
            reply[-1] ^= 0x5A
            self._send(bytes(reply))
        else:
            self._condition = outcome
            self._image = crop_to(render_print(outcome, self._rng), self.model)
            self._template = None
            self._ack(OK)

    def _img2tz(self, args: bytes) -> None:
        if self._image is None:
            self._ack(INVALID_IMAGE)  # no valid image in the buffer
        elif self._condition == "good":
            self._template = template_of(self._image)
            self._ack(OK)
        else:
            self._ack(IMAGE_MESSY if self._condition == "too_wet" else FEATURE_FAIL)

    def _up_image(self, args: bytes) -> None:
        if self._image is None:
            self._ack(UPLOAD_FAIL)
            return
        self._ack(OK)
        self.uploaded_images.append(self._image // 16 * 17)
        self._send_data(pack_nibbles(self._image))

    def _up_char(self, args: bytes) -> None:
        if self._template is None:
            self._ack(UPCHAR_FAIL)
            return
        self._ack(OK)
        self._send_data(self._template)

    def _aura(self, args: bytes) -> None:
        if not self.model.has_led_ring or len(args) < 4:
            self._ack(PACKET_ERROR)
            return
        self.led_history.append(tuple(args[:4]))
        self._ack(OK)

    def _soft_reset(self, args: bytes) -> None:
        self._image = self._template = None
        self._ack(OK)
        self._send(bytes([MODULE_OK]))


def image_bytes(model: str) -> int:
    m = MODELS[model]
    return m.width * m.height // 2

