"""The citizen's session, driven directly: events in, steps and dossier out, with a clock the test moves."""

from __future__ import annotations

import pytest

from titres import outcomes
from titres.dossier import AnswerSource, DocumentStatus, FingerStatus, Flag, StampMode
from titres.errors import (
    DirectoryUnavailable, InvalidNumber, InvalidTransition, NotAPredemande, PaperOut, PredemandeNotFound,
    PredemandeNotHeld, PredemandeUnusable, PrinterNotFound, QueueError, SensorUnavailable,
)
from titres.predemande import Entry, Motif, Title
from kiosk.core.quality import assess
from titres.rules import Region, SecureDocument
from kiosk.core.interview import Question
from titres.outcomes import Outcome
from kiosk.core.session import ACTIVE_STEPS, BUSY_STEPS, Session, SessionSettings, Step

from .conftest import TODAY

PHOTOS = ["photo", "proof_of_address", "secure_id", "loss_declaration"]  # an adult's lost CNI, passport valid
STAMP = "1234567890123456"


def steps_seen(session: Session) -> list[Step]:
    seen = [session.step]
    session.subscribe(lambda s: seen.append(s.step) if seen[-1] is not s.step else None)
    return seen


# ---------------------------------------------------------------------------
# The happy paths
# ---------------------------------------------------------------------------
def test_happy_path_online_goes_through_every_step_and_back_to_welcome(session, clock, adult_loss, good, finger):
    seen = steps_seen(session)

    session.start()
    assert session.step is Step.IDENTIFY
    assert session.submit_number("ab12 cd34 ef") == "AB12CD34EF"
    assert session.step is Step.LOOKING_UP and session.message.key == "identify.looking_up"

    session.lookup_finished(adult_loss)
    assert session.step is Step.CONFIRM
    session.confirm()
    # The form says she is neither hosted nor born abroad: only what it cannot say is asked.
    assert (session.step, session.index, session.current_question) == (Step.QUESTIONS, 0, Question.SECURE_DOCUMENT)
    assert session.needed_questions() == [Question.SECURE_DOCUMENT, Question.BIRTHPLACE_DEMATERIALISED]
    session.answer(Question.SECURE_DOCUMENT, "valid")
    assert session.needed_questions() == [Question.SECURE_DOCUMENT]  # a valid passport spares the birthplace
    session.next_question()
    assert session.step is Step.CHECKLIST
    assert [r.id for r in session.checklist] == PHOTOS + ["fiscal_stamp.cni"]
    d = session.dossier
    assert d.predemande_fetched and d.predemande["number"] == "AB12CD34EF" and d.predemande_number == "AB12CD34EF"
    assert d.created_at == "2025-03-10T09:30:00+00:00"
    assert d.signer == "applicant" and d.flags == []

    session.begin_capture()
    for i, req in enumerate(PHOTOS):
        assert (session.step, session.index, session.current_requirement.id) == (Step.CAPTURE, i, req)
        assert session.document_captured(b"jpeg " + req.encode(), good)
        # Shown back before the next document: "Photo acceptée".
        assert session.reviewing and (session.message.key, session.message.level) == ("capture.accepted", "ok")
        session.document_kept()
    assert session.step is Step.STAMP and session.current_requirement.id == "fiscal_stamp.cni"
    assert session.stamp_entered(STAMP)
    assert session.step is Step.FINGERPRINTS and session.current_finger == "left_index"
    session.finger_read(finger())
    assert session.current_finger == "right_index"
    session.finger_read(finger())
    assert session.step is Step.SIGNATURE
    assert session.signature_done(b"\x89PNG sig", strokes=4)
    assert session.step is Step.SUMMARY
    session.set_consent(True)
    assert session.submit() is d
    assert session.step is Step.SUBMITTING
    assert d.consent_at == "2025-03-10T09:30:00+00:00"

    assert [x.requirement for x in d.documents] == PHOTOS
    assert all(x.status is DocumentStatus.CAPTURED and x.attempts == 1 for x in d.documents)
    assert [(s.requirement, s.mode, s.number, s.amount_cents) for s in d.stamps] == [
        ("fiscal_stamp.cni", StampMode.DEMATERIALISED, STAMP, 2500)]
    assert [(f.finger, f.status) for f in d.fingerprints] == [
        ("left_index", FingerStatus.CAPTURED), ("right_index", FingerStatus.CAPTURED)]
    assert d.signature == "signature.png" and d.flags == []
    held = d.attachments["signature.png"].data

    session.submitted("K01-0001A-3")
    assert session.step is Step.PRINTING and session.dossier_number == "K01-0001A-3"
    assert d.attachments == {} and len(held) == 0  # sealed: the captures leave memory before printing
    session.printed()
    assert session.step is Step.END and session.message.key == "receipt.take"
    generation = session.generation
    clock.advance(SessionSettings().end_screen_s)
    session.tick()
    assert session.step is Step.WELCOME and session.generation == generation + 1
    assert session.dossier is None and session.predemande is None and session.dossier_number is None

    assert seen == [
        Step.WELCOME, Step.IDENTIFY, Step.LOOKING_UP, Step.CONFIRM, Step.QUESTIONS, Step.CHECKLIST, Step.CAPTURE,
        Step.STAMP,
        Step.FINGERPRINTS, Step.SIGNATURE, Step.SUMMARY, Step.SUBMITTING, Step.PRINTING, Step.END, Step.WELCOME,
    ]


