"""Why a dossier goes back (central.reasons): what the agent may pick, and what the citizen is told."""

from __future__ import annotations

import pytest

from central import reasons


def test_a_notice_tells_the_chosen_reasons_in_the_citizens_language_and_the_note_as_typed():
    told = reasons.notice(["address", "photo"], "  Au nom d'un tiers.  ", reasons.DEFAULT_REASONS)
    assert [r.code for r in told.reasons] == ["address", "photo"]
    assert told.lines("en")[0].startswith("The proof of address") and told.lines("en")[-1] == "Au nom d'un tiers."
    assert told.summary().splitlines()[0].startswith("Le justificatif de domicile")
    assert reasons.Notice.from_dict(told.to_dict()) == told


@pytest.mark.parametrize("chosen, note, message", [([], "  ", "Indiquez le motif"), (["nope"], "", "n'existe plus"),
                                                    ([], "x" * 2001, "2000")])
def test_a_return_without_a_reason_or_with_an_unknown_one_is_refused(chosen, note, message):
    with pytest.raises(reasons.ReasonsError, match=message):
        reasons.notice(chosen, note, reasons.DEFAULT_REASONS)


@pytest.mark.parametrize("stored", [{"reasons": [{"x": 1}], "note": "Photo floue"}, {"reasons": "photo",
                                                                                       "note": "Photo floue"}])
def test_a_damaged_stored_notice_tells_what_it_can_read_and_never_the_defaults(stored):
    told = reasons.Notice.from_dict(stored)
    assert told.reasons == () and told.lines("fr") == ["Photo floue"]


def test_a_mairie_without_a_readable_list_offers_the_defaults():
    assert reasons.parse(None) == reasons.parse([{"x": 1}]) == list(reasons.DEFAULT_REASONS)


def test_one_line_leaves_no_control_character_nor_run_of_spaces():
    assert reasons.one_line("Photo\tfloue\x00 \n  à refaire") == "Photo floue à refaire"
