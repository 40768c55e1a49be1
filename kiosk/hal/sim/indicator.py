"""The simulated status light and "call an agent" button: the real GPIO backend on gpiozero's mock pins.

As gpiozero's own tests do, the simulator is :class:`~kiosk.hal.gpio_indicator.GpioIndicator`
itself on a ``MockFactory`` (PWM-capable mock pins), so the colours, the
blinking and the button's wiring (pull-up, pressed = pin low) are the ones the
Pi runs; only the pins are not wired to anything. The mock pins are there to
look at (:attr:`SimIndicator.pin_factory`, gpiozero's ``MockPin.states``).

The light shown is also kept (:attr:`SimIndicator.light`,
:attr:`SimIndicator.history`) and written to ``<sim_dir>/indicator/state``
so a person or a scenario watching the simulated kiosk sees what the real
light would show. A test or the demo presses the button with
:meth:`SimIndicator.press_call_button`, which drives the button's mock pin
low then high, as the citizen's finger would.
"""

from __future__ import annotations

from pathlib import Path

from titres.errors import HalError
from kiosk.hal.gpio_indicator import GpioIndicator, make_pin_factory
from kiosk.hal.indicator import Light
from titres.durable import write_atomic


def state_file(sim_dir: Path) -> Path:
    return Path(sim_dir) / "indicator" / "state"


class SimIndicator(GpioIndicator):
    backend_name = "sim"
    #: Nobody watches mock pins: the self-test only needs each colour to have been set and read back.
    self_test_dwell_s = 0.0

    def __init__(self, hal_config, sim_dir: Path) -> None:
        # One MockFactory per simulated indicator: its pins are this kiosk's, no other test or device sees them.
        super().__init__(hal_config, sim_dir, pin_factory=make_pin_factory("mock"))
        self.state_path = state_file(sim_dir)
        self.history: list[Light] = []

    def _open(self) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        super()._open()

    def _self_test(self) -> str:
        return f"{super()._self_test()} (mock pins)"

    def show(self, light: Light) -> None:
        super().show(light)
        self.history.append(self.light)
        write_atomic(self.state_path, (self.light.value + "\n").encode("ascii"))

    def press_call_button(self) -> None:
        """What the citizen's finger does on the real button: the pin goes low (pressed), then high.

        gpiozero runs ``when_pressed`` as the mock pin changes, so the
        callback runs on the caller's thread before this returns.
        """
        if not self.is_open:
            raise HalError("indicator is closed")
        pin = self.pin_factory.pin(self.button_pin)
        pin.drive_low()
        pin.drive_high()
