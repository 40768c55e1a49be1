"""The GPIO status light and call button, on gpiozero's MockFactory: the pins a Pi would drive, read back.

gpiozero's ``MockFactory`` is a real, shipped pin factory (gpiozero's own
tests run on it); its ``MockPWMPin`` keeps every state a pin went through,
with the time between changes, which is what a person looking at the LED
sees.
"""

from __future__ import annotations

import statistics
import time

import pytest
from gpiozero.pins.mock import MockFactory, MockPin, MockPWMPin

from kiosk.config import HalConfig
from titres.errors import BackendUnavailable, ConfigError, HalError
from kiosk.hal.gpio_indicator import PATTERNS, GpioIndicator, make_pin_factory
from kiosk.hal.indicator import Light

RED, GREEN, BLUE, BUTTON = 17, 22, 23, 27


@pytest.fixture
def factory():
    f = MockFactory(pin_class=MockPWMPin)
    yield f
    f.close()


@pytest.fixture
def indicator(factory):
    with GpioIndicator(HalConfig(), pin_factory=factory) as ind:
        yield ind


def levels(factory) -> tuple[float, float, float]:
    return tuple(float(factory.pin(n).state) for n in (RED, GREEN, BLUE))


def watch(factory, seconds: float) -> dict[int, list]:
    """Every state each LED pin goes through during ``seconds``: ``[(seconds since the previous change, level)]``."""
    for n in (RED, GREEN, BLUE):
        factory.pin(n).clear_states()
    time.sleep(seconds)
    return {n: list(factory.pin(n).states) for n in (RED, GREEN, BLUE)}


def peak_colour(seen: dict[int, list]) -> tuple[float, float, float]:
    return tuple(max(float(s.state) for s in seen[n]) for n in (RED, GREEN, BLUE))


def rhythm(states: list) -> str:
    """What the eye reads from one pin's history, without its colour."""
    if len(states) <= 1:
        return "steady"
    if any(0 < float(s.state) < 1 for s in states):
        return "fades"
    edges = [s.timestamp for s in states[2:]]  # the first change is timed from when watching began, not an edge
    return "blinks fast" if statistics.median(edges) < 0.35 else "blinks slowly"


# --- the light -------------------------------------------------------------------------
def test_ready_is_steady_green(indicator, factory):
    indicator.show(Light.READY)
    seen = watch(factory, 0.3)
    assert levels(factory) == (0.0, 1.0, 0.0)
    assert all(len(states) == 1 for states in seen.values())  # nothing changed while watching


def test_each_light_differs_in_rhythm_and_not_only_in_colour(indicator, factory):
    looks = {}
    for light, seconds in [(Light.READY, 0.3), (Light.BUSY, 1.0), (Light.ATTENTION, 1.7), (Light.FAULT, 1.0)]:
        indicator.show(light)
        time.sleep(0.05)
        seen = watch(factory, seconds)
        colour = peak_colour(seen)
        brightest = max((RED, GREEN, BLUE), key=lambda n: max(float(s.state) for s in seen[n]))
        looks[light] = (colour, rhythm(seen[brightest]))
    assert looks[Light.READY] == ((0.0, 1.0, 0.0), "steady")
    assert looks[Light.BUSY] == ((0.0, 0.0, 1.0), "fades")
    assert looks[Light.ATTENTION][1] == "blinks slowly"
    assert looks[Light.FAULT] == ((1.0, 0.0, 0.0), "blinks fast")
    assert len({colour for colour, _ in looks.values()}) == 4
    assert len({r for _, r in looks.values()}) == 4  # a person who cannot tell the colours still reads the state


def test_attention_is_amber_red_with_a_little_green(indicator, factory):
    indicator.show(Light.ATTENTION)
    time.sleep(0.05)
    red, green, blue = peak_colour(watch(factory, 1.2))
    assert red == 1.0 and 0 < green < 0.5 and blue == 0.0


def test_fault_flashes_fewer_than_three_times_a_second(indicator, factory):
    indicator.show(Light.FAULT)
    time.sleep(0.05)
    seen = watch(factory, 2.0)
    flashes = sum(1 for s in seen[RED][1:] if s.state == 1.0)
    assert 3 <= flashes <= 6  # 2.5 a second: alarming, and under the photosensitivity limit of 3


def test_the_patterns_are_what_the_documentation_says():
    assert {light: p.describe() for light, p in PATTERNS.items()} == {
        Light.READY: "steady green",
        Light.BUSY: "blue, pulse 1 s / 1 s",
        Light.ATTENTION: "amber, blink 0.5 s / 0.5 s",
        Light.FAULT: "red, blink 0.2 s / 0.2 s",
    }


def test_a_new_light_replaces_the_blinking_one(indicator, factory):
    indicator.show(Light.FAULT)
    time.sleep(0.1)
    indicator.show(Light.READY)
    seen = watch(factory, 0.5)
    assert levels(factory) == (0.0, 1.0, 0.0)
    assert all(len(states) == 1 for states in seen.values())
    assert indicator.light is Light.READY


def test_a_closed_indicator_refuses_to_show(factory):
    indicator = GpioIndicator(HalConfig(), pin_factory=factory)
    with pytest.raises(HalError):
        indicator.show(Light.READY)


