"""The status light and the "call an agent" button on the Raspberry Pi's GPIO, over gpiozero.

The light is one RGB LED (common cathode, one pin per colour) driven as a
gpiozero ``RGBLED`` with PWM, so it can show amber and breathe; the button is
a gpiozero ``Button`` between its pin and GND, with the Pi's internal pull-up.

Each :class:`~kiosk.hal.indicator.Light` has its own colour **and** its own
rhythm (:data:`PATTERNS`), so a person who does not tell red from green, or
looks at the kiosk from across the hall, still reads it: ready is steady,
busy breathes slowly, attention blinks once a second, fault blinks fast.

As every gpiozero device, this one never touches the hardware itself: it
asks a *pin factory* for pins. The factory is passed in (``pin_factory=``)
or, when it is not, made from its name (``lgpio`` on the Pi, the only one
that drives both the Pi 4 and the Pi 5 with PWM) and owned, opened and closed
with the device. gpiozero's global ``Device.pin_factory`` is never set or
read: two indicators on two factories (a test's and the simulator's) never
see each other. The simulator (:mod:`kiosk.hal.sim.indicator`) is this very
class on gpiozero's own ``MockFactory``.

gpiozero is imported when the device opens, so this module imports anywhere.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from titres.errors import BackendUnavailable, ConfigError, HalError
from kiosk.hal.indicator import Indicator, Light

log = logging.getLogger(__name__)

#: The gpiozero pin factory used when none is passed in: lgpio drives ``/dev/gpiochip*`` on the Pi 4 and 5,
#: with (software) PWM. gpiozero's own default would quietly fall back to factories without PWM.
DEFAULT_PIN_FACTORY = "lgpio"

FACTORY_HINT = ("on Raspberry Pi OS: sudo apt install python3-lgpio, the kiosk's virtualenv made with "
                "--system-site-packages, and the kiosk user in group gpio (docs/hardware.md)")


@dataclass(frozen=True)
class Pattern:
    """How one light looks: a colour and a rhythm, never a colour alone.

    ``rhythm`` is ``steady``, ``pulse`` (fades in over ``on_s``, out over
    ``off_s``) or ``blink`` (``on_s`` lit, ``off_s`` dark).
    """

    colour_name: str
    colour: tuple[float, float, float]
    rhythm: str
    on_s: float = 0.0
    off_s: float = 0.0

    def describe(self) -> str:
        if self.rhythm == "steady":
            return f"steady {self.colour_name}"
        return f"{self.colour_name}, {self.rhythm} {self.on_s:g} s / {self.off_s:g} s"


PATTERNS: dict[Light, Pattern] = {
    Light.READY: Pattern("green", (0.0, 1.0, 0.0), "steady"),
    Light.BUSY: Pattern("blue", (0.0, 0.0, 1.0), "pulse", 1.0, 1.0),
    # Red plus a little green: green is much brighter per milliamp than red on common RGB LEDs.
    Light.ATTENTION: Pattern("amber", (1.0, 0.3, 0.0), "blink", 0.5, 0.5),
    # 2.5 flashes a second: fast enough to alarm, under the 3 a second photosensitivity limit.
    Light.FAULT: Pattern("red", (1.0, 0.0, 0.0), "blink", 0.2, 0.2),
}

CHANNELS = ("red", "green", "blue")


def make_pin_factory(name: str) -> Any:
    """A new gpiozero pin factory by its entry-point name (``lgpio``, ``mock``, ``rpigpio``…).

    The caller owns it and closes it. ``mock`` is gpiozero's ``MockFactory``
    with PWM-capable pins, which the light needs. A factory that cannot start
    (no lgpio module, no ``/dev/gpiochip0``, no permission) raises
    :class:`BackendUnavailable` with what to do about it.
    """
    from importlib.metadata import entry_points

    found = {ep.name: ep for ep in entry_points(group="gpiozero_pin_factories")}
    if not found:
        raise BackendUnavailable("gpiozero is not installed: pip install gpiozero")
    if name not in found:
        raise ConfigError(f"no gpiozero pin factory {name!r}; choose from {sorted(found)}")
    try:
        cls = found[name].load()
        if name == "mock":
            from gpiozero.pins.mock import MockPWMPin

            return cls(pin_class=MockPWMPin)
        return cls()
    except Exception as exc:  # ImportError, lgpio.error, PermissionError: all mean "not on this machine"
        raise BackendUnavailable(f"gpiozero pin factory {name!r} cannot start ({type(exc).__name__}: {exc}); "
                                 f"{FACTORY_HINT}") from exc


class GpioIndicator(Indicator):
    """The RGB status light and the call button on BCM pins from :class:`~kiosk.config.HalConfig`.

    ``pin_factory`` is any gpiozero pin factory, kept by the caller (this
    class never closes it). Without one, the factory named by
    ``hal_config.gpio_pin_factory`` (default :data:`DEFAULT_PIN_FACTORY`) is
    made at :meth:`open` and closed at :meth:`close`.
    """

    backend_name = "gpio"
    #: How long each colour stays lit during the self-test: long enough for a technician to see it.
    self_test_dwell_s = 0.4
    #: Contacts bounce for a few milliseconds; a press shorter than this is not a citizen's finger.
    bounce_time_s = 0.05

    def __init__(self, hal_config, sim_dir: Path | None = None, *, pin_factory: Any = None) -> None:
        super().__init__()
        self.pins = {"red": int(hal_config.gpio_led_pin), "green": int(hal_config.gpio_led_green_pin),
                     "blue": int(hal_config.gpio_led_blue_pin)}
        self.button_pin = int(hal_config.gpio_button_pin)
        if len({*self.pins.values(), self.button_pin}) != 4:
            raise ConfigError(f"the light's pins {self.pins} and the button's GPIO{self.button_pin} must all differ")
        # Not in HalConfig yet: lgpio, the Pi's, unless the configuration names another.
        self.factory_name = hal_config.gpio_pin_factory or DEFAULT_PIN_FACTORY
        self._given_factory = pin_factory
        self._factory: Any = None
        self._led: Any = None
        self._button: Any = None
        self._callback: Callable[[], None] | None = None
        self._lock = threading.RLock()
        self.light: Light | None = None

    @property
    def pin_factory(self) -> Any:
        """The gpiozero pin factory in use (``None`` while closed, unless one was passed in)."""
        return self._factory if self._factory is not None else self._given_factory

    def _pin_names(self) -> str:
        return "/".join(f"GPIO{self.pins[c]}" for c in CHANNELS) + f", GPIO{self.button_pin}"

    # --- lifecycle -------------------------------------------------------------
    def _open(self) -> None:
        factory = self._given_factory if self._given_factory is not None else make_pin_factory(self.factory_name)
        try:
            from gpiozero import RGBLED, Button
            from gpiozero.exc import GPIOPinInUse, PinInvalidPin, PinPWMUnsupported
        except ImportError as exc:
            self._close_factory(factory)
            raise BackendUnavailable(f"gpiozero cannot load: {exc}") from exc
        led = button = None
        try:
            led = RGBLED(self.pins["red"], self.pins["green"], self.pins["blue"], active_high=True,
                         initial_value=(0, 0, 0), pwm=True, pin_factory=factory)
            button = Button(self.button_pin, pull_up=True, bounce_time=self.bounce_time_s, pin_factory=factory)
        except PinInvalidPin as exc:
            self._release(led, button, factory)
            raise ConfigError(f"[hal] GPIO pins {self._pin_names()}: {exc}") from exc
        except PinPWMUnsupported as exc:
            self._release(led, button, factory)
            raise BackendUnavailable(f"the pin factory {type(factory).__name__} cannot dim the light (no PWM); "
                                     f"use lgpio: {exc}") from exc
        except GPIOPinInUse as exc:
            self._release(led, button, factory)
            raise BackendUnavailable(f"{exc}: another device of this process holds the pin") from exc
        except Exception as exc:  # lgpio's "GPIO busy", a permission error: the pins are not ours to drive
            self._release(led, button, factory)
            raise BackendUnavailable(f"cannot claim {self._pin_names()} ({type(exc).__name__}: {exc}): is another "
                                     f"process holding them (the running kiosk)? is the user in group gpio?") from exc
        button.when_pressed = self._pressed
        with self._lock:
            self._factory = None if self._given_factory is not None else factory
            self._led, self._button = led, button
            self.light = None

    def _close(self) -> None:
        with self._lock:
            led, button, factory = self._led, self._button, self._factory
            self._led = self._button = self._factory = None
        self._release(led, button, factory)

    def _release(self, led: Any, button: Any, factory: Any) -> None:
        """Give the pins back to the factory (a second device may then take them), then close an owned factory."""
        for part in (button, led):
            if part is not None:
                try:
                    part.close()
                except Exception:  # closing must finish; a pin that will not close is logged, not raised
                    log.exception("closing %r failed", part)
        if factory is not None and factory is not self._given_factory:
            self._close_factory(factory)

    @staticmethod
    def _close_factory(factory: Any) -> None:
        try:
            factory.close()
        except Exception:
            log.exception("closing the pin factory failed")

    # --- the light -------------------------------------------------------------
    def show(self, light: Light) -> None:
        light = Light(light)
        with self._lock:
            if not self.is_open or self._led is None:
                raise HalError("indicator is closed")
            self._apply(PATTERNS[light])
            self.light = light

    def _apply(self, pattern: Pattern) -> None:
        """Start ``pattern`` on the LED; gpiozero's own thread keeps blinking or breathing it."""
        led = self._led
        if pattern.rhythm == "steady":
            led.value = pattern.colour  # stops any blinking first
        elif pattern.rhythm == "pulse":
            led.pulse(fade_in_time=pattern.on_s, fade_out_time=pattern.off_s, on_color=pattern.colour,
                      off_color=(0, 0, 0), background=True)
        else:
            led.blink(on_time=pattern.on_s, off_time=pattern.off_s, on_color=pattern.colour,
                      off_color=(0, 0, 0), background=True)

    # --- the button ------------------------------------------------------------
    def on_call_button(self, callback: Callable[[], None] | None) -> None:
        """Replaces the previous callback, as gpiozero's ``when_pressed``; ``None`` detaches it.

        The callback runs on gpiozero's event thread (the lgpio callback
        thread on the Pi) and is kept across :meth:`close` and :meth:`open`.
        """
        self._callback = callback

    def _pressed(self) -> None:
        callback = self._callback
        if callback is None:
            return
        try:
            callback()
        except Exception:
            # Raised on the pin factory's event thread, it would end that thread: no press would ever arrive again.
            log.exception("call button callback failed")

    @property
    def button_is_pressed(self) -> bool:
        with self._lock:
            if self._button is None:
                raise HalError("indicator is closed")
            return bool(self._button.is_pressed)

    # --- the technician's check ------------------------------------------------
    def _self_test(self) -> str:
        """Light each colour alone, reading each pin back, then read the button; put the light back as it was.

        The software cannot see the LED: the technician watches it go red,
        green, blue. A button read as pressed is reported, not failed: the
        technician may be holding it; if not, it is stuck or shorted to GND.
        """
        with self._lock:
            if self._led is None or self._button is None:
                raise HalError("indicator is closed")
            led, previous = self._led, self.light
            try:
                for i, channel in enumerate(CHANNELS):
                    for level in (1.0, 0.0):
                        wanted = tuple(level if j == i else 0.0 for j in range(3))
                        led.value = wanted
                        read = tuple(float(v) for v in led.value)
                        if any(abs(r - w) > 0.01 for r, w in zip(read, wanted)):
                            raise HalError(f"{channel} on GPIO{self.pins[channel]} driven to {level:g} "
                                           f"reads back {read[i]:g}")
                        if level:
                            time.sleep(self.self_test_dwell_s)
                pressed = bool(self._button.is_pressed)
            finally:
                if previous is None:
                    led.value = (0, 0, 0)
                else:
                    self._apply(PATTERNS[previous])
        pins = "/".join(str(self.pins[c]) for c in CHANNELS)
        state = "pressed (held, or stuck/shorted to GND?)" if pressed else "released"
        return f"toggled red/green/blue on GPIO{pins}, button on GPIO{self.button_pin} {state}"
