"""The simulated printer: the real USB backend on a simulated USB printer, its tickets kept in files."""

from __future__ import annotations

import os

import pytest

from titres.errors import PaperOut, PrinterError, PrinterNotFound
from kiosk.hal.sim.escpos_decode import decode_file
from kiosk.hal.escpos_printer import UsbPrinter
from kiosk.hal.sim.printer import STATES, SimPrinter, paper_file, write_paper_file
from kiosk.core.readings import PrinterStatus
from kiosk.core.receipt import FRENCH_CHARACTERS


def test_the_simulated_printer_is_the_usb_backend_with_python_escpos_usb_on_pyusb(sim_printer, receipt):
    from escpos.printer import Usb

    assert isinstance(sim_printer, UsbPrinter)
    sim_printer.print_receipt(receipt)
    assert isinstance(sim_printer._p, Usb)
    assert sim_printer._p.device.idVendor == sim_printer.hal_config.printer_usb_vendor


def test_a_receipt_becomes_one_numbered_job_file(sim_printer, receipt, sim_dir):
    sim_printer.print_receipt(receipt)
    assert sim_printer.last_job_path == sim_dir / "printer" / "receipt-0001.bin"
    assert sim_printer.jobs() == [sim_printer.last_job_path]
    assert decode_file(sim_printer.last_job_path).qr_payloads == [receipt.dossier_number]


def test_a_job_file_holds_what_was_printed_not_the_status_requests(sim_printer, receipt):
    sim_printer.print_receipt(receipt)
    data = sim_printer.last_job_path.read_bytes()
    assert data.startswith(b"\x1b@") and decode_file(sim_printer.last_job_path).status_requests == 0


def test_jobs_are_numbered_in_order_and_numbering_survives_a_restart(sim_printer, receipt, hal_config, sim_dir):
    sim_printer.print_receipt(receipt)
    sim_printer.print_receipt(receipt)
    sim_printer.close()
    with SimPrinter(hal_config, sim_dir) as again:
        again.print_receipt(receipt)
        assert [p.name for p in again.jobs()] == ["receipt-0001.bin", "receipt-0002.bin", "receipt-0003.bin"]


def test_no_temporary_file_is_left_behind(sim_printer, receipt, sim_dir):
    sim_printer.print_receipt(receipt)
    assert sorted(p.name for p in (sim_dir / "printer").iterdir()) == ["receipt-0001.bin"]


def test_out_of_paper_raises_paper_out_and_prints_nothing(sim_printer, receipt):
    sim_printer.set_paper("out")
    assert sim_printer.status() == PrinterStatus(online=False, paper="out")  # the printer goes offline
    with pytest.raises(PaperOut):
        sim_printer.print_receipt(receipt)
    assert sim_printer.jobs() == []
    assert sim_printer.last_job_path is None


def test_paper_near_its_end_still_prints(sim_printer, receipt):
    sim_printer.set_paper("near_end")
    sim_printer.print_receipt(receipt)
    assert sim_printer.status().paper == "near_end"
    assert len(sim_printer.jobs()) == 1


def test_an_unplugged_printer_is_offline_and_raises_printer_not_found(sim_printer, receipt):
    sim_printer.unplug()
    assert sim_printer.state == "unplugged"
    assert sim_printer.status() == PrinterStatus(online=False, paper=None)
    with pytest.raises(PrinterNotFound):
        sim_printer.print_receipt(receipt)
    sim_printer.plug()
    sim_printer.print_receipt(receipt)


def test_a_busy_printer_says_which_drivers_to_stop(hal_config, sim_dir, receipt):
    write_paper_file(sim_dir, "busy")
    with SimPrinter(hal_config, sim_dir) as printer:
        assert printer.state == "busy"
        with pytest.raises(PrinterError, match="usblp"):
            printer.print_receipt(receipt)
        write_paper_file(sim_dir, "ok")
        printer.print_receipt(receipt)


def test_the_paper_file_takes_the_paper_out_from_outside(sim_printer, receipt, sim_dir):
    write_paper_file(sim_dir, "out")
    with pytest.raises(PaperOut):
        sim_printer.print_receipt(receipt)
    write_paper_file(sim_dir, "ok")
    sim_printer.print_receipt(receipt)
    assert len(sim_printer.jobs()) == 1


def test_the_paper_file_unplugs_and_removing_it_puts_paper_back(sim_printer, receipt, sim_dir):
    paper_file(sim_dir).write_text("unplugged\n")
    assert sim_printer.status().online is False
    os.unlink(paper_file(sim_dir))
    assert sim_printer.status() == PrinterStatus(online=True, paper="ok")


def test_a_paper_file_with_a_bad_word_is_ignored_with_a_warning(sim_printer, sim_dir, caplog):
    paper_file(sim_dir).write_text("empty")
    assert sim_printer.status().paper == "ok"
    assert "empty" in caplog.text


def test_set_state_takes_the_control_files_words(sim_printer, receipt):
    sim_printer.set_state("unplugged")
    assert sim_printer.status().online is False
    sim_printer.set_state("near_end")
    sim_printer.print_receipt(receipt)
    assert sim_printer.status() == PrinterStatus(online=True, paper="near_end")
    with pytest.raises(ValueError):
        sim_printer.set_state("jammed")


def test_the_paper_file_accepts_every_state_and_nothing_else(sim_dir):
    for state in STATES:
        assert write_paper_file(sim_dir, state).read_text() == state + "\n"
    with pytest.raises(ValueError):
        write_paper_file(sim_dir, "jammed")


def test_the_self_test_reports_the_printer_and_prints_nothing(sim_printer, sim_dir):
    result = sim_printer.self_test()
    assert result.ok, result.detail
    assert result.detail.startswith("simulated USB printer 0416:5011: online, paper ok")
    assert not (sim_dir / "printer").exists() or list((sim_dir / "printer").iterdir()) == []


def test_the_self_test_fails_without_paper(sim_printer):
    sim_printer.set_paper("out")
    result = sim_printer.self_test()
    assert not result.ok and "PaperOut" in result.detail


def test_the_test_ticket_is_filed_apart_from_the_receipts(sim_printer, receipt):
    sim_printer.print_receipt(receipt)
    page = sim_printer.print_test_page()
    assert page.endswith("selftest-0002.bin") and str(sim_printer.last_job_path) == page
    assert [p.name for p in sim_printer.jobs()] == ["receipt-0001.bin"]
    printed = decode_file(page)
    assert FRENCH_CHARACTERS[:32] in printed.lines and printed.cut
    sim_printer.print_receipt(receipt)
    assert sim_printer.last_job_path.name == "receipt-0003.bin"  # back to receipts after the ticket


def test_the_test_ticket_is_refused_without_paper(sim_printer):
    sim_printer.set_paper("out")
    with pytest.raises(PaperOut):
        sim_printer.print_test_page()
    assert sim_printer.last_job_path is None
