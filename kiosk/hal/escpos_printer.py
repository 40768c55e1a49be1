"""ESC/POS receipt printers over python-escpos: the printing logic once, transports that only move bytes.

As python-escpos's own ``Escpos`` class, :class:`EscposPrinterBase` holds
everything a print job needs (check the printer can print, lay the receipt
out with :func:`kiosk.receipt.layout`, map errors to the facade's) and asks
its subclass for one thing: the python-escpos printer object to write to
(:meth:`~EscposPrinterBase._escpos`). :class:`UsbPrinter` gives a
``escpos.printer.Usb``; the simulator (:mod:`kiosk.hal.sim.printer`) gives a
``Dummy`` whose bytes it keeps in files.

python-escpos and pyusb are imported inside the methods that need them, so
this module imports on any PC.
"""

from __future__ import annotations

import errno
import logging
from abc import abstractmethod
from pathlib import Path
from typing import Any, Callable

from kiosk.errors import BackendUnavailable, PaperOut, PrinterError, PrinterNotFound
from kiosk.hal.printer import ReceiptPrinter
from kiosk.readings import PrinterStatus
from kiosk.receipt import CODEPAGE, layout

log = logging.getLogger(__name__)

# DLE EOT n real-time status (Epson ESC/POS; python-escpos RT_STATUS_*). Every
# reply byte has bits 1 and 4 set and bits 0 and 7 clear: anything else is not
# a status byte (a printer that answers garbage, or a stale buffer).
STATUS_ONLINE_QUERY = b"\x10\x04\x01"
STATUS_PAPER_QUERY = b"\x10\x04\x04"
_FIXED_MASK, _FIXED_BITS = 0x93, 0x12
_OFFLINE_BIT = 0x08
_PAPER_OUT, _PAPER_NEAR_END = 0x72, 0x1E  # python-escpos RT_MASK_NOPAPER, RT_MASK_LOWPAPER


def _status_byte(reply: bytes | None) -> int | None:
    if not reply:
        return None
    b = reply[0]
    return b if b & _FIXED_MASK == _FIXED_BITS else None


def online_from_reply(reply: bytes | None) -> bool | None:
    """DLE EOT 1's reply as online (``True``/``False``), or ``None`` when there was no valid reply.

    python-escpos's ``is_online()`` reads an empty reply as offline; a printer
    that did not answer is unknown, not off.
    """
    b = _status_byte(reply)
    return None if b is None else not (b & _OFFLINE_BIT)


def paper_from_reply(reply: bytes | None) -> str | None:
    """DLE EOT 4's reply as ``ok``/``near_end``/``out``, or ``None`` when there was no valid reply.

    python-escpos's ``paper_status()`` reads an empty reply as 2 (paper
    adequate): a kiosk would then promise a receipt it cannot print.
    """
    b = _status_byte(reply)
    if b is None:
        return None
    if b & _PAPER_OUT == _PAPER_OUT:
        return "out"
    if b & _PAPER_NEAR_END == _PAPER_NEAR_END:
        return "near_end"
    return "ok"


