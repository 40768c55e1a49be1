"""The commissioning flow on its own: what the technician is asked, in what order, and what each refusal says."""

from __future__ import annotations

import pytest

from kiosk.commissioning import Commissioning, Notice, Stage, notice_for
from kiosk.enrollment_code import format_code
from kiosk.errors import InvalidTransition, PermanentSyncError, RetryableSyncError

TOKEN = "Zq3-_abcdefghijklmnopq"
CODE = format_code("https://central.example", TOKEN)


def test_code_then_pin_twice_then_enrolling():
    flow, seen = Commissioning(), []
    flow.subscribe(lambda f: seen.append(f.stage))
    assert flow.code_read(CODE)
    assert flow.code.central_url == "https://central.example" and flow.code.token == TOKEN
    flow.pin_entered("246813")
    assert flow.stage is Stage.REPEAT_PIN
    flow.pin_entered("246813")
    assert flow.stage is Stage.ENROLLING
    assert flow.take_pin() == "246813" and flow.take_pin() is None, "the PIN is handed over once, then forgotten"
    flow.enrolled({"site": {"name": "Mairie de Trèbes"}, "kiosk_code": "K0A"})
    assert seen == [Stage.CHOOSE_PIN, Stage.REPEAT_PIN, Stage.ENROLLING, Stage.DONE]


def test_a_pre_demande_qr_code_is_not_taken_for_a_token():
    flow = Commissioning("https://central.example")
    assert not flow.code_read("A1B2C3D4E5")
    assert flow.stage is Stage.SCANNING and flow.notice == Notice("commission.error.not_enrollment")


def test_two_different_pins_start_the_choice_again():
    flow = Commissioning()
    flow.code_read(CODE)
    flow.pin_entered("246813")
    flow.pin_entered("246812")
    assert flow.stage is Stage.CHOOSE_PIN and flow.notice.key == "pin.error.mismatch"
    flow.pin_entered("111111")
    assert flow.stage is Stage.CHOOSE_PIN and flow.notice.key == "pin.error.weak"


def test_typing_uses_the_configured_service_when_the_address_is_left_empty():
    flow = Commissioning("https://central.example")
    flow.type_instead()
    assert not flow.code_typed("ftp://nowhere", TOKEN) and flow.notice.key == "commission.error.bad_url"
    assert flow.code_typed("", TOKEN)
    assert flow.code.central_url == "https://central.example"


def test_a_failed_enrollment_goes_back_to_the_code_without_asking_the_stored_pin_again():
    flow = Commissioning()
    flow.code_read(CODE)
    flow.pin_entered("246813")
    flow.pin_entered("246813")
    refused = PermanentSyncError("central service refused (403 bad_token): unknown")
    refused.code = "bad_token"
    flow.enrollment_failed(refused, pin_stored=True)
    assert flow.stage is Stage.SCANNING and flow.notice.key == "commission.error.token"
    assert flow.code is None
    assert flow.code_read(CODE) and flow.stage is Stage.ENROLLING


def test_a_typed_code_that_fails_goes_back_to_typing():
    flow = Commissioning("https://central.example", pin_already_set=True)
    flow.type_instead()
    assert flow.code_typed("", TOKEN) and flow.stage is Stage.ENROLLING
    flow.enrollment_failed(RetryableSyncError("central service unreachable"), pin_stored=True)
    assert flow.stage is Stage.TYPING and flow.notice.key == "commission.error.network"


def test_events_out_of_turn_are_refused():
    flow = Commissioning()
    with pytest.raises(InvalidTransition):
        flow.pin_entered("246813")
    with pytest.raises(InvalidTransition):
        flow.enrolled({})


@pytest.mark.parametrize("error, key", [
    (RetryableSyncError("central service unreachable: ConnectError"), "commission.error.network"),
    (PermanentSyncError("refused"), "commission.error.refused"),
    (ValueError("boom"), "commission.error.unexpected"),
])
def test_each_failure_says_what_to_do(error, key):
    assert notice_for(error).key == key
