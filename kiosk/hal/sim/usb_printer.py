"""A simulated USB receipt printer, at the USB level: pyusb finds it, python-escpos talks to it.

:class:`SimulatedUsbPrinter` is the device; :attr:`~SimulatedUsbPrinter.backend`
is a pyusb backend (``usb.backend.IBackend``, what libusb is to pyusb on the
Pi) on which it is the one device plugged in. ``usb.core.find(backend=...)``
and so python-escpos's real ``escpos.printer.Usb`` (``usb_args={"backend":
...}``) find it and talk to it unmodified: enumeration, descriptors,
configuration, reset, interface claim, bulk transfers.

What it is, as ``lsusb -v`` would show it: vendor and product ids as
configured, device class 0 (defined by the interface), one configuration
with one interface of the printer class (7, subclass 1, protocol 2:
bidirectional), a bulk OUT endpoint 0x01 and a bulk IN endpoint 0x82, 64
bytes each (full speed); manufacturer, product and serial strings; the
printer class requests GET_DEVICE_ID (IEEE 1284 id) and GET_PORT_STATUS.

What it does with the bytes, as a thermal printer does:

* ``DLE EOT n`` (n = 1 to 4, real-time status, sent alone in a transfer as
  python-escpos's ``query_status`` does) is answered on the IN endpoint with
  the status byte of its state (Epson's bits: offline, paper end stop, paper
  near end, paper end). A read with nothing to answer fails with libusb's
  timeout error (at once: the simulation does not sit out the timeout).
* Everything else is print data. Each job, from after the previous cut up
  to and including a cut (``GS V``), is written whole to
  ``<out_dir>/<label>-NNNN.bin`` (label ``receipt`` unless told otherwise),
  numbered one past the highest on disk. A model without a cutter never
  sends ``GS V``: :meth:`SimulatedUsbPrinter.tear_off` is the person
  tearing the paper off, and files what was printed since.
* Without paper it goes offline, answers status requests, takes the bytes
  and prints nothing (nothing is written); a roll of ``roll_bytes`` runs out
  part-way through a job, as paper does.

What can go wrong, as libusb reports it:

* ``unplugged``: absent from enumeration; every handle and transfer fails
  with ``USBError`` errno ``ENODEV`` ("No such device (it may have been
  disconnected)"). Plugged back, it enumerates under a new address and a
  handle from before stays dead, as after a real replug.
* ``busy``: another driver holds the interface (the kernel's ``usblp``, CUPS,
  ipp-usb): setting the configuration and claiming the interface fail with
  errno ``EBUSY`` ("Resource busy").
* ``stalled``: the printer stops taking data (paper jam, full buffer): bulk
  writes time out.

Its state can follow a control file (``control``, see
:mod:`kiosk.hal.sim.printer`): one word of :data:`STATES`, re-read when it
changes, an absent file meaning plugged in with paper.
"""

from __future__ import annotations

import array
import errno
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import usb.backend
import usb.core

from kiosk.hal.sim.escpos_decode import split_jobs
from kiosk.hal.sim.control import ControlFile
from titres.durable import write_atomic

log = logging.getLogger(__name__)

#: The words of the control file: the paper (``ok``, ``near_end``, ``out``), or the cable and the driver.
STATES = ("ok", "near_end", "out", "unplugged", "busy")
PAPER_STATES = ("ok", "near_end", "out")
JOB_FILE = re.compile(r"^([a-z]+)-(\d+)\.bin$")

OUT_EP, IN_EP = 0x01, 0x82
PRINTER_CLASS, PRINTER_SUBCLASS, BIDIRECTIONAL = 7, 1, 2
_BULK = 0x02
_MAX_PACKET = 64

# libusb's errors as pyusb's libusb1 backend raises them (strerror, libusb code, errno).
_NO_DEVICE = ("No such device (it may have been disconnected)", -4, errno.ENODEV)
_BUSY = ("Resource busy", -6, errno.EBUSY)
_TIMEOUT = ("Operation timed out", -7, errno.ETIMEDOUT)
_PIPE = ("Pipe error", -9, errno.EPIPE)
_INVALID = ("Invalid parameter", -2, errno.EINVAL)

# Real-time status bytes (DLE EOT n): bits 1 and 4 always set.
_FIXED = 0x12
_OFFLINE = 0x08  # n = 1
_PAPER_END_STOP = 0x20  # n = 2: offline because the paper ran out
_NEAR_END_BITS = 0x0C  # n = 4: roll near-end sensor
_PAPER_END_BITS = 0x60  # n = 4: roll end sensor
_REALTIME = re.compile(rb"(?:\x10\x04[\x01-\x04])+\Z")


