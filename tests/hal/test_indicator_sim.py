"""The simulated light keeps what it showed and tells the outside; its button calls back."""

from __future__ import annotations

import pytest

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


def test_a_detached_button_calls_nothing(indicator):
    indicator.on_call_button(None)
    indicator.press_call_button()


def test_the_self_test_cycles_the_lights_and_restores_the_last(indicator):
    indicator.show(Light.ATTENTION)
    assert indicator.self_test().ok
    assert indicator.light is Light.ATTENTION
