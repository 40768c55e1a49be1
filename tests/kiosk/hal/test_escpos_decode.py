"""What the printer receives, read back: the receipt's text, accents, QR code and cut survive the ESC/POS bytes."""

from __future__ import annotations

import numpy as np
import pytest
from escpos.printer import Dummy
from PIL import Image

from kiosk.hal.sim.escpos_decode import (Cut, EscposDecodeError, QrCode, codepages_for_profile, decode,
                                     decode_file, render_png, split_jobs)
from kiosk.core.receipt import PrintFormat, layout, text_lines


@pytest.fixture
def printed(sim_printer, receipt):
    sim_printer.print_receipt(receipt)
    return decode_file(sim_printer.last_job_path)


def test_french_accents_and_the_euro_sign_round_trip_exactly(printed):
    assert printed.lines[0] == "Mairie de Saint-Étienne"
    assert "- Pièce d'identité actuelle" in printed.lines
    assert "Timbre fiscal : 25 €" in printed.lines
    assert "?" not in printed.text


def test_the_printed_lines_are_the_receipts_text_lines(printed, receipt):
    assert [line for line in printed.lines if line] == [line for line in text_lines(receipt) if line]


def test_the_qr_code_carries_the_dossier_number_only(printed, receipt):
    assert printed.qr_payloads == [receipt.dossier_number]


def test_the_job_ends_with_a_cut_and_leaves_nothing_unprinted(printed):
    assert printed.cut
    assert isinstance(printed.items[-1], Cut)
    assert printed.pending == ""


def test_the_dossier_number_alone_is_printed_large(printed, receipt):
    large = [i.text for i in printed.line_items() if (i.width, i.height) != (1, 1)]
    assert large == [receipt.dossier_number]


def test_the_dossier_number_and_the_agents_flags_are_bold(printed, receipt):
    assert receipt.dossier_number in printed.bold_lines
    assert any(line.startswith("! Empreintes") for line in printed.bold_lines)


def test_no_line_is_wider_than_the_paper(printed):
    assert max(len(i.text) * i.width for i in printed.line_items()) <= 32


def test_a_french_colon_is_never_left_alone_on_a_line(printed):
    assert ":" not in [line.strip() for line in printed.lines]


def test_a_reprint_is_marked_and_the_marking_does_not_enlarge_the_rest(receipt):
    from dataclasses import replace

    p = Dummy()
    layout(replace(receipt, reprint=True), p)
    decoded = decode(p.output)
    large = [i.text for i in decoded.line_items() if (i.width, i.height) != (1, 1)]
    assert large == ["DUPLICATA", receipt.dossier_number]


def test_the_qr_code_is_sent_with_the_printers_native_command(printed):
    (qr,) = [i for i in printed.items if isinstance(i, QrCode)]
    assert (qr.module_size, qr.model, qr.align) == (6, 2, "center")


def test_the_preview_lines_are_the_printed_lines_in_a_code_page_without_oe(receipt):
    from dataclasses import replace

    fmt = PrintFormat(codepage="CP858", codec="cp858")
    boersch = replace(receipt, mairie="Mairie de Bœrsch", fees="Œuvre : 25 €")
    p = Dummy()
    layout(boersch, p, fmt)
    printed = decode(p.output).lines
    assert [line for line in printed if line] == [line for line in text_lines(boersch, fmt) if line]
    assert printed[0] == "Mairie de Boersch" and "OEuvre : 25 €" in printed


def test_a_qr_code_sent_as_an_image_is_kept_as_a_raster_that_scans(receipt, scanner):
    from kiosk.hal.escpos_printer import escpos_profile

    p = Dummy(profile=escpos_profile("default", 384))
    layout(receipt, p, PrintFormat(qr="image"))
    printed = decode(p.output)
    assert printed.qr_payloads == [] and len(printed.images) == 1
    bitmap = printed.images[0]
    assert bitmap.shape[1] == 384 and bitmap[:, :100].sum() == 0  # padded to the paper, centred
    assert scanner.decode(np.where(bitmap, 0, 255).astype(np.uint8)) == [receipt.dossier_number]
    assert [line for line in printed.lines if line] == [line for line in text_lines(receipt) if line]


