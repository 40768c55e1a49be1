"""The USB backend, python-escpos's real ``Usb`` class and real pyusb, against the simulated USB printer.

Nothing here is patched: pyusb enumerates the simulated device through its
backend interface, python-escpos opens it, configures it and writes to its
bulk endpoint, and the device answers status requests, prints, runs out of
paper, is unplugged or held by another driver as a USB printer does.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from kiosk.config import HalConfig
from titres.errors import PaperOut, PrinterError, PrinterNotFound
from kiosk.hal.sim.escpos_decode import QrCode, RasterImage, codepages_for_profile, decode, decode_file, render_png
from kiosk.hal.escpos_printer import TEST_QR_PAYLOAD, UsbPrinter
from kiosk.core.readings import PrinterStatus
from kiosk.core.receipt import FRENCH_CHARACTERS, printable

usb_core = pytest.importorskip("usb.core")
from kiosk.hal.sim.usb_printer import SimulatedUsbPrinter  # noqa: E402  (needs pyusb)

STATUS_REQUEST = re.compile(rb"(?:\x10\x04[\x01-\x04])+\Z")


@pytest.fixture
def device(tmp_path) -> SimulatedUsbPrinter:
    return SimulatedUsbPrinter(0x0416, 0x5011, tmp_path / "printer")


def usb_printer(device: SimulatedUsbPrinter, **settings) -> UsbPrinter:
    """The USB backend as the configuration builds it, finding ``device`` on its bus instead of libusb's."""
    ids = {"printer_usb_vendor": device.vendor, "printer_usb_product": device.product}
    cfg = replace(HalConfig(default="sim"), **{**ids, **settings})
    return UsbPrinter(cfg, None, usb_backend=device.backend)


def print_data(device: SimulatedUsbPrinter) -> list[bytes]:
    """What went down the cable other than status requests."""
    return [t for t in device.transfers if not STATUS_REQUEST.match(t)]


def qr_from(image: Image.Image, scanner) -> list[str]:
    return scanner.decode(np.asarray(image.convert("L")))


# --- the device as pyusb sees it ----------------------------------------------------------------------
def test_pyusb_finds_a_printer_class_device_with_a_bulk_out_and_a_bulk_in_endpoint(device):
    import usb.util

    def is_printer(dev):
        return any(usb.util.find_descriptor(cfg, bInterfaceClass=7) is not None for cfg in dev)

    (dev,) = usb_core.find(find_all=True, backend=device.backend, custom_match=is_printer)
    assert (dev.idVendor, dev.idProduct) == (0x0416, 0x5011)
    intf = dev[0][(0, 0)]
    assert (intf.bInterfaceClass, intf.bInterfaceSubClass, intf.bInterfaceProtocol) == (7, 1, 2)
    assert [(ep.bEndpointAddress, usb.util.endpoint_type(ep.bmAttributes)) for ep in intf] == [
        (0x01, usb.util.ENDPOINT_TYPE_BULK), (0x82, usb.util.ENDPOINT_TYPE_BULK)]
    assert dev.manufacturer == "Kiosk simulator" and "ESC/POS" in dev.product
    device_id = bytes(dev.ctrl_transfer(0xA1, 0, 0, 0, 1024))  # printer class GET_DEVICE_ID
    assert int.from_bytes(device_id[:2], "big") == len(device_id) and b"CMD:ESC/POS;" in device_id


def test_a_device_with_other_ids_is_not_this_kiosks_printer(device):
    assert usb_core.find(backend=device.backend, idVendor=0x04B8, idProduct=0x0202) is None
    printer = usb_printer(device, printer_usb_vendor=0x04B8, printer_usb_product=0x0202)
    with printer:
        assert printer.status() == PrinterStatus(online=False, paper=None)


@pytest.mark.parametrize("paper, online_byte, paper_byte", [
    ("ok", 0x12, 0x12), ("near_end", 0x12, 0x1E), ("out", 0x1A, 0x7E),  # out of paper, a printer goes offline
])
def test_it_answers_dle_eot_with_the_real_status_bytes(device, paper, online_byte, paper_byte):
    device.set_paper(paper)
    dev = usb_core.find(backend=device.backend, idVendor=0x0416)
    dev.set_configuration()
    replies = []
    for n in (1, 4):
        dev.write(0x01, bytes([0x10, 0x04, n]))
        replies.append(bytes(dev.read(0x82, 16)))
    assert replies == [bytes([online_byte]), bytes([paper_byte])]


def test_a_read_with_nothing_to_answer_times_out_as_libusb_says(device):
    dev = usb_core.find(backend=device.backend, idVendor=0x0416)
    with pytest.raises(usb_core.USBTimeoutError):
        dev.read(0x82, 16)


# --- status before printing ----------------------------------------------------------------------------
@pytest.mark.parametrize("paper, expected", [
    ("ok", PrinterStatus(True, "ok")), ("near_end", PrinterStatus(True, "near_end")),
    ("out", PrinterStatus(False, "out")),
])
def test_status_is_what_the_printer_answers(device, paper, expected):
    device.set_paper(paper)
    with usb_printer(device) as printer:
        assert printer.status() == expected