def test_offline_the_questions_replace_the_lookup_and_the_dossier_is_flagged(session):
    session.start()
    session.submit_number("AB12CD34EF")
    session.lookup_failed(DirectoryUnavailable("no network"))
    assert (session.step, session.index) == (Step.QUESTIONS, 0)
    assert session.message.key == "identify.offline"
    assert session.audience is None  # nobody knows yet whether a parent speaks for a child
    # Before the age is known, every question that may matter is counted.
    assert session.needed_questions() == [
        Question.TITLES, Question.MOTIF, Question.AGE_BAND, Question.SECURE_DOCUMENT,
        Question.BIRTHPLACE_DEMATERIALISED, Question.BORN_ABROAD_PARENTS_ABROAD, Question.HOSTED,
        Question.ALTERNATING_RESIDENCE,
    ]

    session.next_question()  # nothing answered yet
    assert (session.step, session.index) == (Step.QUESTIONS, 0)
    assert (session.message.key, session.message.level) == ("questions.unanswered", "error")

    answers = [(Question.TITLES, ["cni", "passport"]), (Question.MOTIF, "loss"), (Question.AGE_BAND, "adult"),
               (Question.SECURE_DOCUMENT, "none"), (Question.BIRTHPLACE_DEMATERIALISED, None),  # "I don't know"
               (Question.BORN_ABROAD_PARENTS_ABROAD, None), (Question.HOSTED, None)]
    for i, (q, value) in enumerate(answers):
        assert (session.index, session.current_question) == (i, q)
        session.answer(q, value)
        session.next_question()
    assert session.audience == "self"  # an adult: no question about alternating residence

    assert session.step is Step.CHECKLIST
    d = session.dossier
    assert d.flags == [Flag.PREDEMANDE_NOT_FETCHED.value]
    assert d.predemande_fetched is False and d.predemande is None and d.predemande_number == "AB12CD34EF"
    items = {r.id: r for r in session.checklist}
    assert items["birth_certificate"].conditions == ("cond.birthplace_not_dematerialised",)
    assert items["nationality_proof"].conditions == ("cond.born_abroad",)
    assert items["host_attestation"].conditions == ("cond.hosted",)
    assert {"fiscal_stamp.cni", "fiscal_stamp.passport"} <= set(items)
    assert session.case.titles == frozenset({Title.CNI, Title.PASSPORT}) and session.case.motif is Motif.LOSS
    assert set(d.conditional) == {"birth_certificate", "nationality_proof", "host_attestation", "host_id"}
    assert all(a.source is AnswerSource.CITIZEN for a in d.answers)
    assert [(a.question, a.value) for a in d.answers][:4] == [
        ("titles", ["cni", "passport"]), ("motif", "loss"), ("age_band", "adult"), ("secure_document", "none")]


def test_offline_with_a_valid_secure_title_skips_the_birthplace_question(session):
    session.start()
    session.submit_number("AB12CD34EF")
    session.lookup_failed(DirectoryUnavailable())
    for q, v in [(Question.TITLES, "cni"), (Question.MOTIF, "loss"), (Question.AGE_BAND, "adult")]:
        session.answer(q, v)
        session.next_question()
    session.answer(Question.SECURE_DOCUMENT, "expired_under_5y")
    asked = session.needed_questions()
    assert Question.BIRTHPLACE_DEMATERIALISED not in asked and Question.BORN_ABROAD_PARENTS_ABROAD not in asked


def test_answering_no_title_is_refused(session):
    session.start()
    session.submit_number("AB12CD34EF")
    session.lookup_failed(DirectoryUnavailable())
    with pytest.raises(InvalidTransition):
        session.answer(Question.TITLES, [])


def test_a_question_nobody_asks_cannot_be_answered(session, walk, adult_loss):
    walk.to_confirm(adult_loss)
    session.confirm()
    with pytest.raises(InvalidTransition):
        session.answer(Question.HOSTED, True)  # the pré-demande says where she lives
    with pytest.raises(InvalidTransition):
        session.answer(Question.MOTIF, "renewal")  # and why she applies
    with pytest.raises(InvalidTransition):
        session.answer(Question.BIRTHPLACE_DEMATERIALISED, True)  # asked, but on the next page
    with pytest.raises(InvalidTransition):
        session.answer(Question.SECURE_DOCUMENT, "maybe")


@pytest.mark.parametrize("question", [Question.TITLES, Question.MOTIF, Question.AGE_BAND])
def test_what_and_why_and_for_whom_take_no_i_dont_know(session, question):
    session.start()
    session.submit_number("AB12CD34EF")
    session.lookup_failed(DirectoryUnavailable())
    with pytest.raises(InvalidTransition):
        session.answer(question, None)


def test_facts_the_pre_demande_gives_are_not_asked_and_are_recorded_as_its_answers(session, walk, adult_loss):
    walk.to_checklist(adult_loss, secure="none", birthplace=False)
    sources = {a.question: (a.value, a.source) for a in session.dossier.answers}
    assert sources["hosted"] == (False, AnswerSource.PREDEMANDE)
    assert sources["born_abroad_parents_abroad"] == (False, AnswerSource.PREDEMANDE)
    assert sources["secure_document"] == ("none", AnswerSource.CITIZEN)
    assert sources["birthplace_dematerialised"] == (False, AnswerSource.CITIZEN)
    assert {r.id for r in session.not_applicable} >= {"host_attestation", "host_id", "nationality_proof"}


def test_a_child_whose_form_says_nothing_of_hosting_is_asked_then_needs_no_host_document(
        session, walk, child_theft):
    from dataclasses import replace

    pd = replace(child_theft, hosted=None)
    walk.to_confirm(pd)
    session.confirm()
    assert session.audience == "child"
    asked = walk.answer_all(secure_document="valid", hosted=False, alternating_residence=False)
    assert asked == [Question.SECURE_DOCUMENT, Question.HOSTED, Question.ALTERNATING_RESIDENCE]
    ids = {r.id for r in session.checklist}
    assert not ids & {"host_attestation", "host_id", "custody_judgment"}
    assert {"host_attestation", "host_id", "custody_judgment"} <= {r.id for r in session.not_applicable}


def test_i_dont_know_keeps_a_document_conditional_and_it_may_be_not_held(session, walk, adult_loss):
    walk.to_checklist(adult_loss, secure="none", birthplace=None)
    session.begin_capture()
    while session.current_requirement.id != "birth_certificate":
        walk.photograph()
    req = session.current_requirement
    assert req.conditional and req.conditions == ("cond.birthplace_not_dematerialised",)
    session.document_not_held()
    (doc,) = [x for x in session.dossier.documents if x.requirement == "birth_certificate"]
    assert doc.status is DocumentStatus.NOT_HELD and doc.attachment is None
    assert session.dossier.conditional == ["birth_certificate"]


def test_a_required_document_cannot_be_declared_not_held(session, walk, adult_loss):
    walk.to_step(adult_loss, Step.CAPTURE)
    assert not session.current_requirement.conditional
    with pytest.raises(InvalidTransition):
        session.document_not_held()


def test_back_from_a_question_shows_the_previous_one_with_its_answer(session, walk, adult_loss):
    walk.to_confirm(adult_loss)
    session.confirm()
    session.answer(Question.SECURE_DOCUMENT, "none")
    session.next_question()
    assert session.current_question is Question.BIRTHPLACE_DEMATERIALISED
    session.back()
    assert (session.step, session.index) == (Step.QUESTIONS, 0)
    assert session.answers[Question.SECURE_DOCUMENT].value == "none"
    session.back()
    assert session.step is Step.CONFIRM


