"""Shared fixtures for the hardware layer: the simulators, a scanner, a receipt with every French accent."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.config import HalConfig
from titres.errors import BackendUnavailable
from titres.predemande import NumberFormat
from kiosk.core.receipt import Receipt


@pytest.fixture
def hal_config() -> HalConfig:
    return HalConfig(default="sim")


@pytest.fixture
def sim_dir(tmp_path):
    path = tmp_path / "sim"
    path.mkdir()
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261122)


@pytest.fixture
def number_format() -> NumberFormat:
    return NumberFormat.from_pattern("[A-Z0-9]{10}")


def _opened_scanner(cls, hal_config, sim_dir):
    """An open scanner of ``cls``, closed afterwards; a skip when its library is missing here."""
    s = cls(hal_config, sim_dir)
    try:
        s.open()
    except BackendUnavailable as exc:
        pytest.skip(str(exc))
    yield s
    s.close()


@pytest.fixture
def scanner(hal_config, sim_dir):
    from kiosk.hal.pyzbar_scanner import PyzbarScanner

    yield from _opened_scanner(PyzbarScanner, hal_config, sim_dir)


@pytest.fixture
def chain(hal_config, sim_dir):
    """The kiosk's default scanner: zxing-cpp, then ZBar on the regions it located."""
    from kiosk.hal.chain_scanner import ChainScanner

    yield from _opened_scanner(ChainScanner, hal_config, sim_dir)


@pytest.fixture
def receipt() -> Receipt:
    return Receipt(
        mairie="Mairie de Saint-Étienne",
        address="Place de l'Hôtel de Ville, 42000 Saint-Étienne",
        opening_hours="Lundi-vendredi 8h30-12h / 13h30-17h",
        printed_at="22/11/2026 14:05",
        dossier_number="K01-0001A-3",
        predemande_masked="A1******E5",
        originals=("Pièce d'identité actuelle", "Justificatif de domicile de moins d'un an", "Photo d'identité"),
        flags=("Empreintes à compléter au guichet.",),
        fees="Timbre fiscal : 25 €",
    )


@pytest.fixture
def sim_printer(hal_config, sim_dir):
    from kiosk.hal.sim.printer import SimPrinter

    with SimPrinter(hal_config, sim_dir) as p:
        yield p