def test_paper_out_is_refused_before_any_print_data_is_sent(device, receipt):
    device.set_paper("out")
    with usb_printer(device) as printer:
        with pytest.raises(PaperOut):
            printer.print_receipt(receipt)
    assert device.transfers and print_data(device) == []
    assert device.jobs() == [] and device.discarded == 0


def test_paper_near_its_end_prints_and_says_so(device, receipt, caplog):
    device.set_paper("near_end")
    with usb_printer(device) as printer:
        printer.print_receipt(receipt)
        assert printer.status().paper == "near_end"
    assert len(device.jobs()) == 1
    assert "near its end" in caplog.text


def test_a_model_without_a_near_end_sensor_says_ok_until_the_paper_is_out(tmp_path):
    device = SimulatedUsbPrinter(0x0416, 0x5011, tmp_path, near_end_sensor=False)
    device.set_paper("near_end")
    with usb_printer(device) as printer:
        assert printer.status() == PrinterStatus(True, "ok")
        device.set_paper("out")
        assert printer.status().paper == "out"


def test_a_printer_that_ignores_status_requests_reads_unknown_and_still_prints(tmp_path, receipt):
    device = SimulatedUsbPrinter(0x0416, 0x5011, tmp_path, answers_status=False)
    with usb_printer(device) as printer:
        assert printer.status() == PrinterStatus(None, None)  # unknown, not "paper ok"
        printer.print_receipt(receipt)
    assert decode_file(device.jobs()[0]).qr_payloads == [receipt.dossier_number]


def test_paper_running_out_half_way_raises_paper_out_and_the_next_print_is_whole(device, receipt):
    device.roll_bytes = 400
    with usb_printer(device) as printer:
        with pytest.raises(PaperOut, match="ran out while printing"):
            printer.print_receipt(receipt)
        assert device.tear_off() is not None  # the stub of a receipt, torn off
        assert not decode_file(device.last_job_path).cut
        device.set_paper("ok")  # a new roll
        printer.print_receipt(receipt)
    whole = decode_file(device.jobs()[-1])
    assert whole.cut and whole.qr_payloads == [receipt.dossier_number]


# --- the cable and the driver ----------------------------------------------------------------------------
def test_an_absent_printer_lets_the_kiosk_start_and_plugging_it_in_is_enough(device, receipt):
    device.unplug()
    printer = usb_printer(device)
    printer.open()  # the receipt is optional: the kiosk must start
    assert printer.status() == PrinterStatus(False, None)
    with pytest.raises(PrinterNotFound, match="unplugged"):
        printer.print_receipt(receipt)
    device.plug()
    assert printer.status() == PrinterStatus(True, "ok")
    printer.print_receipt(receipt)
    printer.close()
    assert len(device.jobs()) == 1


def test_unplugged_and_plugged_back_between_two_receipts_needs_no_restart(device, receipt):
    with usb_printer(device) as printer:
        printer.print_receipt(receipt)
        device.unplug()
        device.plug()  # a new address; the handle from before is dead, as after a real replug
        printer.print_receipt(receipt)
    assert len(device.jobs()) == 2


class CablePulledHalfWay(SimulatedUsbPrinter):
    """The simulated printer, unplugged by someone after it has taken ``after`` transfers."""

    after = 20

    def receive(self, data: bytes) -> None:
        super().receive(data)
        if len(self.transfers) == self.after:
            self.unplug()


def test_a_printer_unplugged_while_printing_raises_printer_not_found_and_comes_back(tmp_path, receipt):
    device = CablePulledHalfWay(0x0416, 0x5011, tmp_path)
    with usb_printer(device) as printer:
        with pytest.raises(PrinterNotFound, match="disconnected"):
            printer.print_receipt(receipt)
        assert printer.status().online is False
        device.plug()
        printer.print_receipt(receipt)
    assert decode_file(device.jobs()[-1]).qr_payloads == [receipt.dossier_number]


def test_a_printer_held_by_usblp_says_so_and_works_once_it_is_released(device, receipt):
    device.busy = True
    with usb_printer(device) as printer:  # opens: python-escpos only logs the failed configuration
        assert printer.status() == PrinterStatus(False, None)
        with pytest.raises(PrinterError, match="usblp, CUPS or ipp-usb") as caught:
            printer.print_receipt(receipt)
        assert not isinstance(caught.value, PrinterNotFound) and "Resource busy" in str(caught.value)
        result = printer.self_test()
        assert not result.ok and "usblp" in result.detail
        device.busy = False
        printer.print_receipt(receipt)
    assert len(device.jobs()) == 1


def test_a_printer_that_stops_taking_data_is_a_printer_error_not_a_missing_printer(device, receipt):
    with usb_printer(device) as printer:
        device.stalled = True
        with pytest.raises(PrinterError, match="did not take the data") as caught:
            printer.print_receipt(receipt)
    assert not isinstance(caught.value, PrinterNotFound)


