"""The simulated receipt printer: python-escpos's real bytes, kept in files instead of on paper.

Each job is laid out by the same code as on a real printer (the shared
:class:`~kiosk.hal.escpos_printer.EscposPrinterBase`) onto python-escpos's
``Dummy`` transport, and written whole to
``<sim_dir>/printer/receipt-NNNN.bin`` (self-test pages to
``selftest-NNNN.bin``). Read them back with :mod:`kiosk.hal.escpos_decode`,
or see them with ``render_png``.

The paper is a state, ``ok``, ``near_end``, ``out`` or ``unplugged``, set by
:meth:`SimPrinter.set_paper` / :meth:`SimPrinter.unplug` or, from outside
the process, by writing one of those words to ``<sim_dir>/printer/paper``
(removing the file puts paper back in)::

    echo out > var/kiosk/sim/printer/paper
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from kiosk.hal.escpos_printer import EscposPrinterBase
from kiosk.hal.sim.control import ControlFile, write_atomic
from kiosk.readings import PrinterStatus

log = logging.getLogger(__name__)

STATES = ("ok", "near_end", "out", "unplugged")
_JOB = re.compile(r"^(receipt|selftest)-(\d+)\.bin$")


def paper_file(sim_dir: Path) -> Path:
    return Path(sim_dir) / "printer" / "paper"


def write_paper_file(sim_dir: Path, state: str) -> Path:
    """What a scenario or a person does from outside: take the paper out, or unplug the printer."""
    if state not in STATES:
        raise ValueError(f"unknown printer state {state!r}; choose from {STATES}")
    return write_atomic(paper_file(sim_dir), (state + "\n").encode("ascii"))


class SimPrinter(EscposPrinterBase):
    backend_name = "sim"

    def __init__(self, hal_config, sim_dir: Path) -> None:
        super().__init__(hal_config, sim_dir)
        self.profile = hal_config.printer_profile
        self.out_dir = Path(sim_dir) / "printer"
        self._control = ControlFile(paper_file(sim_dir))
        self._state = "ok"
        self._kind = "receipt"
        self.last_job_path: Path | None = None

    # --- the paper and the cable ------------------------------------------
    @property
    def state(self) -> str:
        changed, text = self._control.poll()
        if changed:
            word = (text or "ok").strip().lower() or "ok"
            if word in STATES:
                self._state = word
            else:
                log.warning("ignoring %s: %r is not one of %s", self._control.path, word, STATES)
        return self._state

    def set_paper(self, state: str) -> None:
        if state not in STATES or state == "unplugged":
            raise ValueError(f"paper is one of ok, near_end, out; not {state!r}")
        self._state = state

    def unplug(self) -> None:
        self._state = "unplugged"

    def plug(self) -> None:
        if self._state == "unplugged":
            self._state = "ok"

    # --- the facade -------------------------------------------------------
    def _open(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)

    def status(self) -> PrinterStatus:
        state = self.state
        if not self.is_open or state == "unplugged":
            return PrinterStatus(online=False, paper=None)
        return PrinterStatus(online=True, paper=state)

    def _escpos(self) -> Any:
        from escpos.printer import Dummy

        return Dummy(profile=self.profile)

    def _job_done(self, p: Any) -> None:
        path = self.out_dir / f"{self._kind}-{self._next_number():04d}.bin"
        self.last_job_path = write_atomic(path, p.output)

    def _self_test(self) -> str:
        self._kind = "selftest"
        try:
            detail = super()._self_test()
        finally:
            self._kind = "receipt"
        return f"{detail}: {self.last_job_path}"

    # --- what came out ----------------------------------------------------
    def _numbered(self) -> list[tuple[int, str, Path]]:
        if not self.out_dir.is_dir():
            return []
        found = []
        for path in self.out_dir.iterdir():
            m = _JOB.match(path.name)
            if m:
                found.append((int(m.group(2)), m.group(1), path))
        return sorted(found)

    def _next_number(self) -> int:
        """One past the highest job on disk: numbering survives a restart, with no counter to keep."""
        jobs = self._numbered()
        return jobs[-1][0] + 1 if jobs else 1

    def jobs(self) -> list[Path]:
        """The receipts printed so far (self-test pages excluded), oldest first."""
        return [path for _, kind, path in self._numbered() if kind == "receipt"]
