"""ESC/POS receipt printers over python-escpos: the printing logic once, transports that only move bytes.

As python-escpos's own ``Escpos`` class, :class:`EscposPrinterBase` holds
everything a print job needs (ask the printer whether it can print, lay the
receipt out with :func:`kiosk.core.receipt.layout`, map errors to the facade's)
and asks its subclass for one thing: the python-escpos printer object to
write to (:meth:`~EscposPrinterBase._escpos`). :class:`UsbPrinter` gives an
``escpos.printer.Usb``; the simulator (:mod:`kiosk.hal.sim.printer`) is the
same class on a simulated USB device.

How a model prints is decided once, from its python-escpos profile
(``hal.printer_profile``) and the configuration (:func:`print_format`): the
code page that holds the most of French, the QR code native or as an image,
the paper's width.

python-escpos and pyusb are imported inside the functions that need them,
so this module imports on any PC.
"""

from __future__ import annotations

import difflib
import errno
import logging
import threading
from abc import abstractmethod
from pathlib import Path
from typing import Any, Callable

from titres.errors import BackendUnavailable, ConfigError, PaperOut, PrinterError, PrinterNotFound
from kiosk.hal.printer import ReceiptPrinter
from kiosk.core.readings import PrinterStatus
from kiosk.core.receipt import (
    FRENCH_CHARACTERS, PrintFormat, finish_job, layout, paper_lines, print_qr, printable, start_job,
)

log = logging.getLogger(__name__)

# DLE EOT n real-time status (Epson ESC/POS; python-escpos RT_STATUS_*). Every
# reply byte has bits 1 and 4 set and bits 0 and 7 clear: anything else is not
# a status byte (a printer that answers garbage, or a stale buffer).
STATUS_ONLINE_QUERY = b"\x10\x04\x01"
STATUS_PAPER_QUERY = b"\x10\x04\x04"
_FIXED_MASK, _FIXED_BITS = 0x93, 0x12
_OFFLINE_BIT = 0x08
_PAPER_OUT, _PAPER_NEAR_END = 0x72, 0x1E  # python-escpos RT_MASK_NOPAPER, RT_MASK_LOWPAPER

QR_MODES = ("auto", "native", "image")
TEST_QR_PAYLOAD = "KIOSK-TEST-QR"  # what the test ticket's QR code reads: a desk scanner can be checked on it
DOTS_PER_COLUMN = 12  # Font A is 12 dots wide: 32 columns on 384 dots (58 mm), 48 on 576 (80 mm)
#: Among code pages equally good for French, the one more printers have right comes first.
CODEPAGE_PREFERENCE = ("CP1252", "ISO_8859-15", "CP858", "CP850", "CP863", "CP437")


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


# --- the model: profile, code page, QR code, width ---------------------------------------
def load_profile(name: str) -> Any:
    """The python-escpos capabilities profile ``name``; :class:`ConfigError` naming close ones if unknown."""
    try:
        from escpos.capabilities import CAPABILITIES, get_profile
    except ImportError as exc:
        raise BackendUnavailable(f"python-escpos cannot load: {exc}") from exc
    names = sorted(CAPABILITIES["profiles"])
    if name not in names:
        folded = {n.lower(): n for n in names}
        close = difflib.get_close_matches(name.lower(), list(folded), n=4, cutoff=0.5)
        hint = f"did you mean {', '.join(repr(folded[c]) for c in close)}?" if close else f"known: {', '.join(names)}"
        raise ConfigError(f"hal.printer_profile {name!r} is not a python-escpos profile; {hint}")
    return get_profile(name)


def french_codepage(profile: Any) -> tuple[str, str, str]:
    """``(name, python codec, French characters it lacks)`` of the profile's best code page for French.

    The code page holding the most of :data:`~kiosk.core.receipt.FRENCH_CHARACTERS`
    wins (CP1252 has them all; CP858, CP850's euro variant, lacks œ, Œ, Ÿ and
    the typographic quotes and dashes), ties broken by
    :data:`CODEPAGE_PREFERENCE`. What it lacks is spelled out on paper
    (:func:`kiosk.core.receipt.printable`).
    """
    from escpos.codepages import CodePages

    def codec_of(name: str) -> str | None:
        try:
            return CodePages.get_encoding(name).get("python_encode")
        except KeyError:
            return None

    def lacks(codec: str) -> str:
        return "".join(ch for ch in FRENCH_CHARACTERS if printable(ch, codec) != ch)

    candidates = []
    for name in profile.get_code_pages():
        codec = codec_of(name)
        if codec:
            rank = CODEPAGE_PREFERENCE.index(name) if name in CODEPAGE_PREFERENCE else len(CODEPAGE_PREFERENCE)
            candidates.append((len(lacks(codec)), rank, name, codec))
    if not candidates:
        raise ConfigError(f"printer profile {profile.profile_data.get('name', '?')!r} lists no code page "
                          "python-escpos can encode")
    _, _, name, codec = min(candidates)
    return name, codec, lacks(codec)


