"""The kiosk's scanner: zxing-cpp first, ZBar on the region where zxing saw a code it could not read."""

from __future__ import annotations

import numpy as np
import pytest

from titres.errors import BackendUnavailable
from kiosk.hal import ALIASES, resolve
from kiosk.hal.sim.scenes import empty_frame, qr_frame

NUMBER = "A1B2C3D4E5"




def test_a_code_zxing_reads_is_read(chain, rng):
    assert chain.decode(qr_frame(NUMBER, code_px=110, angle_deg=-20, rng=rng)) == [NUMBER]


def test_a_code_under_glare_that_zxing_cannot_read_is_read_by_zbar(chain):
    frame = qr_frame(NUMBER, code_px=200, glare=1.1, rng=np.random.default_rng(0))
    assert chain.first.decode(frame) == []
    assert chain.decode(frame) == [NUMBER]


def test_zbar_reads_the_located_region_better_than_the_whole_frame(chain):
    frame = qr_frame(NUMBER, code_px=200, glare=1.5, glare_at=(-0.2, 0.1), rng=np.random.default_rng(0))
    assert chain.first.decode(frame) == [] and chain.second.decode(frame) == []
    assert chain.decode(frame) == [NUMBER]


def test_nothing_is_found_on_an_empty_desk(chain, rng):
    assert chain.decode(empty_frame(rng=rng)) == []


def test_closing_closes_both_decoders(chain):
    chain.close()
    assert not chain.first.is_open and not chain.second.is_open
    with pytest.raises(BackendUnavailable):
        chain.decode(empty_frame())


def test_the_self_test_names_both_decoders(chain):
    result = chain.self_test()
    assert result.ok, result.detail
    assert "zxing" in result.detail and "pyzbar" in result.detail


def test_the_simulated_and_the_pi_kiosk_scan_with_the_chain():
    assert resolve("scanner", "sim") == "chain" and resolve("scanner", "pi") == "chain"
    assert ALIASES["pi"]["camera"] == "picamera2"
