"""The receipt printer facade. The receipt is laid out once (``kiosk.core.receipt``); backends only move bytes."""

from __future__ import annotations

from abc import abstractmethod

from kiosk.hal.base import Device
from kiosk.core.readings import PrinterStatus


class ReceiptPrinter(Device):
    """Backends: ``usb`` (python-escpos ``Usb`` over pyusb), ``sim`` (the same backend on a simulated
    USB printer that files each job's ESC/POS bytes).

    Besides printing receipts, an ESC/POS backend prints a technician's test
    ticket with ``print_test_page()`` (``kiosk selftest --print``); its
    ``self_test()`` only reads the status and prints nothing.

    Errors: :class:`titres.errors.PaperOut`, :class:`titres.errors.PrinterNotFound`,
    :class:`titres.errors.PrinterError`.
    """

    device_name = "printer"

    @abstractmethod
    def status(self) -> PrinterStatus:
        """Online and paper state; ``None`` fields when the printer does not answer."""

    @abstractmethod
    def print_receipt(self, receipt) -> None:
        """Print a :class:`kiosk.core.receipt.Receipt`; raises :class:`PaperOut` before printing anything if out of paper."""
