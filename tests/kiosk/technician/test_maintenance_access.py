"""When the technician's side opens and closes: the rules the app follows, on their own."""

from __future__ import annotations

from kiosk.config import MaintenanceConfig
from kiosk.technician.maintenance import MaintenanceAccess


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def access() -> tuple[MaintenanceAccess, Clock]:
    clock = Clock()
    return MaintenanceAccess(MaintenanceConfig(idle_exit_s=180, pin_idle_s=60), clock), clock


def test_only_from_the_welcome_screen():
    a, _ = access()
    assert not a.may_ask(at_welcome=False) and not a.ask(at_welcome=False)
    assert not a.open(at_welcome=False), "never over a citizen's session"
    assert a.ask(at_welcome=True) and a.state == "asking"
    assert not a.may_ask(at_welcome=True), "a second hold does not ask over the pad"
    assert a.open(at_welcome=True) and a.is_open
    assert not a.open(at_welcome=True) and not a.may_ask(at_welcome=True)


def test_a_pad_left_alone_goes_away_and_a_closed_pad_opens_nothing_later():
    a, clock = access()
    a.ask(at_welcome=True)
    clock.now += 59
    assert a.expired() is None
    a.touched()  # typing keeps it
    clock.now += 59
    assert a.expired() is None
    clock.now += 2
    assert a.expired() == "pad"
    a.pad_closed()
    assert a.state == "closed" and a.expired() is None


def test_the_screen_closes_after_three_minutes_untouched_then_the_gesture_works_again():
    a, clock = access()
    a.ask(at_welcome=True)
    a.open(at_welcome=True)
    clock.now += 179
    assert a.expired() is None
    clock.now += 2
    assert a.expired() == "screen"
    assert a.close() and not a.is_open and not a.close()
    assert a.may_ask(at_welcome=True)