def paper_dots(profile: Any, width_chars: int) -> int:
    """The printable width in dots: the profile's, or the configured columns in Font A when it does not say."""
    pixels = profile.profile_data.get("media", {}).get("width", {}).get("pixels")
    return pixels if isinstance(pixels, int) else width_chars * DOTS_PER_COLUMN


def print_format(hal_config) -> PrintFormat:
    """How the configured printer prints the receipt; :class:`ConfigError` for a setting that cannot work.

    ``printer_qr = "auto"`` is the printer's own QR command where the profile
    says it has one (``qrCode``), else a raster image where it prints those
    (``bitImageRaster``), else none (the number is printed large anyway).
    """
    profile = load_profile(hal_config.printer_profile)
    width = int(hal_config.printer_width_chars)
    columns = profile.fonts.get("0", {}).get("columns")
    if width < 16 or (isinstance(columns, int) and width > columns):
        raise ConfigError(f"hal.printer_width_chars = {width}: profile {hal_config.printer_profile!r} prints "
                          f"{columns} columns (32 for 58 mm paper, 48 for 80 mm)")
    mode = hal_config.printer_qr
    if mode not in QR_MODES:
        raise ConfigError(f"hal.printer_qr = {mode!r}: choose from {', '.join(QR_MODES)}")
    if mode == "auto":
        mode = ("native" if profile.supports("qrCode") else
                "image" if profile.supports("bitImageRaster") else "none")
    if mode == "none":
        log.warning("printer profile %r prints neither QR codes nor images: the receipt has no QR code",
                    hal_config.printer_profile)
    name, codec, lacks = french_codepage(profile)
    cutter = profile.supports("paperFullCut") or profile.supports("paperPartCut")
    return PrintFormat(width=width, codepage=name, codec=codec, qr=mode, paper_dots=paper_dots(profile, width),
                       spelled_out=lacks, cutter=cutter)


def escpos_profile(name: str, dots: int) -> Any:
    """The python-escpos profile ``name`` as this kiosk sends it: two gaps of the profile data filled.

    * The paper width, where the profile says "Unknown" (``default``):
      python-escpos centres images on it, and prints a notice on standard
      output (breaking ``--json`` commands) for every image without it.
    * A code page listed under two ``ESC t`` numbers (CP1252 is 16 and 71
      in ``POS-5890``): python-escpos sends the last listed; we send the
      lowest, Epson's numbering, which the clones that add their own
      numbers keep too.
    """
    from escpos.capabilities import Profile

    named = load_profile(name)
    data = dict(named.profile_data)
    media = dict(data.get("media", {}))
    width = dict(media.get("width", {}))
    if not isinstance(width.get("pixels"), int):
        width["pixels"] = dots
    media["width"] = width
    data["media"] = media

    def get_code_pages(self) -> dict[str, int]:
        pages: dict[str, int] = {}
        for number, page in sorted(self.codePages.items(), key=lambda item: -int(item[0])):
            pages[page] = int(number)
        return pages

    cls = type(f"Kiosk{type(named).__name__}", (Profile,), {"profile_data": data, "get_code_pages": get_code_pages})
    return cls(features=data["features"])


def _usb_busy(exc: BaseException) -> bool:
    return getattr(exc, "errno", None) == errno.EBUSY


def _usb_gone(exc: BaseException) -> bool:
    return getattr(exc, "errno", None) in (errno.ENODEV, errno.ENOENT)


def _usb_timeout(exc: BaseException) -> bool:
    return getattr(exc, "errno", None) == errno.ETIMEDOUT


