"""The commissioning flow on its own: what the technician is asked, in what order, and what each refusal says."""

from __future__ import annotations

import pytest

from kiosk.technician.commissioning import Commissioning, Notice, Stage, notice_for
from titres.enrollment_code import format_code
from titres.errors import DiskFull, InvalidTransition, PermanentSyncError, RetryableSyncError

TOKEN = "Zq3-_abcdefghijklmnopq"
CODE = format_code("https://central.example", TOKEN)
ANSWER = {"site": {"name": "Mairie de Trèbes"}, "kiosk_code": "K00A"}


def enrolled_flow(**kw) -> Commissioning:
    flow = Commissioning(**kw)
    assert flow.code_read(CODE)
    flow.enrolled(ANSWER)
    return flow


def test_code_then_enrollment_then_confirmation_then_pin_twice_then_saving():
    flow, seen = Commissioning(), []
    flow.subscribe(lambda f: seen.append(f.stage))
    assert flow.code_read(CODE)
    assert flow.code.central_url == "https://central.example" and flow.code.token == TOKEN
    flow.enrolled(ANSWER)
    flow.site_confirmed()
    flow.pin_entered("246813")
    flow.pin_entered("246813")
    assert flow.take_pin() == "246813" and flow.take_pin() is None, "the PIN is handed over once, then forgotten"
    flow.saved()
    assert seen == [Stage.ENROLLING, Stage.CONFIRM_SITE, Stage.CHOOSE_PIN, Stage.REPEAT_PIN, Stage.SAVING, Stage.DONE]


def test_no_pin_is_asked_before_the_service_has_answered():
    flow = Commissioning()
    flow.code_read(CODE)
    with pytest.raises(InvalidTransition):
        flow.pin_entered("246813")


def test_the_wrong_mairie_drops_everything_and_says_which_kiosk_to_revoke():
    flow = enrolled_flow()
    flow.site_refused()
    assert flow.stage is Stage.SCANNING and flow.answer is None and flow.code is None
    assert flow.notice == Notice("commission.error.wrong_site", params=(("kiosk", "K00A"),))


def test_a_pre_demande_qr_code_is_not_taken_for_a_token():
    flow = Commissioning("https://central.example")
    assert not flow.code_read("A1B2C3D4E5")
    assert flow.stage is Stage.SCANNING and flow.notice == Notice("commission.error.not_enrollment")


@pytest.mark.parametrize("url, allowed, reason", [
    ("http://central.example", (), "insecure"),  # a token in clear over a network, a key from anyone
    ("https://elsewhere.example", ("https://central.example/",), "untrusted"),
])
def test_a_service_the_image_does_not_trust_is_refused_before_any_request(url, allowed, reason):
    flow = Commissioning(allowed=allowed)
    assert not flow.code_read(format_code(url, TOKEN))
    assert flow.stage is Stage.SCANNING and flow.notice.key == f"commission.error.{reason}"


@pytest.mark.parametrize("url, allowed", [("http://127.0.0.1:8080", ()),  # the demo, on this machine
                                          ("http://central.lan", ("http://central.lan",))])  # named by the image
def test_plain_http_only_on_this_machine_or_when_the_image_names_it(url, allowed):
    assert Commissioning(allowed=allowed).code_read(format_code(url, TOKEN))


def test_two_different_pins_start_the_choice_again():
    flow = enrolled_flow()
    flow.site_confirmed()
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


def test_a_failed_enrollment_goes_back_to_where_the_code_came_from():
    flow = Commissioning("https://central.example")
    flow.code_read(CODE)
    refused = PermanentSyncError("central service refused (403 bad_token): unknown")
    refused.code = "bad_token"
    flow.enrollment_failed(refused)
    assert flow.stage is Stage.SCANNING and flow.notice.key == "commission.error.token" and flow.code is None
    flow.type_instead()
    flow.code_typed("", TOKEN)
    flow.enrollment_failed(RetryableSyncError("central service unreachable"))
    assert flow.stage is Stage.TYPING and flow.notice.key == "commission.error.network"


def test_a_card_that_refuses_the_files_asks_for_the_pin_again_with_the_reason():
    flow = enrolled_flow()
    flow.site_confirmed()
    flow.pin_entered("246813")
    flow.pin_entered("246813")
    flow.take_pin()
    flow.save_failed(DiskFull("no space left"))
    assert flow.stage is Stage.CHOOSE_PIN and flow.notice.key == DiskFull.message_key
    assert flow.answer is not None, "the enrollment is still there to be saved"


def test_events_out_of_turn_are_refused():
    flow = Commissioning()
    with pytest.raises(InvalidTransition):
        flow.enrolled({})
    with pytest.raises(InvalidTransition):
        flow.site_confirmed()


@pytest.mark.parametrize("error, key", [
    (RetryableSyncError("central service unreachable: ConnectError"), "commission.error.network"),
    (PermanentSyncError("refused"), "commission.error.refused"),
    (ValueError("boom"), "commission.error.unexpected"),
])
def test_each_failure_says_what_to_do(error, key):
    assert notice_for(error).key == key
