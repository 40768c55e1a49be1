"""The benchmarks' own drives of the session still follow the session's events (they are not run here:
``bench/`` measures, it does not test; but a benchmark that no longer runs measures nothing)."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _bench_module(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return __import__(name)


def test_the_scenario_benchmarks_bare_session_reaches_the_end():
    assert _bench_module("bench_scenario").bare_session_ms() > 0


def test_the_ingest_benchmarks_template_dossier_is_a_whole_dossier():
    d = _bench_module("_central_server").template_dossier()
    assert d["checklist"] and d["signature"] and len(d["fingerprints"]) == 2


def test_the_speech_benchmark_measures_a_page_change_and_a_rendered_name(monkeypatch):
    bench = _bench_module("bench_speech")
    monkeypatch.setattr(bench, "RUNS", 2)
    figures = bench.measure("sim")
    assert figures["cached_ms_p50"] > 0 and figures["rendered_ms_p50"] > figures["baseline_ms_p50"] > 0


def test_the_import_benchmark_sees_what_an_import_loads():
    figures = _bench_module("bench_imports").measure(1, ("titres.dossier", "kiosk.runtime"))
    assert figures["baseline_ms"] > 0
    assert figures["modules"]["titres.dossier"]["loads"] == []
    assert "numpy" in figures["modules"]["kiosk.runtime"]["loads"]
