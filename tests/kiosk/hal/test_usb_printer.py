"""What the USB printer backend decides before it sends a byte: profile, code page, QR code, width, status replies.

The printer talking back (status, paper, cable, busy) is in
``test_usb_printer_device.py``, on the simulated USB printer.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from kiosk.config import HalConfig
from titres.errors import ConfigError
from kiosk.hal.escpos_printer import (UsbPrinter, escpos_profile, french_codepage, load_profile, online_from_reply,
                                      paper_from_reply, print_format)
from kiosk.core.receipt import FRENCH_CHARACTERS, PrintFormat, printable

pytest.importorskip("usb.core")


def config(**settings) -> HalConfig:
    return replace(HalConfig(default="sim"), **settings)


# --- status replies -------------------------------------------------------------------------------
@pytest.mark.parametrize("reply, online", [(b"\x12", True), (b"\x1a", False), (b"\x16", True), (b"", None),
                                           (None, None), (b"\xff", None)])
def test_dle_eot_1_reads_online_offline_or_unknown(reply, online):
    assert online_from_reply(reply) is online


@pytest.mark.parametrize("reply, paper", [(b"\x12", "ok"), (b"\x1e", "near_end"), (b"\x72", "out"),
                                          (b"\x7e", "out"), (b"", None), (b"\x13", None), (b"\x00", None)])
def test_dle_eot_4_reads_paper_or_unknown_never_ok_by_default(reply, paper):
    assert paper_from_reply(reply) == paper


# --- the profile --------------------------------------------------------------------------------------
def test_an_unknown_profile_is_a_config_error_naming_close_matches():
    with pytest.raises(ConfigError, match="'POS-5890'"):
        load_profile("pos5890")


def test_the_profile_is_checked_when_the_printer_is_built_so_the_kiosk_stops_at_start():
    with pytest.raises(ConfigError, match="TM-T20II"):
        UsbPrinter(config(printer_profile="TM-T20"), None)


@pytest.mark.parametrize("mode", ["yes", "NATIVE", ""])
def test_printer_qr_accepts_only_native_image_and_auto(mode):
    with pytest.raises(ConfigError, match="printer_qr"):
        print_format(config(printer_qr=mode))


def test_a_width_wider_than_the_profiles_paper_is_refused():
    with pytest.raises(ConfigError, match="32 columns"):
        print_format(config(printer_profile="POS-5890", printer_width_chars=48))


# --- the code page ------------------------------------------------------------------------------------
@pytest.mark.parametrize("profile, page", [("default", "CP1252"), ("POS-5890", "CP1252"), ("TM-T20II", "CP1252"),
                                           ("T-1", "CP858"), ("TM-U220", "CP437")])
def test_the_code_page_is_the_profiles_best_for_french(profile, page):
    name, codec, _ = french_codepage(load_profile(profile))
    assert name == page


def test_cp1252_holds_all_of_french_and_cp858_lacks_the_ligature_oe():
    assert french_codepage(load_profile("default"))[2] == ""
    assert {"œ", "Œ", "Ÿ"} <= set(french_codepage(load_profile("T-1"))[2])


@pytest.mark.parametrize("codec", ["cp1252", "cp858", "cp850", "cp437"])
def test_what_a_code_page_lacks_is_spelled_out_never_a_question_mark(codec):
    text = printable(FRENCH_CHARACTERS + " Łódź Øresund 1 µs ☃", codec)
    assert "?" not in text
    text.encode(codec)  # every character left is in the code page


def test_spellings_are_the_ones_a_french_reader_expects():
    assert printable("Bœrsch, 25 €, L’HAŸ-LES-ROSES", "cp858") == "Boersch, 25 €, L'HAY-LES-ROSES"
    assert printable("25 €", "cp850") == "25 EUR"  # CP850 is CP858 before the euro
    assert printable("ÉCOLE À L'ÎLE", "cp437") == "ÉCOLE A L'ILE"  # CP437 has É but no À nor Î


def test_a_code_page_listed_twice_is_sent_under_its_epson_number():
    from escpos.printer import Dummy

    p = Dummy(profile=escpos_profile("POS-5890", 384))
    p.charcode("CP1252")
    assert p.output == b"\x1bt\x10"  # 16, not the clone's 71


# --- the QR code and the paper ----------------------------------------------------------------------
@pytest.mark.parametrize("profile, setting, mode", [
    ("default", "auto", "native"), ("TM-T20II", "auto", "native"),
    ("POS-5890", "auto", "image"),  # the profile says it has no QR command
    ("POS-5890", "native", "native"), ("default", "image", "image"),  # the technician knows better
    ("TM-U220", "auto", "none"),  # an impact printer: neither
])
def test_the_qr_code_is_native_where_the_profile_supports_it_else_an_image(profile, setting, mode):
    assert print_format(config(printer_profile=profile, printer_qr=setting)).qr == mode


def test_the_paper_width_comes_from_the_profile_or_from_the_columns():
    assert print_format(config(printer_profile="TM-T20II", printer_width_chars=48)).paper_dots == 576
    assert print_format(config(printer_profile="default", printer_width_chars=32)).paper_dots == 384


def test_the_default_configuration_prints_in_the_default_format():
    assert print_format(HalConfig()) == PrintFormat()


def test_python_escpos_knows_the_paper_width_so_it_prints_no_notice_on_stdout(capsys):
    from escpos.printer import Dummy
    from PIL import Image

    p = Dummy(profile=escpos_profile("default", 384))
    p.image(Image.new("1", (8, 8), 1))
    assert capsys.readouterr().out == ""


# --- the transport ------------------------------------------------------------------------------------
def test_the_real_usb_transport_is_built_from_the_configuration(hal_config):
    from kiosk.hal.escpos_printer import _open_usb

    usb = _open_usb(hal_config)
    assert usb.usb_args == {"idVendor": hal_config.printer_usb_vendor, "idProduct": hal_config.printer_usb_product}
    assert usb.timeout == UsbPrinter.write_timeout_ms
    assert (usb.in_ep, usb.out_ep) == (0x82, 0x01)