# --- the button ------------------------------------------------------------------------
def test_the_button_is_pulled_up_and_pressed_means_low(indicator, factory):
    pin = factory.pin(BUTTON)
    assert pin.pull == "up" and pin.state is True
    assert not indicator.button_is_pressed
    pin.drive_low()
    assert indicator.button_is_pressed
    pin.drive_high()
    assert not indicator.button_is_pressed


def test_pressing_the_button_pin_runs_the_latest_callback_once(indicator, factory):
    calls = []
    indicator.on_call_button(lambda: calls.append("first"))
    indicator.on_call_button(lambda: calls.append("second"))  # replaces, as gpiozero's when_pressed
    pin = factory.pin(BUTTON)
    pin.drive_low()
    pin.drive_high()  # releasing is not a second press
    assert calls == ["second"]


def test_a_detached_button_calls_nothing(indicator, factory):
    calls = []
    indicator.on_call_button(lambda: calls.append("pressed"))
    indicator.on_call_button(None)
    factory.pin(BUTTON).drive_low()
    assert calls == []


def test_a_failing_callback_does_not_stop_later_presses(indicator, factory):
    calls = []

    def callback():
        calls.append("pressed")
        if len(calls) == 1:
            raise RuntimeError("the screen was busy")

    indicator.on_call_button(callback)
    pin = factory.pin(BUTTON)
    for _ in range(2):
        pin.drive_low()
        pin.drive_high()
    assert calls == ["pressed", "pressed"]


# --- lifecycle and pins ----------------------------------------------------------------
def test_close_releases_the_pins_so_a_second_indicator_can_take_them(factory):
    first = GpioIndicator(HalConfig(), pin_factory=factory).open()
    second = GpioIndicator(HalConfig(), pin_factory=factory)
    with pytest.raises(BackendUnavailable, match="in use"):
        second.open()
    first.close()
    second.open()
    second.show(Light.READY)
    assert levels(factory) == (0.0, 1.0, 0.0)
    second.close()


def test_close_leaves_the_led_pins_as_inputs_and_the_light_dark(indicator, factory):
    indicator.show(Light.FAULT)
    indicator.close()
    assert all(factory.pin(n).function == "input" for n in (RED, GREEN, BLUE))


def test_the_callback_survives_closing_and_reopening(indicator, factory):
    calls = []
    indicator.on_call_button(lambda: calls.append("pressed"))
    indicator.close()
    indicator.open()
    factory.pin(BUTTON).drive_low()
    assert calls == ["pressed"]


def test_the_global_pin_factory_is_left_alone(factory):
    from gpiozero import Device

    before = Device.pin_factory
    with GpioIndicator(HalConfig(), pin_factory=factory) as ind:
        ind.show(Light.BUSY)
    assert Device.pin_factory is before


def test_the_configured_pins_are_the_ones_driven(factory):
    cfg = HalConfig(gpio_led_pin=5, gpio_led_green_pin=6, gpio_led_blue_pin=13, gpio_button_pin=26)
    with GpioIndicator(cfg, pin_factory=factory) as ind:
        ind.show(Light.READY)
        assert factory.pin(6).state == 1.0 and factory.pin(5).state == 0.0
        assert factory.pin(26).pull == "up"


def test_pins_that_collide_are_refused_at_once():
    with pytest.raises(ConfigError, match="must all differ"):
        GpioIndicator(HalConfig(gpio_button_pin=17), pin_factory=MockFactory(pin_class=MockPWMPin))


def test_a_pin_the_board_does_not_have_is_a_configuration_error(factory):
    with pytest.raises(ConfigError, match="GPIO99"):
        GpioIndicator(HalConfig(gpio_button_pin=99), pin_factory=factory).open()
    GpioIndicator(HalConfig(), pin_factory=factory).open().close()  # what was claimed before the error was given back


def test_a_pin_factory_without_pwm_is_refused_with_a_hint():
    with pytest.raises(BackendUnavailable, match="PWM"):
        GpioIndicator(HalConfig(), pin_factory=MockFactory(pin_class=MockPin)).open()


def test_an_unknown_pin_factory_name_is_a_configuration_error():
    with pytest.raises(ConfigError, match="lgpio"):
        make_pin_factory("no-such-factory")


def test_without_lgpio_the_pi_backend_says_what_to_install():
    try:
        make_pin_factory("lgpio").close()
    except BackendUnavailable as exc:
        assert "python3-lgpio" in str(exc) and "gpio" in str(exc)
        with pytest.raises(BackendUnavailable, match="python3-lgpio"):
            GpioIndicator(HalConfig()).open()
    else:
        pytest.skip("lgpio works here: this is a Raspberry Pi")


# --- the self-test ---------------------------------------------------------------------
def test_the_self_test_lights_each_colour_alone_then_restores_the_light(indicator, factory):
    indicator.self_test_dwell_s = 0  # the pins are read back; nobody needs to see the mock LED
    indicator.show(Light.READY)
    watch(factory, 0)
    result = indicator.self_test()
    assert result.ok, result.detail
    assert result.detail == "toggled red/green/blue on GPIO17/22/23, button on GPIO27 released"
    for n in (RED, GREEN, BLUE):
        assert 1.0 in [s.state for s in factory.pin(n).states]
    assert levels(factory) == (0.0, 1.0, 0.0) and indicator.light is Light.READY


def test_the_self_test_reports_a_held_button_without_failing(indicator, factory):
    indicator.self_test_dwell_s = 0
    factory.pin(BUTTON).drive_low()
    result = indicator.self_test()
    assert result.ok and "GPIO27 pressed" in result.detail