def _usb_error(error: tuple[str, int, int]) -> usb.core.USBError:
    cls = usb.core.USBTimeoutError if error is _TIMEOUT else usb.core.USBError
    return cls(*error)


@dataclass(frozen=True)
class _Plugged:
    """One connection of the device to the bus: what libusb enumerates, until it is unplugged."""

    address: int


class _Handle:
    """An open device handle (``libusb_open``): valid for as long as that connection lasts."""

    def __init__(self, dev: _Plugged) -> None:
        self.dev = dev
        self.claimed: set[int] = set()


class SimulatedUsbPrinter:
    """The printer on the cable: its state, its paper, and what it printed.

    ``near_end_sensor=False`` is a model without a near-end sensor (it says
    "ok" until the paper is out); ``answers_status=False`` one that ignores
    ``DLE EOT`` (every status request times out).
    """

    def __init__(self, vendor: int, product: int, out_dir: Path, *, control: Path | None = None,
                 near_end_sensor: bool = True, answers_status: bool = True,
                 manufacturer: str = "Kiosk simulator", product_name: str = "Simulated ESC/POS receipt printer",
                 serial: str = "SIM0001") -> None:
        self.vendor, self.product = int(vendor), int(product)
        self.out_dir = Path(out_dir)
        self.near_end_sensor = near_end_sensor
        self.answers_status = answers_status
        self.strings = {1: manufacturer, 2: product_name, 3: serial}
        self.paper = "ok"
        self.plugged = True
        self.busy = False
        self.stalled = False
        #: Bytes of print data left on the roll; ``None``: it never runs out by itself.
        self.roll_bytes: int | None = None
        #: What the next job is filed as: ``receipt``, or ``selftest`` while a test ticket prints.
        self.job_label = "receipt"
        self.last_job_path: Path | None = None
        #: Every bulk OUT transfer, in order (status requests included): what went down the cable.
        self.transfers: list[bytes] = []
        #: Bytes received while there was no paper: taken, not printed.
        self.discarded = 0
        self._control = ControlFile(control) if control is not None else None
        self._lock = threading.RLock()
        self._address = 4
        self._connection: _Plugged | None = _Plugged(self._address)
        self._spool = bytearray()
        self._replies = bytearray()
        self.backend = SimUsbBackend(self)

    # --- the state, from the object or from the control file --------------------------------
    def poll(self) -> None:
        """Take in a change of the control file (cheap: one ``stat``). Every USB operation calls it."""
        if self._control is None:
            return
        changed, text = self._control.poll()
        if not changed:
            return
        word = (text or "ok").strip().lower() or "ok"
        if word not in STATES:
            log.warning("ignoring %s: %r is not one of %s", self._control.path, word, STATES)
            return
        self.set_state(word)

    def set_state(self, state: str) -> None:
        """Put the printer in one of :data:`STATES`, as the control file does: a paper word also plugs it in."""
        if state not in STATES:
            raise ValueError(f"unknown printer state {state!r}; choose from {STATES}")
        with self._lock:
            self.busy = state == "busy"
            if state == "unplugged":
                self.unplug()
            else:
                self.plug()
                if state in PAPER_STATES:
                    self.set_paper(state)

    @property
    def state(self) -> str:
        """One word of :data:`STATES`: the cable first, then the driver, then the paper."""
        self.poll()
        if not self.plugged:
            return "unplugged"
        return "busy" if self.busy else self.paper

    def set_paper(self, paper: str) -> None:
        if paper not in PAPER_STATES:
            raise ValueError(f"paper is one of {', '.join(PAPER_STATES)}; not {paper!r}")
        with self._lock:
            self.paper = paper
            if paper != "out" and self.roll_bytes == 0:
                self.roll_bytes = None  # a new roll

    def unplug(self) -> None:
        with self._lock:
            self.plugged = False
            self._connection = None
            self._replies.clear()

    def plug(self) -> None:
        with self._lock:
            if not self.plugged:
                self.plugged = True
                self._address += 1  # the bus gives a replugged device a new address
                self._connection = _Plugged(self._address)

    # --- what came out ------------------------------------------------------------------------
    def _numbered(self) -> list[tuple[int, str, Path]]:
        if not self.out_dir.is_dir():
            return []
        found = []
        for path in self.out_dir.iterdir():
            m = JOB_FILE.match(path.name)
            if m:
                found.append((int(m.group(2)), m.group(1), path))
        return sorted(found)

    def jobs(self, label: str = "receipt") -> list[Path]:
        """The jobs filed under ``label`` so far, oldest first."""
        return [path for _, kind, path in self._numbered() if kind == label]

    def _file_job(self, data: bytes) -> None:
        numbered = self._numbered()
        number = numbered[-1][0] + 1 if numbered else 1  # survives a restart, with no counter to keep
        self.last_job_path = write_atomic(self.out_dir / f"{self.job_label}-{number:04d}.bin", data)

    def tear_off(self) -> Path | None:
        """The paper torn off a printer without a cutter: what was printed since the last cut becomes a job."""
        with self._lock:
            if not self._spool:
                return None
            data, self._spool = bytes(self._spool), bytearray()
            self._file_job(data)
            return self.last_job_path

    # --- the firmware ---------------------------------------------------------------------------
    def status_byte(self, n: int) -> int:
        """The reply to ``DLE EOT n`` in the present state (Epson's bit assignments)."""
        out = self.paper == "out"
        if n == 1:
            return _FIXED | (_OFFLINE if out else 0)
        if n == 2:
            return _FIXED | (_PAPER_END_STOP if out else 0)
        if n == 4:
            near = self.near_end_sensor and self.paper in ("near_end", "out")
            return _FIXED | (_NEAR_END_BITS if near else 0) | (_PAPER_END_BITS if out else 0)
        return _FIXED  # n = 3: no error

    def receive(self, data: bytes) -> None:
        """Bytes arriving on the bulk OUT endpoint."""
        with self._lock:
            self.transfers.append(data)
            if _REALTIME.match(data):
                if self.answers_status:
                    self._replies += bytes(self.status_byte(data[i + 2]) for i in range(0, len(data), 3))
                return
            if self.paper == "out":
                self.discarded += len(data)
                return
            if self.roll_bytes is not None and len(data) >= self.roll_bytes:
                printed, self.roll_bytes = self.roll_bytes, 0
                self._spool += data[:printed]
                self.discarded += len(data) - printed
                self.paper = "out"
                return
            if self.roll_bytes is not None:
                self.roll_bytes -= len(data)
            self._spool += data
            if b"\x1dV" in data:
                jobs, rest = split_jobs(bytes(self._spool))
                self._spool = bytearray(rest)
                for job in jobs:
                    self._file_job(job)

    def answer(self, size: int) -> bytes:
        """Bytes waiting on the bulk IN endpoint, at most ``size``; ``b""`` if none."""
        with self._lock:
            reply, self._replies = bytes(self._replies[:size]), self._replies[size:]
            return reply

    def device_id(self) -> bytes:
        """The IEEE 1284 device id a printer-class GET_DEVICE_ID returns (length first, big-endian)."""
        ident = (f"MFG:{self.strings[1]};MDL:{self.strings[2]};CMD:ESC/POS;CLS:PRINTER;"
                 f"DES:{self.strings[2]};").encode("ascii")
        return (len(ident) + 2).to_bytes(2, "big") + ident

    def port_status(self) -> int:
        """GET_PORT_STATUS: bit 5 paper empty, bit 4 selected (online), bit 3 no error."""
        out = self.paper == "out"
        return (0x20 if out else 0) | (0 if out else 0x10) | 0x08


