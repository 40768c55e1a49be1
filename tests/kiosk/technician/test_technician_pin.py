"""The technician PIN: chosen well, stored as a hash, and guessing slowed by a lockout that survives restarts."""

from __future__ import annotations

import json
import stat

import pytest

from kiosk.technician.pin import PinGuard, PinRefused, Verdict, check_new_pin


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("pin, key", [("12345", "pin.error.format"), ("123456789", "pin.error.format"),
                                      ("12a456", "pin.error.format"), ("１２３４５６", "pin.error.format"),
                                      ("000000", "pin.error.weak"), ("123456", "pin.error.weak"),
                                      ("98765432", "pin.error.weak")])
def test_weak_or_malformed_pins_are_refused(pin, key):
    with pytest.raises(PinRefused) as caught:
        check_new_pin(pin)
    assert caught.value.message_key == key


def test_only_a_hash_is_kept_readable_by_the_owner_alone(tmp_path):
    guard = PinGuard(tmp_path / "keys" / "pin.json")
    guard.set("246813")
    text = guard.pin_file.read_text()
    assert "246813" not in text and json.loads(text)["scheme"] == "scrypt"
    assert stat.S_IMODE(guard.pin_file.stat().st_mode) == 0o600
    assert guard.check("246813").verdict is Verdict.OK
    assert guard.check("246814").verdict is Verdict.WRONG


def test_no_pin_set_opens_nothing(tmp_path):
    assert PinGuard(tmp_path / "pin.json").check("246813").verdict is Verdict.NOT_SET


def test_five_wrong_pins_lock_even_the_right_one_until_the_lockout_ends(tmp_path):
    clock = Clock()
    guard = PinGuard(tmp_path / "pin.json", max_failures=5, lockout_s=300, clock=clock)
    guard.set("246813")
    tries = [guard.check("111112") for _ in range(4)]
    assert [c.tries_left for c in tries] == [4, 3, 2, 1]
    assert guard.check("111112").verdict is Verdict.LOCKED
    assert guard.check("246813").verdict is Verdict.LOCKED, "the right PIN does not open a locked pad"
    clock.now += 299
    restarted = PinGuard(tmp_path / "pin.json", max_failures=5, lockout_s=300, clock=clock)
    assert restarted.check("246813").verdict is Verdict.LOCKED, "restarting the app does not reset the count"
    clock.now += 2
    assert restarted.check("111112").tries_left == 4, "after the lockout, a fresh series of tries"
    assert restarted.check("246813").verdict is Verdict.OK
    assert restarted.check("111112").tries_left == 4, "a right PIN resets the count"


def test_a_damaged_counter_locks_for_one_lockout_then_recovers(tmp_path):
    clock = Clock()
    guard = PinGuard(tmp_path / "pin.json", lockout_s=300, clock=clock)
    guard.set("246813")
    guard.state_file.write_text("{not json")
    assert guard.check("246813").verdict is Verdict.LOCKED
    clock.now += 301
    assert guard.check("246813").verdict is Verdict.OK