def test_the_preview_png_shows_a_qr_code_that_decodes_to_the_dossier_number(printed, receipt, tmp_path, scanner):
    path = render_png(printed, tmp_path / "receipt.png")
    img = Image.open(path)
    assert img.format == "PNG" and img.width == 384
    assert scanner.decode(np.asarray(img.convert("L"))) == [receipt.dossier_number]


# --- the decoder itself ---------------------------------------------------------
def test_code_pages_cp437_cp850_and_cp858_are_decoded():
    data = b"\x1b@" + b"\x1bt\x00caf\x82\n" + b"\x1bt\x02\x90t\xe9\n" + b"\x1bt\x13\xd5\n"
    assert decode(data).lines == ["café", "ÉtÚ", "€"]


def test_what_python_escpos_sends_for_cp858_is_understood():
    p = Dummy()
    p.charcode("CP858")
    p.textln("Pièce d'identité : 25 €")
    assert p.output.startswith(b"\x1bt\x13")  # ESC t 19 in the default profile
    assert decode(p.output).lines == ["Pièce d'identité : 25 €"]


def test_another_profiles_code_page_numbers_need_that_profile():
    p = Dummy(profile="POS-5890")
    p.charcode("CP858")
    p.textln("Étienne")
    with pytest.raises(EscposDecodeError, match="code page 53"):
        decode(p.output)
    assert decode(p.output, codepages_for_profile("POS-5890")).lines == ["Étienne"]


def test_initialising_drops_text_not_yet_printed():
    assert decode(b"lost\x1b@kept\n").lines == ["kept"]


def test_text_without_a_final_line_feed_is_pending_not_printed():
    decoded = decode(b"printed\nwaiting")
    assert decoded.lines == ["printed"] and decoded.pending == "waiting"


def test_sizes_alignment_and_bold_are_tracked_per_line():
    data = b"\x1ba\x01\x1d!\x11big\n\x1b!\x00\x1ba\x02\x1bE\x01right\n"
    big, right = decode(data).line_items()
    assert (big.width, big.height, big.align, big.bold) == (2, 2, "center", False)
    assert (right.width, right.height, right.align, right.bold) == (1, 1, "right", True)


def test_a_raster_image_is_kept_as_a_bitmap():
    p = Dummy()
    img = Image.new("1", (16, 4), 1)
    img.putpixel((0, 0), 0)
    p.image(img)
    (bitmap,) = decode(p.output).images
    assert bitmap.shape == (4, 16) and bitmap[0, 0] and bitmap.sum() == 1


def test_jobs_split_at_each_cut_and_what_follows_waits():
    first, second = b"\x1b@one\n\x1bd\x06\x1dVA\x00", b"\x1b@two\n\x1dV\x00"
    assert split_jobs(first + second + b"\x1b@thr") == ([first, second], b"\x1b@thr")
    assert split_jobs(b"no cut yet\n") == ([], b"no cut yet\n")


def test_the_bytes_of_a_cut_inside_an_image_do_not_cut():
    image = b"\x1dv0\x00\x02\x00\x01\x00\x1dV"  # a 16 x 1 raster whose two bytes read "GS V"
    job = b"\x1b@" + image + b"\n\x1dV\x00"
    assert split_jobs(job) == ([job], b"")


def test_past_an_unknown_command_a_cut_still_ends_the_job():
    job = b"\x1b@\x1bp\x00\x19\xfa\x1dVA\x00"  # a drawer kick the decoder does not read
    assert split_jobs(job + b"rest") == ([job], b"rest")


def test_status_requests_are_understood_and_counted():
    assert decode(b"\x10\x04\x01\x10\x04\x04").status_requests == 2


@pytest.mark.parametrize("data, message", [
    (b"\x1bp\x00\x19\xfa", "ESC 0x70"),  # cash drawer kick: not in a receipt
    (b"\x1d(L\x02\x0001", r"GS \( 'L'"),  # graphics mode images
    (b"\x07", "control byte 0x07"),
    (b"\x1d(k\x10\x001P0", "truncated"),
])
def test_bytes_we_did_not_expect_raise_a_clear_error(data, message):
    with pytest.raises(EscposDecodeError, match=message):
        decode(data)