# ---------------------------------------------------------------------------
# Identify
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("error, key", [
    (PredemandeNotFound("ABX2CDX4EF"), "identify.error.unknown"),
    (PredemandeUnusable("consumed"), "identify.error.unusable"),
    (PredemandeUnusable("refused", status="consumed"), "identify.error.consumed"),  # the agency's words, each
    (PredemandeUnusable("refused", status="declared"), "identify.error.declared"),
    (PredemandeUnusable("refused", status="unknown"), "identify.error.agency_unknown"),
    (PredemandeUnusable("refused", status="expired"), "identify.error.expired"),
])
def test_a_failed_lookup_returns_to_identify_with_its_message(session, error, key):
    session.start()
    session.submit_number("ABX2CDX4EF")
    session.lookup_failed(error)
    assert session.step is Step.IDENTIFY
    assert (session.message.key, session.message.level) == (key, "error")
    assert session.predemande_number is None
    assert session.page_stack == []  # Back from here leaves the session, as on the first visit


def test_a_predemande_the_agency_validated_but_the_service_does_not_hold_is_asked_for(session):
    session.start()
    session.submit_number("ABX2CDX4EF")
    session.lookup_failed(PredemandeNotHeld("validated, not held"))
    assert session.step is Step.QUESTIONS and not session.fetched
    assert session.message.key == "identify.not_held"


def test_an_unknown_typed_number_with_look_alikes_says_which_ones_to_check(session):
    # "[A-Z0-9]" holds both O and 0: the kiosk cannot tell which was meant, the citizen can.
    session.start()
    session.submit_number("J9KOL1M2N3")
    session.lookup_failed(PredemandeNotFound("J9KOL1M2N3"))
    assert session.message.key == "identify.error.unknown_lookalike"


def test_an_unknown_scanned_number_is_not_a_typing_slip(session):
    session.start()
    session.qr_decoded("J9KOL1M2N3")
    session.lookup_failed(PredemandeNotFound("J9KOL1M2N3"))
    assert session.message.key == "identify.error.unknown"


def test_a_look_alike_the_format_cannot_hold_is_put_right_and_said(clock):
    # A format without the letters O and I (as some numbering schemes avoid them).
    from titres.predemande import NumberFormat

    fmt = NumberFormat.from_pattern("[A-HJ-NP-Z0-9]{10}")
    s = Session(SessionSettings(number_format=fmt), clock, wall_clock=lambda: TODAY)
    s.start()
    assert s.number_typed("J9KO") is Entry.PARTIAL
    assert (s.message.key, s.message.count, s.message.params) == (
        "identify.entry.partial.lookalike", 6, {"typed": "O", "instead": "0"})
    assert s.number_typed("j9kol1m2n3") is Entry.COMPLETE
    assert s.message.key == "identify.entry.complete.lookalike"
    assert s.submit_number("J9KOL1M2N3") == "J9K0L1M2N3"


def test_typing_gives_feedback_without_moving(session):
    session.start()
    assert session.number_typed("AB12") is Entry.PARTIAL
    assert (session.message.key, session.message.count) == ("identify.entry.partial", 6)
    assert session.number_typed("ab12cd34ef") is Entry.COMPLETE
    assert session.message.key == "identify.entry.complete"
    assert session.number_typed("AB12CD34EF0") is Entry.INVALID
    assert session.message.key == "identify.entry.invalid" and session.message.level == "error"
    assert session.number_typed("") is Entry.EMPTY and session.message is None
    assert session.step is Step.IDENTIFY


def test_an_invalid_number_is_refused_and_stays_on_identify(session):
    session.start()
    with pytest.raises(InvalidNumber):
        session.submit_number("AB12")
    assert session.step is Step.IDENTIFY
    assert (session.message.key, session.message.level) == ("identify.error.format", "error")


def test_a_qr_code_that_is_not_a_predemande_is_refused(session):
    session.start()
    for foreign in ("https://www.example.com/menu", "https://example.org/tickets/AZB2U0PO8A"):
        with pytest.raises(NotAPredemande):
            session.qr_decoded(foreign)
        assert session.step is Step.IDENTIFY
        assert session.message.key == "identify.error.not_predemande"
    assert session.qr_decoded("https://predemande-cni.ants.gouv.fr/recap?n=AB12CD34EF") == "AB12CD34EF"
    assert session.step is Step.LOOKING_UP and session.predemande_number == "AB12CD34EF"


def test_an_unreadable_code_suggests_what_to_do(session):
    session.start()
    session.scan_unreadable()
    assert session.step is Step.IDENTIFY and session.message.key == "identify.error.unreadable"


# ---------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------
def test_a_blurry_photo_is_retaken_then_a_sharp_one_kept(walk, adult_loss, document, blur):
    s = walk.to_step(adult_loss, Step.CAPTURE)
    sharp = document()
    blurred = assess(blur(sharp, 10))
    assert not blurred.acceptable

    assert s.document_captured(b"blurred jpeg", blurred) is False
    assert (s.step, s.index) == (Step.CAPTURE, 0)
    assert (s.message.key, s.message.level) == ("quality.blurry", "error")
    assert s.dossier.documents == [] and s.dossier.attachments == {}

    report = assess(sharp)
    assert s.document_captured(b"sharp jpeg", report) is True
    assert (s.step, s.index, s.reviewing) == (Step.CAPTURE, 0, True)
    s.document_kept()
    assert (s.step, s.index, s.reviewing) == (Step.CAPTURE, 1, False)
    (doc,) = s.dossier.documents
    assert (doc.requirement, doc.status, doc.attempts) == ("photo", DocumentStatus.CAPTURED, 2)
    assert doc.quality == report.as_dict()
    assert bytes(s.dossier.attachments[doc.attachment].data) == b"sharp jpeg"


def test_each_quality_problem_is_told(walk, adult_loss, document):
    s = walk.to_step(adult_loss, Step.CAPTURE)
    dark = assess((document() * 0.2).astype("uint8"))
    assert s.document_captured(b"x", dark) is False
    assert s.message.key == "quality.too_dark"


