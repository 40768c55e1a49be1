"""The step counter: "Étape N sur M" counts the stages this citizen goes through, as far as known."""

from __future__ import annotations

from titres.errors import DirectoryUnavailable
from kiosk.core.journey import Stage, position, stages
from kiosk.core.session import Step


def test_no_counter_on_the_welcome_screen(session):
    assert position(session) is None


def test_an_adult_who_lost_a_card_goes_through_every_stage(walk, adult_loss):
    s = walk.to_checklist(adult_loss)
    assert stages(s) == tuple(Stage)
    assert position(s) == (3, 8)


def test_a_child_under_12_renewing_a_free_card_has_no_stamp_and_no_fingerprint_stage(walk, make_pd):
    from datetime import date

    from titres.predemande import Motif

    pd = make_pd("CH1LD00010", motif=Motif.RENEWAL, birth=date(2016, 1, 1))
    walk.to_confirm(pd)
    # The pré-demande already says who and what: the total is known before the questions.
    assert Stage.STAMP not in stages(walk.s) and Stage.FINGERPRINTS not in stages(walk.s)
    assert position(walk.s) == (2, 6)
    s = walk.s
    s.confirm()
    walk.answer_all()
    s.begin_capture()
    walk.capture_all_documents()
    assert s.step is Step.SIGNATURE and position(s) == (4, 6)


def test_offline_every_stage_counts_until_the_answers_say_otherwise(session, walk):
    walk.to_identify()
    session.submit_number("AB12CD34EF")
    session.lookup_failed(DirectoryUnavailable())
    assert position(session) == (2, 8)
    walk.answer_all(titles="cni", motif="renewal", age_band="under_12")
    assert position(session) == (3, 6)  # the total only ever shrinks
