"""The simulated receipt printer: the real USB backend, python-escpos and pyusb, on a simulated USB printer.

:class:`SimPrinter` is :class:`~kiosk.hal.escpos_printer.UsbPrinter`
unchanged, connected to a :class:`~kiosk.hal.sim.usb_printer.SimulatedUsbPrinter`
through its pyusb backend instead of libusb: every status request and every
byte of every receipt crosses python-escpos's ``Usb`` class and pyusb, as on
the Pi, with the configured ids and profile.

Each job is written whole, as the printer received it, to
``<sim_dir>/printer/receipt-NNNN.bin`` (test tickets to
``selftest-NNNN.bin``). Read them back with :mod:`kiosk.hal.sim.escpos_decode`
(``codepages_for_profile`` for a profile other than ``default``), or see
them with ``render_png``.

The printer's state is one of :data:`STATES`: the paper (``ok``,
``near_end``, ``out``), ``unplugged``, or ``busy`` (held by another driver,
as ``usblp`` does). Set it with :meth:`SimPrinter.set_paper`,
:meth:`~SimPrinter.unplug`, :meth:`~SimPrinter.plug`,
:meth:`~SimPrinter.set_busy`, :meth:`~SimPrinter.set_state` or, from outside the process, by writing one
of those words to ``<sim_dir>/printer/paper`` (removing the file puts it
back plugged in, with paper)::

    echo out > var/kiosk/sim/printer/paper
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.hal.escpos_printer import UsbPrinter
from titres.durable import write_atomic
from kiosk.hal.sim.usb_printer import STATES, SimulatedUsbPrinter

__all__ = ["STATES", "SimPrinter", "paper_file", "write_paper_file"]


def paper_file(sim_dir: Path) -> Path:
    return Path(sim_dir) / "printer" / "paper"


def write_paper_file(sim_dir: Path, state: str) -> Path:
    """What a scenario or a person does from outside: take the paper out, or unplug the printer."""
    if state not in STATES:
        raise ValueError(f"unknown printer state {state!r}; choose from {STATES}")
    return write_atomic(paper_file(sim_dir), (state + "\n").encode("ascii"))


class SimPrinter(UsbPrinter):
    """The USB backend on the simulated printer (``hal.printer_usb_vendor``/``_product``, ``hal.printer_profile``).

    ``device`` replaces the simulated printer, e.g. one without a near-end
    sensor; by default it files its jobs under ``<sim_dir>/printer`` and
    follows the ``paper`` control file there.
    """

    backend_name = "sim"

    def __init__(self, hal_config, sim_dir: Path, *, device: SimulatedUsbPrinter | None = None) -> None:
        self.out_dir = Path(sim_dir) / "printer"
        self.device = device or SimulatedUsbPrinter(hal_config.printer_usb_vendor, hal_config.printer_usb_product,
                                                    self.out_dir, control=paper_file(sim_dir))
        super().__init__(hal_config, sim_dir, usb_backend=self.device.backend)
        self.profile = hal_config.printer_profile

    def describe(self) -> str:
        return f"simulated {super().describe()}"

    # --- the paper, the cable and the driver ---------------------------------------------------
    @property
    def state(self) -> str:
        return self.device.state

    def set_state(self, state: str) -> None:
        """Any word of :data:`STATES`, as written to the control file (``unplugged``, ``busy`` included)."""
        self.device.set_state(state)

    def set_paper(self, state: str) -> None:
        """``ok``, ``near_end`` or ``out``: the paper only (an unplugged printer stays unplugged)."""
        self.device.set_paper(state)

    def unplug(self) -> None:
        self.device.unplug()

    def plug(self) -> None:
        self.device.plug()

    def set_busy(self, busy: bool = True) -> None:
        """Another driver (``usblp``, CUPS, ipp-usb) holds the printer, or lets it go."""
        self.device.busy = busy

    # --- the facade -------------------------------------------------------------------------------
    def _open(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        super()._open()

    def _job_done(self, p: Any) -> None:
        self.device.tear_off()  # a model without a cutter never sent GS V: its ticket is torn off here

    def print_test_page(self) -> str:
        """Print the test ticket; returns the file it was filed as (``selftest-NNNN.bin``)."""
        self.device.job_label = "selftest"
        try:
            super().print_test_page()
        finally:
            self.device.job_label = "receipt"
        return str(self.device.last_job_path)

    # --- what came out ------------------------------------------------------------------------------
    @property
    def last_job_path(self) -> Path | None:
        """The last ticket printed (receipt or test ticket), ``None`` before any."""
        return self.device.last_job_path

    def jobs(self) -> list[Path]:
        """The receipts printed so far (test tickets excluded), oldest first."""
        return self.device.jobs("receipt")