def test_a_document_shown_at_the_desk_flags_originals_only(walk, adult_loss):
    s = walk.to_step(adult_loss, Step.CAPTURE)
    s.document_at_desk()
    assert (s.step, s.index) == (Step.CAPTURE, 1)
    (doc,) = s.dossier.documents
    assert (doc.requirement, doc.status, doc.attachment) == ("photo", DocumentStatus.ORIGINAL_AT_DESK, None)
    assert s.dossier.flags == [Flag.ORIGINALS_ONLY.value]


def test_begin_capture_opens_the_first_document_of_the_checklist(walk, adult_loss):
    s = walk.to_step(adult_loss, Step.CHECKLIST)
    s.begin_capture()
    assert s.step is Step.CAPTURE and s.current_requirement.id == "photo"


# ---------------------------------------------------------------------------
# Stamps
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["", "123456789012345", "12345678901234567", "1234-5678-9012-345X", "ABCDEFGHIJKLMNOP"])
def test_a_stamp_number_of_the_wrong_format_is_refused(walk, adult_loss, typed):
    s = walk.to_step(adult_loss, Step.STAMP)
    assert s.stamp_entered(typed) is False
    assert s.step is Step.STAMP and s.message.key == "stamp.error.format"
    assert s.dossier.stamps == []


def test_a_stamp_number_may_be_typed_in_groups(walk, adult_loss):
    s = walk.to_step(adult_loss, Step.STAMP)
    assert s.stamp_entered("1234 5678 9012 3456") is True
    assert s.dossier.stamps[0].number == STAMP
    assert s.step is Step.FINGERPRINTS


def test_the_same_stamp_cannot_pay_for_both_titles(walk, make_pd):
    pd = make_pd(titles=(Title.CNI, Title.PASSPORT), motif=Motif.LOSS)
    s = walk.to_step(pd, Step.STAMP)
    assert [r.id for r in s.stamp_requirements] == ["fiscal_stamp.cni", "fiscal_stamp.passport"]
    assert s.stamp_entered(STAMP)
    assert s.current_requirement.id == "fiscal_stamp.passport"
    assert s.stamp_entered(STAMP) is False
    assert s.message.key == "stamp.error.duplicate" and s.index == 1
    assert s.stamp_entered("6543210987654321")
    assert [(x.requirement, x.amount_cents) for x in s.dossier.stamps] == [
        ("fiscal_stamp.cni", 2500), ("fiscal_stamp.passport", 8600)]


def test_a_paper_stamp_is_shown_at_the_desk_and_flagged(walk, adult_loss):
    s = walk.to_step(adult_loss, Step.STAMP)
    s.stamp_paper()
    (stamp,) = s.dossier.stamps
    assert (stamp.mode, stamp.number, stamp.amount_cents) == (StampMode.PAPER_AT_DESK, None, 2500)
    assert s.dossier.flags == [Flag.PAPER_STAMP.value]
    assert s.step is Step.FINGERPRINTS


def test_renewal_has_no_stamp_page(walk, make_pd):
    s = walk.to_step(make_pd(motif=Motif.RENEWAL), Step.CHECKLIST)
    s.begin_capture()
    walk.capture_all_documents()
    assert s.step is Step.FINGERPRINTS  # CNI renewal is free: straight from the photos to the fingers


# ---------------------------------------------------------------------------
# Fingerprints
# ---------------------------------------------------------------------------
def test_a_good_reading_is_kept_and_the_citizen_told_to_lift_the_finger(walk, adult_loss, finger):
    s = walk.to_step(adult_loss, Step.FINGERPRINTS)
    s.finger_read(finger(quality=77))
    (f,) = s.dossier.fingerprints
    assert (f.finger, f.status, f.attempts, f.quality) == ("left_index", FingerStatus.CAPTURED, 1, 77)
    assert bytes(s.dossier.attachments[f.attachment].data) == b"\x89PNG finger"
    assert bytes(s.dossier.attachments[f.template].data) == b"TPL"
    assert s.message.key == "finger.lift"
    assert s.current_finger == "right_index"


def test_three_poor_readings_keep_the_best_image_flagged_low_quality(walk, adult_loss, finger):
    s = walk.to_step(adult_loss, Step.FINGERPRINTS)
    s.finger_read(finger(ok=False, image=b"img20", quality=20, feedback="too_light"))
    assert s.message.key == "finger.feedback.too_light" and s.current_finger == "left_index"
    s.finger_read(finger(ok=False, image=b"img45", quality=45, feedback="too_wet"))
    assert s.message.key == "finger.feedback.too_wet"
    s.finger_read(finger(ok=False, image=b"img30", quality=30, feedback="moved"))
    (f,) = s.dossier.fingerprints
    assert (f.finger, f.status, f.attempts, f.quality) == ("left_index", FingerStatus.LOW_QUALITY, 3, 45)
    assert bytes(s.dossier.attachments[f.attachment].data) == b"img45"
    assert s.dossier.flags == [Flag.FINGER_LOW_QUALITY.value]
    assert s.message.key == "finger.flagged"
    assert s.current_finger == "right_index"


def test_three_readings_without_an_image_mark_the_finger_unavailable(walk, adult_loss, finger):
    s = walk.to_step(adult_loss, Step.FINGERPRINTS)
    for _ in range(3):
        s.finger_read(finger(ok=False, image=None, quality=None))
    assert s.message.key == "finger.flagged"
    (f,) = s.dossier.fingerprints
    assert (f.status, f.attachment, f.attempts) == (FingerStatus.UNAVAILABLE, None, 3)
    assert s.dossier.flags == [Flag.FINGER_UNAVAILABLE.value]


def test_a_reading_without_feedback_says_no_finger(walk, adult_loss, finger):
    s = walk.to_step(adult_loss, Step.FINGERPRINTS)
    s.finger_read(finger(ok=False, image=None, feedback=None))
    assert s.message.key == "finger.feedback.no_finger"


def test_a_finger_that_cannot_be_taken_is_left_to_the_agent(walk, adult_loss, finger):
    s = walk.to_step(adult_loss, Step.FINGERPRINTS)
    s.finger_unavailable()
    s.finger_read(finger())
    assert [(f.finger, f.status) for f in s.dossier.fingerprints] == [
        ("left_index", FingerStatus.UNAVAILABLE), ("right_index", FingerStatus.CAPTURED)]
    assert s.dossier.flags == [Flag.FINGER_UNAVAILABLE.value]
    assert s.step is Step.SIGNATURE


