"""The simulated status light and "call an agent" button.

The light shown is kept (:attr:`SimIndicator.light`, :attr:`SimIndicator.history`)
and written to ``<sim_dir>/indicator/state`` so a person or a scenario
watching the simulated kiosk sees what the real light would show. A test or
the demo presses the button with :meth:`SimIndicator.press_call_button`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from kiosk.errors import HalError
from kiosk.hal.indicator import Indicator, Light
from kiosk.hal.sim.control import write_atomic


def state_file(sim_dir: Path) -> Path:
    return Path(sim_dir) / "indicator" / "state"


class SimIndicator(Indicator):
    backend_name = "sim"

    def __init__(self, hal_config, sim_dir: Path) -> None:
        super().__init__()
        self.state_path = state_file(sim_dir)
        self.light: Light | None = None
        self.history: list[Light] = []
        self._callback: Callable[[], None] | None = None

    def _open(self) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)

    def _close(self) -> None:
        self._callback = None

    def _self_test(self) -> str:
        previous = self.light
        for light in Light:
            self.show(light)
        if previous is not None:
            self.show(previous)
        return f"showed {', '.join(l.value for l in Light)}"

    def show(self, light: Light) -> None:
        if not self.is_open:
            raise HalError("indicator is closed")
        light = Light(light)
        self.light = light
        self.history.append(light)
        write_atomic(self.state_path, (light.value + "\n").encode("ascii"))

    def on_call_button(self, callback: Callable[[], None] | None) -> None:
        """Replaces the previous callback, as gpiozero's ``when_pressed`` does; ``None`` detaches it."""
        self._callback = callback

    def press_call_button(self) -> None:
        """What the citizen's finger does on the real button; callbacks run on the caller's thread."""
        if not self.is_open:
            raise HalError("indicator is closed")
        if self._callback is not None:
            self._callback()
