"""The status light and the "call an agent" button (GPIO on the Pi)."""

from __future__ import annotations

from abc import abstractmethod
from enum import StrEnum
from typing import Callable

from kiosk.hal.base import Device


class Light(StrEnum):
    READY = "ready"
    BUSY = "busy"
    ATTENTION = "attention"
    FAULT = "fault"


class Indicator(Device):
    """Backends: ``sim``; ``gpio`` over gpiozero (issue "hardware backends")."""

    device_name = "indicator"

    @abstractmethod
    def show(self, light: Light) -> None: ...

    @abstractmethod
    def on_call_button(self, callback: Callable[[], None]) -> None:
        """``callback`` runs (on a device thread) when the citizen presses "call an agent"."""