def test_a_failed_sensor_leaves_the_remaining_fingers_to_the_agent(walk, adult_loss, finger):
    s = walk.to_step(adult_loss, Step.FINGERPRINTS)
    s.finger_read(finger())
    s.sensor_failed(SensorUnavailable("gone"))
    assert [(f.finger, f.status) for f in s.dossier.fingerprints] == [
        ("left_index", FingerStatus.CAPTURED), ("right_index", FingerStatus.SENSOR_FAILED)]
    assert s.dossier.flags == [Flag.SENSOR_FAILED.value]
    # The page stays with what happened and a way on, so the citizen reads it; nothing more is read.
    assert (s.step, s.sensor_down, s.message.key) == (Step.FINGERPRINTS, True, "finger.error.sensor")
    with pytest.raises(InvalidTransition):
        s.finger_read(finger())
    s.continue_without_sensor()
    assert s.step is Step.SIGNATURE and s.message is None  # the signature page starts clean


def test_a_message_about_the_last_finger_does_not_follow_onto_the_signature(walk, adult_loss, finger):
    s = walk.to_step(adult_loss, Step.FINGERPRINTS)
    s.finger_read(finger())
    assert (s.index, s.message.key) == (1, "finger.lift")  # said on the next finger's page
    s.finger_read(finger())
    assert s.step is Step.SIGNATURE and s.message is None


def test_no_fingerprints_under_12_and_the_parent_signs(walk, child_theft):
    s = walk.to_step(child_theft, Step.CHECKLIST, secure="valid")
    assert s.case.age_band.value == "under_12"
    assert s.fingers == ()
    s.begin_capture()
    walk.capture_all_documents()
    walk.enter_all_stamps()
    assert s.step is Step.SIGNATURE
    assert s.dossier.fingerprints == []
    assert s.dossier.signer == "parent"


def test_a_14_year_old_gives_fingerprints_and_may_sign(walk, teen_theft):
    s = walk.to_step(teen_theft, Step.FINGERPRINTS)
    assert s.fingers == ("left_index", "right_index")
    assert s.dossier.signer == "applicant_or_parent"
    assert {"parent_id", "parent_presence"} <= {r.id for r in s.checklist}


# ---------------------------------------------------------------------------
# Signature, consent, submit, print
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("png, strokes", [(b"\x89PNG", 0), (b"", 3)])
def test_an_empty_signature_is_refused(walk, adult_loss, png, strokes):
    s = walk.to_step(adult_loss, Step.SIGNATURE)
    assert s.signature_done(png, strokes) is False
    assert s.step is Step.SIGNATURE and s.message.key == "signature.empty"
    assert s.dossier.signature is None


def test_submitting_needs_consent(walk, adult_loss):
    s = walk.to_summary(adult_loss)
    assert s.submit() is None
    assert s.step is Step.SUMMARY and s.message.key == "summary.consent_needed"
    assert s.dossier.consent_at is None
    s.set_consent(True)
    assert s.submit() is s.dossier
    assert s.step is Step.SUBMITTING


def test_consent_can_be_withdrawn_before_submitting(walk, adult_loss):
    s = walk.to_summary(adult_loss)
    s.set_consent(True)
    s.set_consent(False)
    assert s.submit() is None


def test_a_failed_submit_returns_to_the_summary_with_its_message(walk, adult_loss):
    s = walk.to_summary(adult_loss)
    s.set_consent(True)
    s.submit()
    s.submit_failed(QueueError("disk"))
    assert s.step is Step.SUMMARY
    assert (s.message.key, s.message.level) == ("summary.error.queue", "error")
    assert s.dossier.signature is not None  # nothing lost
    assert s.submit() is s.dossier  # consent still given: try again
    assert s.step is Step.SUBMITTING


def test_back_after_a_failed_submit_leads_to_the_signature(walk, adult_loss):
    s = walk.to_summary(adult_loss)
    s.set_consent(True)
    s.submit()
    s.submit_failed(QueueError())
    s.back()
    assert s.step is Step.SIGNATURE
    assert s.dossier.signature is None


def test_a_failed_print_can_be_retried_then_ends(walk, adult_loss):
    s = walk.to_summary(adult_loss)
    s.set_consent(True)
    s.submit()
    s.submitted("K01-0001A-3")
    s.print_failed(PaperOut())
    assert s.step is Step.RECEIPT_FAILED
    assert (s.message.key, s.message.level) == ("receipt.error.paper", "error")
    assert s.dossier_number == "K01-0001A-3"  # shown on screen to write down
    s.retry_print()
    assert s.step is Step.PRINTING and s.message.key == "receipt.printing"
    s.print_failed(PrinterNotFound())
    assert s.message.key == "receipt.error.printer"
    s.retry_print()
    s.printed()
    assert s.step is Step.END
    s.finish()
    assert s.step is Step.WELCOME and s.dossier_number is None


def test_the_language_chosen_is_recorded_at_submit(walk, adult_loss):
    s = walk.to_summary(adult_loss)
    s.set_language("en")
    s.set_consent(True)
    assert s.submit().language == "en"


# ---------------------------------------------------------------------------
# Inactivity, end screen, busy steps
# ---------------------------------------------------------------------------
def test_inactivity_warns_after_60_s_then_abandons_and_wipes_after_30_more(walk, clock, adult_loss, good):
    s = walk.to_step(adult_loss, Step.CAPTURE)
    s.document_captured(b"photo bytes", good)
    dossier = s.dossier
    held = dossier.attachments["documents/photo"].data
    assert bytes(held) == b"photo bytes"
    generation = s.generation

    clock.advance(59)
    s.tick()
    assert s.warning is False
    clock.advance(1)
    s.tick()
    assert s.warning is True and s.step is Step.CAPTURE
    assert s.seconds_before_abandon == 30
    clock.advance(29)
    s.tick()
    assert s.step is Step.CAPTURE and s.seconds_before_abandon == 1
    clock.advance(1)
    s.tick()

    assert s.step is Step.WELCOME
    assert s.message.key == "inactivity.abandoned"
    assert s.generation == generation + 1
    assert len(held) == 0 and not any(held)  # the photo's bytes are gone from memory
    assert dossier.attachments == {} and dossier.documents == [] and dossier.predemande is None
    assert s.dossier is None and s.predemande is None and s.case is None and s.checklist == ()


def test_a_touch_during_the_warning_keeps_the_session(walk, clock, adult_loss):
    s = walk.to_step(adult_loss, Step.CHECKLIST)
    clock.advance(70)
    s.tick()
    assert s.warning
    s.touch()
    assert not s.warning
    clock.advance(89)
    s.tick()
    assert s.step is Step.CHECKLIST