# --- what is printed ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("profile, width, esc_t", [
    ("default", 32, b"\x1bt\x10"),  # CP1252: all of French
    ("POS-5890", 32, b"\x1bt\x10"),  # a 58 mm clone: CP1252 under Epson's number
    ("T-1", 42, b"\x1bt\x13"),  # CP858: no oe ligature, spelled out
])
def test_french_accents_print_right_on_each_profile(tmp_path, receipt, profile, width, esc_t):
    device = SimulatedUsbPrinter(0x0416, 0x5011, tmp_path)
    with usb_printer(device, printer_profile=profile, printer_width_chars=width) as printer:
        printer.print_receipt(replace(receipt, mairie="Mairie de Bœrsch", originals=(FRENCH_CHARACTERS,)))
        codec = printer.format.codec
    device.tear_off()
    data = device.last_job_path.read_bytes()
    assert data.startswith(b"\x1b@" + esc_t)
    assert printable(FRENCH_CHARACTERS, codec).encode(codec)[:width - 2] in data
    lines = decode(data, codepages_for_profile(profile)).lines
    assert lines[0] == ("Mairie de Bœrsch" if codec == "cp1252" else "Mairie de Boersch")
    first = next(i for i, line in enumerate(lines) if line.startswith("- "))
    item = [lines[first]] + [line for line in lines[first + 1:first + 4] if line.startswith("  ")]
    assert "".join(line[2:] for line in item) == printable(FRENCH_CHARACTERS, codec)
    assert "?" not in "\n".join(lines)


def test_every_receipt_selects_its_code_page_even_on_the_same_connection(device, receipt):
    with usb_printer(device) as printer:
        printer.print_receipt(receipt)
        printer.print_receipt(receipt)
    for job in device.jobs():
        assert job.read_bytes().startswith(b"\x1b@\x1bt\x10")  # ESC @ puts the printer back on page 0
        assert decode_file(job).lines[0] == "Mairie de Saint-Étienne"


@pytest.mark.parametrize("profile, width, setting, dots, kind", [
    ("default", 32, "auto", 384, QrCode),
    ("default", 32, "image", 384, RasterImage),
    ("POS-5890", 32, "auto", 384, RasterImage),  # 58 mm, no QR command in its profile
    ("TM-T20II", 48, "auto", 576, QrCode),  # 80 mm
])
def test_the_qr_code_reads_back_as_the_dossier_number(tmp_path, receipt, scanner, profile, width, setting, dots, kind):
    device = SimulatedUsbPrinter(0x0416, 0x5011, tmp_path)
    with usb_printer(device, printer_profile=profile, printer_width_chars=width, printer_qr=setting) as printer:
        printer.print_receipt(receipt)
    device.tear_off()
    printed = decode_file(device.last_job_path, codepages_for_profile(profile))
    (code,) = [i for i in printed.items if isinstance(i, (QrCode, RasterImage))]
    assert isinstance(code, kind)
    if isinstance(code, RasterImage):
        assert code.bitmap.shape[1] == dots  # padded to the paper: centred on any printer
        raster = Image.fromarray(np.where(code.bitmap, 0, 255).astype(np.uint8))
        assert qr_from(raster, scanner) == [receipt.dossier_number]
    png = render_png(printed, tmp_path / "receipt.png", width_px=dots)
    assert qr_from(Image.open(png), scanner) == [receipt.dossier_number]


@pytest.mark.parametrize("profile, width", [("POS-5890", 32), ("TM-T20II", 48)])
def test_lines_fill_but_never_overflow_58_and_80_mm_paper(tmp_path, receipt, profile, width):
    device = SimulatedUsbPrinter(0x0416, 0x5011, tmp_path)
    with usb_printer(device, printer_profile=profile, printer_width_chars=width) as printer:
        printer.print_receipt(receipt)
    device.tear_off()
    printed = decode_file(device.last_job_path, codepages_for_profile(profile))
    widest = max(len(i.text) * i.width for i in printed.line_items())
    assert width - 8 < widest <= width


def test_a_printer_without_a_cutter_gives_its_ticket_when_torn_off(device, receipt):
    with usb_printer(device, printer_profile="POS-5890") as printer:
        printer.print_receipt(receipt)
    assert device.jobs() == []  # no GS V: the ticket is still hanging out of the printer
    device.tear_off()
    (job,) = device.jobs()
    printed = decode_file(job, codepages_for_profile("POS-5890"))
    assert not printed.cut and printed.lines[0] == "Mairie de Saint-Étienne"


def test_the_self_test_reports_status_and_prints_nothing(device):
    with usb_printer(device) as printer:
        result = printer.self_test()
    assert result.ok and "online, paper ok" in result.detail and "CP1252" in result.detail
    assert print_data(device) == []


def test_the_test_ticket_shows_every_french_character_and_a_readable_qr_code(device, scanner, tmp_path):
    with usb_printer(device) as printer:
        assert "test ticket" in printer.print_test_page()
    printed = decode_file(device.last_job_path)
    assert "".join(printed.lines).count(FRENCH_CHARACTERS[:32]) == 1
    assert printed.qr_payloads == [TEST_QR_PAYLOAD] and printed.cut
    assert qr_from(Image.open(render_png(printed, tmp_path / "t.png")), scanner) == [TEST_QR_PAYLOAD]
