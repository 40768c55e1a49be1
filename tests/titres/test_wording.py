"""A document reads the same wherever it is listed: on the receipt, read aloud, in the summary."""

from __future__ import annotations

from titres.i18n import Translator
from titres.predemande import Motif, Title
from titres.rules import AgeBand, Capture, Case, Region, SecureDocument, checklist
from titres.wording import checklist_line, fees_line, presence_line

FR, EN = Translator("fr"), Translator("en")


def _items(**kw):
    case = Case(titles=frozenset({Title.CNI}), motif=Motif.FIRST, region=Region.METROPOLE,
                **{"age_band": AgeBand.ADULT, "secure_document": SecureDocument.VALID, **kw})
    return {r.id: r for r in checklist(case)}


def test_a_conditional_document_is_one_line_with_its_condition_in_lower_case_brackets():
    host = _items(hosted=None)["host_attestation"]
    assert checklist_line(FR, host) == "Attestation de l'hébergeant (seulement si : vous habitez chez une autre personne)"
    assert checklist_line(EN, host) == "Host's statement (only if: you live in someone else's home)"


def test_a_document_that_applies_is_its_title_alone():
    host = _items(hosted=True)["host_attestation"]
    assert checklist_line(FR, host) == "Attestation de l'hébergeant"


def test_who_comes_to_the_desk_is_a_sentence():
    presence = _items(age_band=AgeBand.UNDER_12)["parent_presence"]
    assert presence.capture is Capture.PRESENCE
    assert presence_line(FR, presence) == "Votre enfant vient avec vous au guichet."


def test_the_fees_are_one_line_and_nothing_when_nothing_is_paid():
    assert fees_line(FR, 8600).replace("\u00a0", " ").replace("\u202f", " ") == "Total des timbres : 86 €"
    assert fees_line(EN, 2500) == "Total stamps: €25"
    assert fees_line(FR, 0) == ""