def test_any_event_counts_as_activity(walk, clock, adult_loss, good):
    s = walk.to_step(adult_loss, Step.CAPTURE)
    clock.advance(80)
    s.document_captured(b"x", good)
    clock.advance(80)
    s.tick()
    assert s.step is Step.CAPTURE and s.reviewing


def test_a_forgotten_receipt_failure_is_wiped_too(walk, clock, adult_loss):
    s = walk.to_summary(adult_loss)
    s.set_consent(True)
    s.submit()
    s.submitted("K01-0001A-3")
    s.print_failed(PaperOut())
    clock.advance(90)
    s.tick()
    assert s.step is Step.WELCOME and s.dossier_number is None
    # The dossier is saved: the next citizen must not read that something was erased.
    assert s.message is None


def test_the_end_screen_returns_to_welcome_after_its_delay(walk, clock, adult_loss):
    s = walk.to_summary(adult_loss)
    s.set_consent(True)
    s.submit()
    s.submitted("K01-0001A-3")
    s.printed()
    clock.advance(14.5)
    s.tick()
    assert s.step is Step.END
    clock.advance(0.5)
    s.tick()
    assert s.step is Step.WELCOME and s.message is None


def test_busy_steps_never_time_out(walk, clock, adult_loss):
    s = walk.to_identify()
    s.submit_number("AB12CD34EF")
    clock.advance(10_000)
    s.tick()
    assert s.step is Step.LOOKING_UP
    s.lookup_finished(adult_loss)
    s.confirm()
    walk.answer_all()
    s.begin_capture()
    walk.capture_all_documents()
    walk.enter_all_stamps()
    walk.read_all_fingers()
    s.signature_done(b"\x89PNG", 2)
    s.set_consent(True)
    s.submit()
    clock.advance(10_000)
    s.tick()
    assert s.step is Step.SUBMITTING
    s.submitted("K01-0001A-3")
    clock.advance(10_000)
    s.tick()
    assert s.step is Step.PRINTING


def test_welcome_never_times_out(session, clock):
    generation = session.generation
    clock.advance(10_000)
    session.tick()
    assert session.step is Step.WELCOME and session.generation == generation


# ---------------------------------------------------------------------------
# Cancel and back
# ---------------------------------------------------------------------------
def _reach(walk, pd, step: Step) -> Session:
    if step is Step.IDENTIFY:
        return walk.to_identify()
    if step is Step.CONFIRM:
        return walk.to_confirm(pd)
    if step is Step.QUESTIONS:
        s = walk.to_identify()
        s.submit_number(pd.number)
        s.lookup_failed(DirectoryUnavailable())
        return s
    return walk.to_step(pd, step)


@pytest.mark.parametrize("step", sorted(ACTIVE_STEPS))
def test_cancel_from_every_active_step_wipes_everything(walk, adult_loss, step):
    s = _reach(walk, adult_loss, step)
    assert s.step is step
    held = [a.data for a in s.dossier.attachments.values()] if s.dossier else []
    generation = s.generation
    s.cancel()
    assert s.step is Step.WELCOME and s.generation == generation + 1
    assert s.dossier is None and s.predemande is None and s.predemande_number is None and s.answers == {}
    assert all(len(h) == 0 for h in held)


def test_cancel_is_refused_while_the_kiosk_works(walk):
    s = walk.to_identify()
    s.submit_number("AB12CD34EF")
    with pytest.raises(InvalidTransition):
        s.cancel()
    assert s.step is Step.LOOKING_UP


def test_back_from_identify_leaves_the_session(walk):
    s = walk.to_identify()
    generation = s.generation
    s.back()
    assert s.step is Step.WELCOME and s.generation == generation + 1


def test_back_from_confirm_forgets_the_predemande(walk, adult_loss):
    s = walk.to_confirm(adult_loss)
    s.back()
    assert s.step is Step.IDENTIFY
    assert s.predemande is None and s.predemande_number is None and s.fetched is False


def test_back_from_questions_returns_to_identify(walk, adult_loss):
    s = _reach(walk, adult_loss, Step.QUESTIONS)
    s.answer(Question.TITLES, "cni")
    s.back()
    assert s.step is Step.IDENTIFY and s.answers == {}


def test_back_from_the_checklist_drops_the_dossier_but_keeps_the_answers(walk, adult_loss):
    s = walk.to_checklist(adult_loss)
    dossier = s.dossier
    s.back()
    assert (s.step, s.current_question) == (Step.QUESTIONS, Question.SECURE_DOCUMENT)
    assert s.dossier is None and s.case is None and s.checklist == ()
    assert s.answers == {Question.SECURE_DOCUMENT: SecureDocument.VALID}
    assert dossier.predemande is None  # the dropped dossier was wiped, not just forgotten
    s.next_question()
    assert s.step is Step.CHECKLIST and s.dossier is not dossier


def test_back_from_the_first_photo_returns_to_the_checklist(walk, adult_loss):
    s = walk.to_step(adult_loss, Step.CAPTURE)
    s.back()
    assert s.step is Step.CHECKLIST and s.dossier is not None


def test_back_from_a_photo_page_discards_the_previous_photo(walk, adult_loss, good):
    s = walk.to_step(adult_loss, Step.CAPTURE)
    walk.photograph(b"first")
    held = s.dossier.attachments["documents/photo"].data
    s.back()
    assert (s.step, s.index) == (Step.CAPTURE, 0)
    assert s.dossier.documents == [] and "documents/photo" not in s.dossier.attachments
    assert len(held) == 0
    s.document_captured(b"again", good)
    assert s.dossier.documents[0].attempts == 1


def test_back_while_a_photo_is_shown_takes_it_again(walk, adult_loss, good):
    s = walk.to_step(adult_loss, Step.CAPTURE)
    s.document_captured(b"first", good)
    s.back()
    assert (s.step, s.index, s.reviewing) == (Step.CAPTURE, 0, False)
    assert s.dossier.documents == [] and s.message is None
    s.document_captured(b"again", good)
    s.retake()
    assert s.dossier.documents == [] and not s.reviewing
    assert s.document_captured(b"third", good) and s.dossier.documents[0].attempts == 3


