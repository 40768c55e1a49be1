"""The USB printer's logic, on a stand-in for python-escpos's ``Usb`` (no USB printer is attached here).

The stand-in is a python-escpos ``Dummy`` that answers status queries with
scripted bytes and can fail to open, injected through ``UsbPrinter``'s
``connect`` argument: the backend's own code runs unpatched. These tests
need pyusb (for its error classes) and skip without it.
"""

from __future__ import annotations

import errno

import pytest
from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Dummy

from kiosk.errors import PaperOut, PrinterError, PrinterNotFound
from kiosk.hal.escpos_decode import decode
from kiosk.hal.escpos_printer import UsbPrinter, online_from_reply, paper_from_reply
from kiosk.readings import PrinterStatus

usb_core = pytest.importorskip("usb.core")

ONLINE, OFFLINE = b"\x12", b"\x1a"  # DLE EOT 1 replies: bit 3 set when offline
PAPER_OK, PAPER_NEAR_END, PAPER_OUT = b"\x12", b"\x1e", b"\x72"  # DLE EOT 4 replies


class FakeUsb(Dummy):
    """A python-escpos printer object that answers status queries with scripted replies."""

    def __init__(self, online=ONLINE, paper=PAPER_OK, absent=False, write_error=None):
        super().__init__()
        self.replies = {b"\x10\x04\x01": online, b"\x10\x04\x04": paper}
        self.absent = absent
        self.write_error = write_error
        self.opened = self.closed = 0
        self._last_query = b""

    def open(self):
        self.opened += 1
        if self.absent:
            raise DeviceNotFoundError("Unable to open USB printer on (1046, 20497)")

    def close(self):
        self.closed += 1

    def _raw(self, msg):
        if msg in self.replies:
            self._last_query = msg
            return
        if self.write_error is not None:
            raise self.write_error
        super()._raw(msg)

    def _read(self):
        reply = self.replies[self._last_query]
        if isinstance(reply, Exception):
            raise reply
        return reply


def usb_printer(hal_config, fake):
    return UsbPrinter(hal_config, None, connect=lambda: fake)


@pytest.mark.parametrize("online_reply, paper_reply, expected", [
    (ONLINE, PAPER_OK, PrinterStatus(True, "ok")),
    (ONLINE, PAPER_NEAR_END, PrinterStatus(True, "near_end")),
    (ONLINE, PAPER_OUT, PrinterStatus(True, "out")),
    (OFFLINE, PAPER_OK, PrinterStatus(False, "ok")),
    (b"", b"", PrinterStatus(None, None)),  # no answer is unknown, not "paper ok"
    (b"\xff", b"\x00", PrinterStatus(None, None)),  # not status bytes
])
def test_status_replies_map_to_online_and_paper(hal_config, online_reply, paper_reply, expected):
    with usb_printer(hal_config, FakeUsb(online_reply, paper_reply)) as printer:
        assert printer.status() == expected


def test_a_printer_that_times_out_on_status_reads_as_unknown(hal_config):
    timeout = usb_core.USBTimeoutError("Operation timed out", error_code=-7, errno=errno.ETIMEDOUT)
    with usb_printer(hal_config, FakeUsb(timeout, timeout)) as printer:
        assert printer.status() == PrinterStatus(None, None)


def test_the_reply_parsers_refuse_what_is_not_a_status_byte():
    assert online_from_reply(None) is None and paper_from_reply(b"") is None
    assert online_from_reply(b"\x16") is True  # other bits (drawer) do not matter
    assert paper_from_reply(b"\x13") is None  # bit 0 is always clear in a real reply


def test_a_receipt_goes_through_the_shared_layout(hal_config, receipt):
    fake = FakeUsb()
    with usb_printer(hal_config, fake) as printer:
        printer.print_receipt(receipt)
    decoded = decode(fake.output)
    assert decoded.qr_payloads == [receipt.dossier_number]
    assert decoded.lines[0] == "Mairie de Saint-Étienne"
    assert decoded.cut
    assert decoded.status_requests == 0  # queries are answered, not printed, by the stand-in


def test_paper_out_raises_before_anything_is_sent(hal_config, receipt):
    fake = FakeUsb(paper=PAPER_OUT)
    with usb_printer(hal_config, fake) as printer:
        with pytest.raises(PaperOut):
            printer.print_receipt(receipt)
    assert fake.output == b""


def test_unknown_status_does_not_block_printing(hal_config, receipt):
    fake = FakeUsb(online=b"", paper=b"")
    with usb_printer(hal_config, fake) as printer:
        printer.print_receipt(receipt)
    assert decode(fake.output).cut


def test_an_absent_printer_lets_the_kiosk_start_and_is_retried(hal_config, receipt):
    fake = FakeUsb(absent=True)
    printer = usb_printer(hal_config, fake)
    printer.open()  # no exception: the receipt is optional, the kiosk must start
    assert printer.status() == PrinterStatus(False, None)
    with pytest.raises(PrinterNotFound):
        printer.print_receipt(receipt)
    fake.absent = False  # plugged in
    assert printer.status() == PrinterStatus(True, "ok")
    printer.print_receipt(receipt)
    assert fake.opened >= 3
    printer.close()
    assert fake.closed == 1


def test_a_printer_unplugged_while_printing_raises_printer_not_found_and_reconnects(hal_config, receipt):
    gone = usb_core.USBError("No such device", error_code=-4, errno=errno.ENODEV)
    fake = FakeUsb(write_error=gone)
    with usb_printer(hal_config, fake) as printer:
        with pytest.raises(PrinterNotFound):
            printer.print_receipt(receipt)
        assert fake.closed == 1  # the stale handle was released
        fake.write_error = None
        printer.print_receipt(receipt)


def test_other_usb_failures_are_printer_errors(hal_config, receipt):
    pipe = usb_core.USBError("Pipe error", error_code=-9, errno=errno.EPIPE)
    with usb_printer(hal_config, FakeUsb(write_error=pipe)) as printer:
        with pytest.raises(PrinterError) as caught:
            printer.print_receipt(receipt)
    assert not isinstance(caught.value, PrinterNotFound)


def test_the_real_usb_transport_is_built_from_the_configuration(hal_config):
    from kiosk.hal.escpos_printer import _open_usb

    usb = _open_usb(hal_config)
    assert usb.usb_args == {"idVendor": hal_config.printer_usb_vendor, "idProduct": hal_config.printer_usb_product}
    assert usb.timeout == UsbPrinter.write_timeout_ms
