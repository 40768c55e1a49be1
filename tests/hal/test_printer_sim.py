"""The simulated printer receives python-escpos's real bytes and keeps each job; its paper can run out."""

from __future__ import annotations

import os

import pytest

from kiosk.errors import PaperOut, PrinterNotFound
from kiosk.hal.escpos_decode import decode_file
from kiosk.hal.sim.printer import SimPrinter, paper_file, write_paper_file
from kiosk.readings import PrinterStatus


def test_a_receipt_becomes_one_numbered_job_file(sim_printer, receipt, sim_dir):
    sim_printer.print_receipt(receipt)
    assert sim_printer.last_job_path == sim_dir / "printer" / "receipt-0001.bin"
    assert sim_printer.jobs() == [sim_printer.last_job_path]
    assert decode_file(sim_printer.last_job_path).qr_payloads == [receipt.dossier_number]


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
    assert sim_printer.status() == PrinterStatus(online=True, paper="out")
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
    assert sim_printer.status() == PrinterStatus(online=False, paper=None)
    with pytest.raises(PrinterNotFound):
        sim_printer.print_receipt(receipt)
    sim_printer.plug()
    sim_printer.print_receipt(receipt)


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


def test_the_self_test_prints_a_test_page_that_is_not_a_receipt(sim_printer, sim_dir):
    result = sim_printer.self_test()
    assert result.ok, result.detail
    assert sim_printer.jobs() == []
    page = decode_file(sim_printer.last_job_path)
    assert sim_printer.last_job_path.name == "selftest-0001.bin"
    assert "àâçéèêëîïôùûü ÀÉÈÇ € «»" in page.lines and page.cut


def test_the_self_test_fails_without_paper(sim_printer):
    sim_printer.set_paper("out")
    result = sim_printer.self_test()
    assert not result.ok and "PaperOut" in result.detail
