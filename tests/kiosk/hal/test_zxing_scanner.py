"""The zxing-cpp scanner reads QR codes, and only QR codes, as the same text ZBar gives, and says where it saw codes it could not read."""

from __future__ import annotations

import numpy as np
import pytest
import qrcode

from titres.errors import BackendUnavailable
from kiosk.hal.sim.scenes import DESK, PAPER, empty_frame, qr_frame
from kiosk.hal.zxing_scanner import ZxingScanner

NUMBER = "A1B2C3D4E5"


@pytest.fixture
def zxing(hal_config, sim_dir):
    with ZxingScanner(hal_config, sim_dir) as scanner:
        yield scanner


def _printed(modules: np.ndarray, module_px: int = 6) -> np.ndarray:
    """A code's modules printed black on white with a four-module quiet zone, on the desk, as a 640x480 frame."""
    n = modules.shape[0] + 8
    code = np.full((n, n), PAPER, dtype=np.uint8)
    code[4:-4, 4:-4] = np.where(modules, 28, PAPER)
    code = np.kron(code, np.ones((module_px, module_px), dtype=np.uint8))
    frame = np.full((480, 640), DESK, dtype=np.uint8)
    top, left = (480 - code.shape[0]) // 2, (640 - code.shape[1]) // 2
    frame[top:top + code.shape[0], left:left + code.shape[1]] = code
    return frame


def _qr_of_bytes(data: bytes) -> np.ndarray:
    qr = qrcode.QRCode(border=0, box_size=1)
    qr.add_data(data)
    qr.make(fit=True)
    return _printed(np.array(qr.get_matrix(), dtype=bool))


def test_a_pre_demande_code_is_read_as_its_text(zxing, rng):
    assert zxing.decode(qr_frame(NUMBER, code_px=120, angle_deg=25, rng=rng)) == [NUMBER]


def test_utf8_payloads_keep_their_accents(zxing, rng):
    assert zxing.decode(qr_frame("Pré-demande n° A1B2C3D4E5", rng=rng)) == ["Pré-demande n° A1B2C3D4E5"]


def test_bytes_that_are_not_utf8_are_read_as_latin1_like_the_zbar_backend():
    with ZxingScanner() as zxing:
        assert zxing.decode(_qr_of_bytes("Numéro A1B2C3D4E5".encode("latin-1"))) == ["Numéro A1B2C3D4E5"]


def test_a_data_matrix_such_as_a_2d_doc_is_not_read():
    zxingcpp = pytest.importorskip("zxingcpp")
    payload = "DC04FR000001 FACTURE AB12CD34EF"  # ten capitals and digits: would pass for a number
    matrix = np.asarray(zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.DataMatrix).to_image(scale=1)) < 128
    frame = _printed(matrix)
    assert [b.text for b in zxingcpp.read_barcodes(frame)] == [payload]  # readable, had it been asked for
    with ZxingScanner() as zxing:
        assert zxing.decode(frame) == []


def test_an_empty_desk_gives_nothing(zxing, rng):
    assert zxing.decode(empty_frame(rng=rng)) == []
    assert zxing.scan(empty_frame(rng=rng)).unread == []


def test_a_code_under_glare_is_located_though_not_read(zxing):
    frame = qr_frame(NUMBER, code_px=200, glare=1.1, rng=np.random.default_rng(0))
    scan = zxing.scan(frame)
    assert scan.payloads == []
    assert scan.unread  # one box per guess at its three finder patterns: there may be several
    for left, top, right, bottom in scan.unread:
        assert 200 * 0.6 < right - left < 200 * 1.2 and 200 * 0.6 < bottom - top < 200 * 1.2
        assert 320 - 100 <= left + 10 and right - 10 <= 320 + 100  # within the code, in the middle of the frame


def test_a_frame_must_be_a_luminance_plane(zxing, rng):
    with pytest.raises(ValueError):
        zxing.decode(np.zeros((480, 640, 3), dtype=np.uint8))


def test_a_closed_scanner_refuses_to_decode(hal_config, sim_dir, rng):
    zxing = ZxingScanner(hal_config, sim_dir)
    with pytest.raises(BackendUnavailable):
        zxing.decode(qr_frame(NUMBER, rng=rng))


def test_the_self_test_decodes_a_rendered_code(zxing):
    result = zxing.self_test()
    assert result.ok and result.backend == "zxing", result.detail
