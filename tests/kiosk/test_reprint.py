"""A receipt that could not print is not a dossier lost: it stays queued, and the desk reprints it later."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.config import load_config, simulated
from titres.errors import PaperOut
from kiosk.hal.sim.escpos_decode import decode_file
from kiosk.hal.sim.printer import write_paper_file
from kiosk.runtime import build_kiosk
from kiosk.scenario import run_scenario

OUT_OF_PAPER = Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "printer-out-of-paper.json"


def test_out_of_paper_at_the_end_keeps_the_dossier_and_a_reprint_works_once_paper_is_back(tmp_path):
    cfg = simulated(load_config(env={})).with_overrides(data_dir=tmp_path / "kiosk")
    scenario = json.loads(OUT_OF_PAPER.read_text(encoding="utf-8"))
    submit = next(i for i, step in enumerate(scenario["steps"]) if "submit" in step)
    scenario["steps"] = scenario["steps"][:submit + 1] + [{"finish": True}]  # the citizen leaves without a receipt
    scenario["expect"] = {"queue_state": "queued", "receipt": False, "messages": ["receipt.error.paper"]}
    result = run_scenario(scenario, cfg)
    assert result["ok"], result["failures"]
    number = result["dossier_number"]

    write_paper_file(cfg.sim_dir, "out")  # later, at the desk: still no paper
    with build_kiosk(cfg, recover=False) as kiosk:
        with pytest.raises(PaperOut):
            kiosk.controller.reprint(number)
        assert kiosk.outbox.by_number(number) is not None
        assert kiosk.devices.printer.jobs() == []

    write_paper_file(cfg.sim_dir, "ok")  # paper is back
    with build_kiosk(cfg, recover=False) as kiosk:
        kiosk.controller.reprint(number)
        (job,) = kiosk.devices.printer.jobs()
    printed = decode_file(job)
    assert "DUPLICATA" in printed.lines and printed.qr_payloads == [number]