def test_a_photo_cannot_be_taken_or_left_at_the_desk_while_one_is_shown(walk, adult_loss, good):
    s = walk.to_step(adult_loss, Step.CAPTURE)
    s.document_captured(b"first", good)
    token = s.page_token
    for event in (lambda: s.document_captured(b"x", good), s.document_at_desk):
        with pytest.raises(InvalidTransition):
            event()
    s.document_kept()
    assert s.page_token != token  # a photo job started for the page under review is dropped
    with pytest.raises(InvalidTransition):
        s.document_kept()


def test_back_resets_the_retake_count_of_the_page(walk, adult_loss, good, blurry):
    s = walk.to_step(adult_loss, Step.CAPTURE)
    walk.photograph(b"first")
    s.document_captured(b"x", blurry)
    s.document_captured(b"x", blurry)
    assert s.attempts == 2
    s.back()
    s.document_captured(b"again", good)
    assert s.dossier.documents[0].attempts == 1


def test_back_over_a_document_shown_at_the_desk_drops_its_flag(walk, adult_loss, good):
    s = walk.to_step(adult_loss, Step.CAPTURE)
    s.document_at_desk()
    assert s.dossier.flags == ["originals_only"]
    s.back()
    assert s.dossier.documents == [] and s.dossier.flags == []
    s.document_captured(b"photo", good)
    assert s.dossier.flags == []


def test_back_from_the_stamp_discards_the_last_photo(walk, adult_loss):
    s = walk.to_step(adult_loss, Step.STAMP)
    s.back()
    assert (s.step, s.index) == (Step.CAPTURE, 3)
    assert [d.requirement for d in s.dossier.documents] == PHOTOS[:3]


def test_back_from_the_fingerprints_discards_the_stamp_and_its_flag(walk, adult_loss):
    s = walk.to_step(adult_loss, Step.STAMP)
    s.stamp_paper()
    s.back()
    assert s.step is Step.STAMP
    assert s.dossier.stamps == [] and s.dossier.flags == []


def test_back_from_the_second_finger_discards_the_first(walk, adult_loss, finger):
    s = walk.to_step(adult_loss, Step.FINGERPRINTS)
    s.finger_read(finger(ok=False, quality=10))
    s.finger_read(finger(ok=False, quality=10))
    s.finger_read(finger(ok=False, quality=10))
    assert s.current_finger == "right_index" and s.dossier.flags == ["finger_low_quality"]
    image = s.dossier.fingerprints[0].attachment
    s.back()
    assert s.current_finger == "left_index"
    assert s.dossier.fingerprints == [] and image not in s.dossier.attachments
    assert s.dossier.flags == []
    s.finger_read(finger(ok=False, quality=10))
    assert s.step is Step.FINGERPRINTS and s.current_finger == "left_index"  # a fresh count of attempts


def test_back_from_the_signature_discards_every_finger_a_sensor_failure_recorded(walk, adult_loss):
    s = walk.to_step(adult_loss, Step.FINGERPRINTS)
    s.sensor_failed(SensorUnavailable())
    assert len(s.dossier.fingerprints) == 2
    s.continue_without_sensor()
    s.back()
    assert (s.step, s.current_finger) == (Step.FINGERPRINTS, "left_index")
    assert s.dossier.fingerprints == [] and s.dossier.flags == []


def test_back_from_the_signature_discards_the_last_finger(walk, adult_loss):
    s = walk.to_step(adult_loss, Step.SIGNATURE)
    s.back()
    assert s.current_finger == "right_index"
    assert [f.finger for f in s.dossier.fingerprints] == ["left_index"]


def test_back_from_the_summary_discards_the_signature_and_consent(walk, adult_loss):
    s = walk.to_summary(adult_loss)
    held = s.dossier.attachments["signature.png"].data
    s.set_consent(True)
    s.back()
    assert s.step is Step.SIGNATURE
    assert s.dossier.signature is None and len(held) == 0
    assert s.consent is False


def test_back_keeps_the_flag_of_the_offline_lookup(walk, adult_loss):
    s = _reach(walk, adult_loss, Step.QUESTIONS)
    walk.answer_all(titles="cni", motif="renewal", age_band="adult", secure_document="valid")
    s.begin_capture()
    s.back()
    assert s.dossier.flags == ["predemande_not_fetched"]


@pytest.mark.parametrize("step", [Step.LOOKING_UP, Step.SUBMITTING, Step.PRINTING, Step.END, Step.WELCOME])
def test_there_is_no_way_back_from_busy_or_final_steps(walk, adult_loss, step):
    s = walk.s
    if step is not Step.WELCOME:
        if step is Step.LOOKING_UP:
            walk.to_identify()
            s.submit_number(adult_loss.number)
        else:
            walk.to_summary(adult_loss)
            s.set_consent(True)
            s.submit()
            if step is not Step.SUBMITTING:
                s.submitted("K01-0001A-3")
            if step is Step.END:
                s.printed()
    assert s.step is step
    assert not s.can_go_back()
    with pytest.raises(InvalidTransition):
        s.back()


# ---------------------------------------------------------------------------
# Events in the wrong step, out of service, language, listeners
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("event", [
    lambda s: s.submit_number("AB12CD34EF"),
    lambda s: s.qr_decoded("AB12CD34EF"),
    lambda s: s.lookup_finished(None),
    lambda s: s.lookup_failed(DirectoryUnavailable()),
    lambda s: s.answer(Question.MOTIF, "loss"),
    lambda s: s.confirm(),
    lambda s: s.begin_capture(),
    lambda s: s.document_at_desk(),
    lambda s: s.stamp_entered(STAMP),
    lambda s: s.stamp_paper(),
    lambda s: s.finger_unavailable(),
    lambda s: s.sensor_failed(SensorUnavailable()),
    lambda s: s.signature_done(b"png", 1),
    lambda s: s.set_consent(True),
    lambda s: s.submit(),
    lambda s: s.submitted("K01-0001A-3"),
    lambda s: s.submit_failed(QueueError()),
    lambda s: s.printed(),
    lambda s: s.print_failed(PaperOut()),
    lambda s: s.retry_print(),
    lambda s: s.finish(),
])
def test_an_event_in_the_wrong_step_is_refused(session, event):
    with pytest.raises(InvalidTransition):
        event(session)
    assert session.step is Step.WELCOME


def test_a_late_event_cannot_skip_a_step(walk, adult_loss, good, finger):
    s = walk.to_step(adult_loss, Step.CAPTURE)
    with pytest.raises(InvalidTransition):
        s.finger_read(finger())
    with pytest.raises(InvalidTransition):
        s.start()
    s.document_captured(b"x", good)
    assert (s.step, s.index, s.reviewing) == (Step.CAPTURE, 0, True)