class EscposPrinterBase(ReceiptPrinter):
    """All the printing logic; a subclass supplies :meth:`_escpos` and :meth:`status`."""

    def __init__(self, hal_config, sim_dir: Path | None = None) -> None:
        super().__init__()
        self.hal_config = hal_config
        self.width_chars = int(hal_config.printer_width_chars)

    @abstractmethod
    def _escpos(self) -> Any:
        """The python-escpos printer object the next job is written to."""

    def _job_done(self, p: Any) -> None:
        """Called after a complete job was written to ``p``: a transport that buffers delivers it here."""

    def _transport_errors(self) -> tuple[type[BaseException], ...]:
        """The library exceptions a write may raise; each becomes a :class:`PrinterError`."""
        from escpos.exceptions import Error as EscposError

        return (EscposError, OSError)

    def _check_can_print(self) -> PrinterStatus:
        if not self.is_open:
            raise PrinterNotFound("printer is closed")
        status = self.status()
        if status.online is False:
            raise PrinterNotFound("printer is offline or unplugged")
        if status.paper == "out":
            raise PaperOut("no paper")
        return status

    def print_receipt(self, receipt) -> None:
        self._check_can_print()
        self._run(lambda p: layout(receipt, p, width=self.width_chars))

    def _run(self, job: Callable[[Any], None]) -> None:
        p = self._escpos()
        try:
            job(p)
        except self._transport_errors() as exc:
            raise self._map_error(exc) from exc
        self._job_done(p)

    def _map_error(self, exc: BaseException) -> PrinterError:
        return PrinterError(f"{type(exc).__name__}: {exc}")

    def _self_test(self) -> str:
        status = self._check_can_print()
        self._run(self._test_page)
        return f"test page printed (online {status.online}, paper {status.paper})"

    def _test_page(self, p: Any) -> None:
        p.hw("INIT")
        p.charcode(CODEPAGE)
        p.set(align="center", bold=True)
        p.textln("Test imprimante / printer test")
        p.set(align="left", bold=False)
        p.textln(f"{self.backend_name} - {self.width_chars} colonnes")
        p.textln("àâçéèêëîïôùûü ÀÉÈÇ € «»")
        p.textln("0123456789" * (self.width_chars // 10) + "0123456789"[: self.width_chars % 10])
        p.ln(2)
        p.cut()


def _open_usb(hal_config) -> Any:
    """An ``escpos.printer.Usb`` for the configured ids, not yet connected."""
    try:
        from escpos.printer import Usb
    except ImportError as exc:
        raise BackendUnavailable(f"python-escpos cannot load: {exc}") from exc
    if not Usb.is_usable():
        raise BackendUnavailable("pyusb is missing: pip install python-escpos[usb]")
    return Usb(hal_config.printer_usb_vendor, hal_config.printer_usb_product,
               timeout=UsbPrinter.write_timeout_ms, in_ep=UsbPrinter.in_ep, out_ep=UsbPrinter.out_ep,
               profile=hal_config.printer_profile)


class UsbPrinter(EscposPrinterBase):
    """A USB thermal printer through python-escpos ``Usb`` (needs ``libusb-1.0-0`` and a udev rule).

    The printer being absent or off does not stop the kiosk: :meth:`open`
    succeeds, :meth:`status` says ``online=False``, printing raises
    :class:`PrinterNotFound`, and each later call tries to reconnect, so
    plugging the printer back in is enough. A missing library does stop it
    (:class:`BackendUnavailable`): that is a broken install, not a cable.

    ``connect`` builds the python-escpos object; tests inject a fake one
    (a ``Dummy`` subclass answering status queries), as no USB printer is
    attached to the development machines.
    """

    backend_name = "usb"
    write_timeout_ms = 5000  # python-escpos's default 0 would wait forever on a jammed printer
    # Endpoints differ between models (``lsusb -v -d vendor:product``); these are python-escpos's
    # defaults. HalConfig has no setting for them yet: a model that differs needs one.
    in_ep, out_ep = 0x82, 0x01

    def __init__(self, hal_config, sim_dir: Path | None = None, *,
                 connect: Callable[[], Any] | None = None) -> None:
        super().__init__(hal_config, sim_dir)
        self._connect = connect or (lambda: _open_usb(hal_config))
        self._p: Any = None

    def _transport_errors(self) -> tuple[type[BaseException], ...]:
        from escpos.exceptions import Error as EscposError

        try:
            import usb.core

            return (EscposError, usb.core.USBError, OSError)
        except ImportError:
            return (EscposError, OSError)

    def _map_error(self, exc: BaseException) -> PrinterError:
        from escpos.exceptions import DeviceNotFoundError

        gone = isinstance(exc, DeviceNotFoundError) or getattr(exc, "errno", None) in (errno.ENODEV, errno.ENOENT)
        if gone:
            self._disconnect()
            return PrinterNotFound(f"printer disconnected: {exc}")
        return PrinterError(f"{type(exc).__name__}: {exc}")

    def _connection(self) -> Any:
        """The connected printer object, connecting (again) if needed; :class:`PrinterNotFound` if absent."""
        if self._p is not None:
            return self._p
        p = self._connect()
        try:
            p.open()
        except RuntimeError as exc:  # python-escpos's "usb library not installed"
            raise BackendUnavailable(str(exc)) from exc
        except ValueError as exc:  # pyusb's NoBackendError: libusb-1.0 is not installed
            raise BackendUnavailable(f"libusb cannot load (install libusb-1.0-0): {exc}") from exc
        except self._transport_errors() as exc:
            raise PrinterNotFound(f"no USB printer {self.hal_config.printer_usb_vendor:04x}:"
                                  f"{self.hal_config.printer_usb_product:04x}: {exc}") from exc
        self._p = p
        return p

    def _disconnect(self) -> None:
        p, self._p = self._p, None
        if p is not None:
            try:
                p.close()
            except Exception as exc:  # releasing a handle to a vanished device may fail; nothing to do
                log.debug("closing USB printer: %s", exc)

    def _open(self) -> None:
        try:
            self._connection()
        except PrinterNotFound as exc:
            log.warning("%s (will retry at each status or print)", exc)

    def _close(self) -> None:
        self._disconnect()

    def _escpos(self) -> Any:
        return self._connection()

    def _query(self, p: Any, query: bytes) -> bytes | None:
        try:
            reply = p.query_status(query)
        except self._transport_errors() as exc:
            mapped = self._map_error(exc)
            if isinstance(mapped, PrinterNotFound):
                raise mapped from exc
            return None  # a read timeout: the printer did not answer
        return bytes(reply) if reply is not None else None

    def status(self) -> PrinterStatus:
        if not self.is_open:
            return PrinterStatus(online=False, paper=None)
        try:
            p = self._connection()
            online = online_from_reply(self._query(p, STATUS_ONLINE_QUERY))
            paper = paper_from_reply(self._query(p, STATUS_PAPER_QUERY))
        except PrinterNotFound:
            return PrinterStatus(online=False, paper=None)
        return PrinterStatus(online=online, paper=paper)
