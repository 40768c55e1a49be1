"""The simulated light keeps what it showed and tells the outside; its button calls back.

It is the GPIO backend itself on gpiozero's mock pins, so what it shows is what the Pi's pins would do.
"""

from __future__ import annotations

import pytest

from titres.errors import HalError
from kiosk.hal.indicator import Light
from kiosk.hal.sim.indicator import SimIndicator, state_file


@pytest.fixture
def indicator(hal_config, sim_dir):
    with SimIndicator(hal_config, sim_dir) as ind:
        yield ind


def test_the_light_shown_is_kept_with_its_history(indicator):
    indicator.show(Light.READY)
    indicator.show(Light.BUSY)
    assert indicator.light is Light.BUSY
    assert indicator.history == [Light.READY, Light.BUSY]


def test_the_light_shown_is_written_for_whoever_watches(indicator, sim_dir):
    indicator.show(Light.FAULT)
    assert state_file(sim_dir).read_text().strip() == "fault"


def test_pressing_the_call_button_runs_the_callback(indicator):
    calls = []
    indicator.on_call_button(lambda: calls.append("first"))
    indicator.on_call_button(lambda: calls.append("second"))  # replaces, as gpiozero's when_pressed
    indicator.press_call_button()
    assert calls == ["second"]


def test_a_detached_button_calls_nothing(indicator, hal_config):
    calls = []
    indicator.on_call_button(lambda: calls.append("pressed"))
    indicator.on_call_button(None)
    pin = indicator.pin_factory.pin(hal_config.gpio_button_pin)
    pin.clear_states()
    indicator.press_call_button()
    assert [s.state for s in pin.states] == [True, False, True]  # it was pressed...
    assert calls == []  # ...and the callback it had before was not called


def test_the_self_test_cycles_the_lights_and_restores_the_last(indicator):
    indicator.show(Light.ATTENTION)
    assert indicator.self_test().ok
    assert indicator.light is Light.ATTENTION


def test_the_simulator_drives_the_pis_pins_on_gpiozeros_mock_factory(indicator, hal_config):
    indicator.show(Light.READY)
    pins = indicator.pin_factory
    assert [pins.pin(n).state for n in (hal_config.gpio_led_pin, hal_config.gpio_led_green_pin,
                                        hal_config.gpio_led_blue_pin)] == [0.0, 1.0, 0.0]


def test_pressing_the_call_button_takes_its_pin_low_then_high(indicator, hal_config):
    pin = indicator.pin_factory.pin(hal_config.gpio_button_pin)
    pin.clear_states()
    indicator.press_call_button()
    assert [s.state for s in pin.states] == [True, False, True]


def test_a_closed_simulator_cannot_be_pressed(hal_config, sim_dir):
    with pytest.raises(HalError):
        SimIndicator(hal_config, sim_dir).press_call_button()


def test_two_simulated_kiosks_do_not_share_pins(hal_config, tmp_path):
    with SimIndicator(hal_config, tmp_path / "a") as a, SimIndicator(hal_config, tmp_path / "b") as b:
        a.show(Light.FAULT)
        b.show(Light.READY)
        assert b.pin_factory.pin(hal_config.gpio_led_green_pin).state == 1.0