def test_a_doubled_start_is_refused(walk):
    s = walk.to_identify()
    with pytest.raises(InvalidTransition):
        s.start()


def test_out_of_service_blocks_the_start(session):
    session.out_of_service = "summary.error.disk_full"
    session.start()
    assert session.step is Step.WELCOME
    assert (session.message.key, session.message.level) == ("summary.error.disk_full", "error")
    session.out_of_service = None
    session.start()
    assert session.step is Step.IDENTIFY and session.message is None


def test_set_language_and_back_to_the_default_after_the_session(walk, adult_loss):
    s = walk.to_identify()
    s.set_language("en")
    assert s.lang == "en"
    with pytest.raises(InvalidTransition):
        s.set_language("de")
    assert s.lang == "en"
    s.cancel()
    assert s.lang == "fr"


def test_the_language_can_be_chosen_on_the_welcome_screen(session):
    session.set_language("en")
    session.start()
    assert session.lang == "en"


def test_listeners_hear_every_change(session):
    heard = []
    session.subscribe(lambda s: heard.append(s.step))
    session.start()
    session.number_typed("AB")
    session.submit_number("AB12CD34EF")
    assert heard == [Step.IDENTIFY, Step.IDENTIFY, Step.LOOKING_UP]


def test_each_dossier_gets_a_fresh_uuid7(walk, adult_loss):
    s = walk.to_checklist(adult_loss)
    first = s.dossier.id
    s.cancel()
    walk.to_checklist(adult_loss)
    assert s.dossier.id != first
    assert s.dossier.id[14] == "7"  # the version nibble


def test_settings_from_the_site_region_change_the_stamp(clock, adult_loss):
    s = Session(SessionSettings(region=Region.GUYANE), clock, wall_clock=lambda: TODAY)
    s.start()
    s.submit_number(adult_loss.number)
    s.lookup_finished(adult_loss)
    s.confirm()
    s.answer(Question.SECURE_DOCUMENT, "valid")
    s.next_question()
    (stamp,) = s.stamp_requirements
    assert stamp.amount_cents == 1250


def test_the_steps_are_either_active_busy_or_neither():
    assert not ACTIVE_STEPS & BUSY_STEPS
    assert Step.WELCOME not in ACTIVE_STEPS | BUSY_STEPS
    assert Step.END not in ACTIVE_STEPS | BUSY_STEPS


def test_the_summary_counts_what_was_photographed_shown_typed_and_read(walk, adult_loss):
    s = walk.to_checklist(adult_loss, secure="none", birthplace=False)
    s.begin_capture()
    s.document_at_desk()
    walk.capture_all_documents()
    s.stamp_paper()
    s.finger_unavailable()
    walk.read_all_fingers()
    items = {i.key: i.outcome for i in outcomes.documents(s.checklist, s.not_applicable, s.dossier)}
    first = s.photo_requirements[0].id
    assert items.pop(first) is Outcome.AT_DESK
    assert items.pop("fiscal_stamp.cni") is Outcome.AT_DESK  # a paper stamp, shown at the desk
    assert {k: v for k, v in items.items() if v is not Outcome.NOT_APPLICABLE} == {
        r.id: Outcome.PHOTOGRAPHED for r in s.photo_requirements[1:]}
    assert [f.taken for f in outcomes.fingers(s.fingers, s.dossier)] == [False, True]


def test_the_summary_says_exactly_what_was_taken_and_what_is_left_for_the_desk(walk, adult_loss, finger):
    from titres.i18n import Translator
    from titres.wording import summary_lines

    s = walk.to_checklist(adult_loss, secure="valid")
    s.begin_capture()
    s.document_at_desk()  # the photo, shown at the desk only
    walk.capture_all_documents()
    walk.enter_all_stamps()
    for _ in range(3):  # three light presses: the best image is kept, the agent takes it again
        s.finger_read(finger(ok=False, feedback="too_light", quality=20))
    s.finger_read(finger())
    text = summary_lines(Translator("fr"), s)
    assert text[0] == "Pièces photographiées (3) : Justificatif de domicile, Votre passeport, Déclaration de perte"
    assert "À montrer seulement au guichet : Photo d'identité" in text
    assert "Empreinte à reprendre au guichet : index gauche" in text
    assert "Empreinte relevée : index droit" in text
    assert not any("relevée : index gauche" in line for line in text)


def test_fees_and_age_shown_to_the_citizen_come_from_the_session(walk, adult_loss, teen_theft):
    s = walk.to_checklist(adult_loss)
    assert s.stamp_fees_cents == 2500 and s.applicant_minor is False and s.applicant_age >= 18
    s.cancel()
    s = walk.to_checklist(teen_theft)
    assert s.applicant_minor is True and s.applicant_age == 14


def test_back_from_the_sensor_failure_page_forgets_what_the_failure_recorded(walk, adult_loss, finger):
    s = walk.to_step(adult_loss, Step.FINGERPRINTS)
    s.sensor_failed(SensorUnavailable("gone"))
    s.back()  # on the first finger: back to the stamp
    assert s.step is Step.STAMP
    assert s.dossier.fingerprints == [] and Flag.SENSOR_FAILED.value not in s.dossier.flags
    walk.enter_all_stamps()
    walk.read_all_fingers()
    assert [(f.finger, f.status) for f in s.dossier.fingerprints] == [
        ("left_index", FingerStatus.CAPTURED), ("right_index", FingerStatus.CAPTURED)]
    assert s.dossier.flags == []


def test_the_age_is_counted_on_the_mairies_date_not_the_utc_one(clock, make_pd):
    # 12 on 2026-11-23 in Nouméa (UTC+11) while it is still the 22nd in UTC: fingerprints are taken.
    from datetime import date, datetime, timedelta, timezone

    from titres.predemande import Motif

    pd = make_pd("NOUMEA0001", motif=Motif.RENEWAL, birth=date(2014, 11, 23))
    utc = datetime(2026, 11, 22, 20, 0, tzinfo=timezone.utc)
    for zone, age in ((timezone.utc, 11), (timezone(timedelta(hours=11)), 12)):
        s = Session(SessionSettings(zone=zone), clock, wall_clock=lambda: utc)
        s.start()
        s.submit_number(pd.number)
        s.lookup_finished(pd)
        assert s.applicant_age == age