class EscposPrinterBase(ReceiptPrinter):
    """All the printing logic; a subclass supplies :meth:`_escpos`, :meth:`_probe` and :meth:`describe`.

    Calls are serialised: the status poll of one thread never slips its
    queries between the bytes of another thread's receipt.
    """

    def __init__(self, hal_config, sim_dir: Path | None = None) -> None:
        super().__init__()
        self.hal_config = hal_config
        self.format = print_format(hal_config)
        self.width_chars = self.format.width
        self.profile_name = hal_config.printer_profile
        self._lock = threading.RLock()

    @abstractmethod
    def _escpos(self) -> Any:
        """The python-escpos printer object the next job is written to."""

    @abstractmethod
    def _probe(self) -> PrinterStatus:
        """Ask the printer; :class:`PrinterNotFound` if it is not there, :class:`PrinterError` if it cannot be used."""

    def describe(self) -> str:
        return f"{self.backend_name} printer"

    def _job_done(self, p: Any) -> None:
        """Called after a complete job was written to ``p``: a transport that buffers delivers it here."""

    def _transport_errors(self) -> tuple[type[BaseException], ...]:
        """The library exceptions a write may raise; each becomes a :class:`PrinterError`."""
        from escpos.exceptions import Error as EscposError

        return (EscposError, OSError)

    def status(self) -> PrinterStatus:
        if not self.is_open:
            return PrinterStatus(online=False, paper=None)
        with self._lock:
            try:
                return self._probe()
            except PrinterError:
                return PrinterStatus(online=False, paper=None)

    def _check_can_print(self) -> PrinterStatus:
        if not self.is_open:
            raise PrinterNotFound("printer is closed")
        status = self._probe()
        if status.paper == "out":
            raise PaperOut(f"{self.describe()}: no paper")
        if status.online is False:
            raise PrinterError(f"{self.describe()} is offline (cover open, or an error to clear on the printer)")
        if status.paper == "near_end":
            log.warning("%s: the paper roll is near its end", self.describe())
        return status

    def print_receipt(self, receipt) -> None:
        """Print, after asking the printer; and ask again after, as paper can run out half-way."""
        with self._lock:
            self._check_can_print()
            self._run(lambda p: layout(receipt, p, self.format))
            self._check_after()

    def print_test_page(self) -> str:
        """Print the technician's test ticket (``kiosk selftest --print``); says where it went."""
        with self._lock:
            self._check_can_print()
            self._run(self._test_page)
            self._check_after()
        return f"test ticket sent to the {self.describe()}"

    def _check_after(self) -> None:
        try:
            paper = self._probe().paper
        except PrinterError:
            return  # it took the whole job; a printer that goes away after it is for the next one to find
        if paper == "out":
            raise PaperOut(f"{self.describe()}: the paper ran out while printing; the ticket may be incomplete")

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
        """What the printer says of itself, and how it will print; prints nothing (see :meth:`print_test_page`)."""
        with self._lock:
            status = self._check_can_print()
        said = ("online" if status.online else "status not answered",
                f"paper {status.paper.replace('_', ' ')}" if status.paper else "paper not reported")
        lacks = self.format.spelled_out
        spelled = f" ({' '.join(lacks)} spelled out)" if lacks else ""
        return (f"{self.describe()}: {', '.join(said)}; profile {self.profile_name}, code page "
                f"{self.format.codepage}{spelled}, QR {self.format.qr}, {self.format.width} columns")

    def _test_page(self, p: Any) -> None:
        """The technician's ticket: who the printer is, every French character, the full width, a QR code."""
        fmt = self.format
        start_job(p, fmt)
        p.set(align="center", bold=True, normal_textsize=True)
        p.textln(printable("Test imprimante / printer test", fmt.codec)[:fmt.width])
        p.set(align="left", bold=False)
        for text in (self.describe(), f"profil {self.profile_name}, {fmt.codepage}, QR {fmt.qr}, "
                                      f"{fmt.width} colonnes", "Reçu n° 1 : « Pièce d'identité », 25 €"):
            for line in paper_lines(text, fmt):
                p.textln(line)
        accents = printable(FRENCH_CHARACTERS, fmt.codec)
        for i in range(0, len(accents), fmt.width):
            p.textln(accents[i:i + fmt.width])
        p.textln(("0123456789" * (fmt.width // 10 + 1))[:fmt.width])
        p.set(align="center")
        print_qr(p, TEST_QR_PAYLOAD, fmt)
        finish_job(p, fmt)


def _open_usb(hal_config, profile: Any = None, backend: Any = None) -> Any:
    """An ``escpos.printer.Usb`` for the configured ids, not yet connected; on ``backend`` if given (pyusb's)."""
    try:
        from escpos.printer import Usb
    except ImportError as exc:
        raise BackendUnavailable(f"python-escpos cannot load: {exc}") from exc
    if not Usb.is_usable():
        raise BackendUnavailable("pyusb is missing: pip install python-escpos[usb]")
    usb_args = {"backend": backend} if backend is not None else {}  # a new dict: Usb adds the ids to it
    return Usb(hal_config.printer_usb_vendor, hal_config.printer_usb_product, usb_args=usb_args,
               timeout=UsbPrinter.write_timeout_ms, in_ep=UsbPrinter.in_ep, out_ep=UsbPrinter.out_ep,
               profile=profile if profile is not None else hal_config.printer_profile)


class UsbPrinter(EscposPrinterBase):
    """A USB thermal printer through python-escpos ``Usb`` (needs ``libusb-1.0-0`` and a udev rule).

    The printer being absent or off does not stop the kiosk: :meth:`open`
    succeeds, :meth:`status` says ``online=False``, printing raises
    :class:`PrinterNotFound`, and each later call tries to reconnect, so
    plugging the printer back in is enough (a handle left from before the
    unplugging is dropped and a fresh one taken). A missing library does
    stop it (:class:`BackendUnavailable`): that is a broken install, not a
    cable.

    ``usb_backend`` is a pyusb backend to find the printer on instead of
    libusb: the simulator's (:mod:`kiosk.hal.sim.usb_printer`), on which the
    real ``Usb`` class and pyusb run unmodified.
    """

    backend_name = "usb"
    write_timeout_ms = 5000  # python-escpos's default 0 would wait forever on a jammed printer
    # Endpoints differ between models (``lsusb -v -d vendor:product``); these are python-escpos's
    # defaults. HalConfig has no setting for them yet: a model that differs needs one.
    in_ep, out_ep = 0x82, 0x01

    def __init__(self, hal_config, sim_dir: Path | None = None, *,
                 usb_backend: Any = None) -> None:
        super().__init__(hal_config, sim_dir)
        self._profile = escpos_profile(hal_config.printer_profile, self.format.paper_dots)
        self._usb_backend = usb_backend
        self._p: Any = None

    def describe(self) -> str:
        return f"USB printer {self.hal_config.printer_usb_vendor:04x}:{self.hal_config.printer_usb_product:04x}"

    def _transport_errors(self) -> tuple[type[BaseException], ...]:
        from escpos.exceptions import Error as EscposError

        try:
            import usb.core

            return (EscposError, usb.core.USBError, OSError)
        except ImportError:
            return (EscposError, OSError)

    def _busy(self, exc: BaseException) -> PrinterError:
        return PrinterError(f"{self.describe()} is held by another driver: the kernel's usblp, CUPS or ipp-usb "
                            f"({exc}); blacklist usblp and disable cups and ipp-usb (docs/hardware.md)")

    def _map_error(self, exc: BaseException) -> PrinterError:
        from escpos.exceptions import DeviceNotFoundError

        if isinstance(exc, DeviceNotFoundError) or _usb_gone(exc):
            self._disconnect()
            return PrinterNotFound(f"{self.describe()} disconnected (unplugged or switched off): {exc}")
        if _usb_busy(exc):
            self._disconnect()  # a fresh open sets the configuration again once the other driver let go
            return self._busy(exc)
        if _usb_timeout(exc):
            return PrinterError(f"{self.describe()} did not take the data within {self.write_timeout_ms} ms "
                                f"(paper jam, or an error to clear on the printer): {exc}")
        return PrinterError(f"{type(exc).__name__}: {exc}")

    def _connection(self) -> Any:
        """The connected printer object, connecting (again) if needed; :class:`PrinterNotFound` if absent."""
        if self._p is not None:
            return self._p
        p = _open_usb(self.hal_config, self._profile, self._usb_backend)
        try:
            p.open()
        except RuntimeError as exc:  # python-escpos's "usb library not installed"
            raise BackendUnavailable(str(exc)) from exc
        except ValueError as exc:  # pyusb's NoBackendError: libusb-1.0 is not installed
            raise BackendUnavailable(f"libusb cannot load (install libusb-1.0-0): {exc}") from exc
        except self._transport_errors() as exc:
            if _usb_busy(exc):
                raise self._busy(exc) from exc
            raise PrinterNotFound(f"no {self.describe()} (unplugged or switched off)") from exc
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
        except PrinterError as exc:
            log.warning("%s (will retry at each status or print)", exc)

    def _close(self) -> None:
        self._disconnect()

    def _escpos(self) -> Any:
        return self._connection()

    def _query(self, p: Any, query: bytes) -> bytes | None:
        """One real-time status request; ``None`` when the printer did not answer (a read timeout)."""
        try:
            reply = p.query_status(query)
        except self._transport_errors() as exc:
            mapped = self._map_error(exc)
            if isinstance(mapped, PrinterNotFound) or _usb_busy(exc):
                raise mapped from exc
            return None
        return bytes(reply) if reply is not None else None

    def _probe(self) -> PrinterStatus:
        for attempt in (1, 2):
            stale_possible = self._p is not None
            try:
                p = self._connection()
                online = online_from_reply(self._query(p, STATUS_ONLINE_QUERY))
                paper = paper_from_reply(self._query(p, STATUS_PAPER_QUERY))
                return PrinterStatus(online=online, paper=paper)
            except PrinterNotFound:
                if not stale_possible or attempt == 2:
                    raise
                # The handle predates an unplugging; the printer may be back under a new address.
        raise AssertionError("not reached")