def _descriptor(**fields) -> SimpleNamespace:
    return SimpleNamespace(extra_descriptors=[], **fields)


class SimUsbBackend(usb.backend.IBackend):
    """pyusb's backend interface, on a bus where the simulated printer is the only device."""

    def __init__(self, printer: SimulatedUsbPrinter) -> None:
        super().__init__()
        self.printer = printer

    def __repr__(self) -> str:  # python-escpos puts the find() arguments in its messages
        return "<simulated USB bus>"

    # --- enumeration and descriptors -------------------------------------------------------------
    def enumerate_devices(self) -> Iterator[_Plugged]:
        self.printer.poll()
        connection = self.printer._connection
        return iter([connection] if connection is not None else [])

    def get_parent(self, dev):
        return None

    def get_device_descriptor(self, dev: _Plugged):
        p = self.printer
        return _descriptor(bLength=18, bDescriptorType=1, bcdUSB=0x0200, bDeviceClass=0, bDeviceSubClass=0,
                           bDeviceProtocol=0, bMaxPacketSize0=_MAX_PACKET, idVendor=p.vendor, idProduct=p.product,
                           bcdDevice=0x0100, iManufacturer=1, iProduct=2, iSerialNumber=3, bNumConfigurations=1,
                           address=dev.address, bus=1, port_number=1, port_numbers=(1,), speed=2)

    def get_configuration_descriptor(self, dev, config: int):
        if config != 0:
            raise _usb_error(_INVALID)
        return _descriptor(bLength=9, bDescriptorType=2, wTotalLength=32, bNumInterfaces=1, bConfigurationValue=1,
                           iConfiguration=0, bmAttributes=0xC0, bMaxPower=50)

    def get_interface_descriptor(self, dev, intf: int, alt: int, config: int):
        if intf != 0:
            raise IndexError(f"Invalid interface index {intf}")
        if alt != 0:
            raise IndexError(f"Invalid alternate setting index {alt}")
        return _descriptor(bLength=9, bDescriptorType=4, bInterfaceNumber=0, bAlternateSetting=0, bNumEndpoints=2,
                           bInterfaceClass=PRINTER_CLASS, bInterfaceSubClass=PRINTER_SUBCLASS,
                           bInterfaceProtocol=BIDIRECTIONAL, iInterface=0)

    def get_endpoint_descriptor(self, dev, ep: int, intf: int, alt: int, config: int):
        self.get_interface_descriptor(dev, intf, alt, config)
        if ep not in (0, 1):
            raise IndexError(f"Invalid endpoint index {ep}")
        return _descriptor(bLength=7, bDescriptorType=5, bEndpointAddress=(OUT_EP, IN_EP)[ep], bmAttributes=_BULK,
                           wMaxPacketSize=_MAX_PACKET, bInterval=0, bRefresh=0, bSynchAddress=0)

    # --- handles -------------------------------------------------------------------------------------
    def _alive(self, handle: _Handle) -> None:
        """ENODEV unless the handle's connection is the one plugged in now."""
        self.printer.poll()
        if handle.dev is not self.printer._connection:
            raise _usb_error(_NO_DEVICE)

    def open_device(self, dev: _Plugged) -> _Handle:
        handle = _Handle(dev)
        self._alive(handle)
        return handle

    def close_device(self, handle: _Handle) -> None:
        handle.claimed.clear()

    def set_configuration(self, handle: _Handle, config_value: int) -> None:
        self._alive(handle)
        if self.printer.busy:
            raise _usb_error(_BUSY)  # "interface 0 claimed by usblp while 'python3' sets config #1"
        if config_value not in (0, 1):
            raise _usb_error(_INVALID)

    def get_configuration(self, handle: _Handle) -> int:
        self._alive(handle)
        return 1

    def set_interface_altsetting(self, handle: _Handle, intf: int, altsetting: int) -> None:
        self._alive(handle)
        if (intf, altsetting) != (0, 0):
            raise _usb_error(_INVALID)

    def claim_interface(self, handle: _Handle, intf: int) -> None:
        self._alive(handle)
        if self.printer.busy:
            raise _usb_error(_BUSY)
        handle.claimed.add(intf)

    def release_interface(self, handle: _Handle, intf: int) -> None:
        handle.claimed.discard(intf)
        self._alive(handle)

    def reset_device(self, handle: _Handle) -> None:
        self._alive(handle)

    def clear_halt(self, handle: _Handle, ep: int) -> None:
        self._alive(handle)

    # --- transfers -----------------------------------------------------------------------------------
    def bulk_write(self, handle: _Handle, ep: int, intf: int, data: array.array, timeout: int) -> int:
        self._alive(handle)
        if ep != OUT_EP or intf not in handle.claimed:
            raise _usb_error(_INVALID)
        if self.printer.stalled:
            raise _usb_error(_TIMEOUT)
        payload = data.tobytes()
        self.printer.receive(payload)
        return len(payload)

    def bulk_read(self, handle: _Handle, ep: int, intf: int, buff: array.array, timeout: int) -> int:
        self._alive(handle)
        if ep != IN_EP or intf not in handle.claimed:
            raise _usb_error(_INVALID)
        reply = self.printer.answer(len(buff) * buff.itemsize)
        if not reply:
            raise _usb_error(_TIMEOUT)
        buff[:len(reply)] = array.array("B", reply)
        return len(reply)

    def ctrl_transfer(self, handle: _Handle, bmRequestType: int, bRequest: int, wValue: int, wIndex: int,
                      data: array.array, timeout: int) -> int:
        """String descriptors, and the printer class's GET_DEVICE_ID and GET_PORT_STATUS; anything else stalls."""
        self._alive(handle)
        if bmRequestType == 0x80 and bRequest == 6 and wValue >> 8 == 3:  # GET_DESCRIPTOR, string
            index = wValue & 0xFF
            body = b"\x09\x04" if index == 0 else self.printer.strings.get(index, "").encode("utf-16-le")
            if index and not body:
                raise _usb_error(_PIPE)
            reply = bytes([2 + len(body), 3]) + body
        elif bmRequestType == 0xA1 and bRequest == 0:  # printer class GET_DEVICE_ID
            reply = self.printer.device_id()
        elif bmRequestType == 0xA1 and bRequest == 1:  # printer class GET_PORT_STATUS
            reply = bytes([self.printer.port_status()])
        elif bmRequestType == 0x21 and bRequest == 2:  # printer class SOFT_RESET
            return 0
        else:
            raise _usb_error(_PIPE)
        n = min(len(reply), len(data) * data.itemsize)
        data[:n] = array.array("B", reply[:n])
        return n
