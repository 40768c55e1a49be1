"""The checklist of supporting documents, situation by situation, against the seed documents.

Seed 002 is a town's page for a minor's ID card after theft, seed 003 the
official sheet for an adult's ID card after loss. Each lists one block of
documents per situation: in France (general case), in Guyane (reduced
stamp), abroad (fee paid at the consulate), times four passport situations
(valid, expired under 5 years, expired over 5 years, none). The tables below
hold one case per block, with the block quoted; a further test parses the
seed files themselves and checks the tables against their blocks, in order.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import pytest

from titres import rules
from titres.messages import MESSAGES
from titres.predemande import Motif, Title
from titres.rules import (
    AgeBand, Capture, Case, Region, Requirement, SecureDocument, Signer, checklist, fingerprints_required,
    passport_fee_cents, signer, total_fees_cents,
)


def normalise_ws(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


CNI = frozenset({Title.CNI})
PASSPORT = frozenset({Title.PASSPORT})
BOTH = frozenset({Title.CNI, Title.PASSPORT})

VALID, UNDER_5Y, OVER_5Y, NO_PASSPORT = (
    SecureDocument.VALID, SecureDocument.EXPIRED_UNDER_5Y, SecureDocument.EXPIRED_OVER_5Y, SecureDocument.NONE,
)
METROPOLE, GUYANE, ABROAD = Region.METROPOLE, Region.GUYANE, Region.ABROAD


def ids(items: tuple[Requirement, ...]) -> set[str]:
    return {r.id for r in items}


def by_id(items: tuple[Requirement, ...]) -> dict[str, Requirement]:
    out = {r.id: r for r in items}
    assert len(out) == len(items), "a requirement id appears twice"
    return out


def case(titles=CNI, motif=Motif.LOSS, band=AgeBand.ADULT, secure=VALID, region=METROPOLE, **kw) -> Case:
    return Case(titles=titles, motif=motif, age_band=band, secure_document=secure, region=region, **kw)


# ---------------------------------------------------------------------------
# The seed tables
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SeedSituation:
    seed: str  # the seed file's id
    name: str
    case: Case
    expected: frozenset[str]  # requirement ids
    stamp: tuple[str, Capture, int]  # (id, how, amount in cents)

    def __str__(self) -> str:
        return f"{self.seed}-{self.name}"


MINOR = AgeBand.THIRTEEN_FOURTEEN
STAMP_25 = ("fiscal_stamp.cni", Capture.STAMP, 2500)
STAMP_GUYANE = ("fiscal_stamp.cni", Capture.STAMP, 1250)
CONSULATE_25 = ("fee.cni", Capture.PRESENCE, 2500)

# Every minor's block, besides the situation's own items. The child and the
# parent come together (seed 002: "Le mineur et son responsable doivent se
# présenter ensemble au guichet."), which the kiosk lists as parent_presence.
MINOR_THEFT = {"photo", "parent_id", "proof_of_address", "theft_declaration", "parent_presence"}
ADULT_LOSS_FRANCE = {"photo", "proof_of_address", "loss_declaration"}
ADULT_LOSS_ABROAD = {"photo", "proof_of_address"}  # seed 003 abroad: no loss declaration listed
WITH_PASSPORT = {"secure_id"}
WITHOUT_PASSPORT = {"birth_certificate", "nationality_proof"}


def minor_theft(name, secure, region, stamp) -> SeedSituation:
    extra = WITH_PASSPORT if secure.proves_identity else WITHOUT_PASSPORT
    return SeedSituation(
        "002", name, case(motif=Motif.THEFT, band=MINOR, secure=secure, region=region),
        frozenset(MINOR_THEFT | extra | {stamp[0]}), stamp,
    )


def adult_loss(name, secure, region, stamp) -> SeedSituation:
    base = ADULT_LOSS_ABROAD if region is ABROAD else ADULT_LOSS_FRANCE
    extra = WITH_PASSPORT if secure.proves_identity else WITHOUT_PASSPORT
    return SeedSituation(
        "003", name, case(motif=Motif.LOSS, secure=secure, region=region),
        frozenset(base | extra | {stamp[0]}), stamp,
    )


# Seed 002_65dcfb12207fa009.txt, "Carte d'identité d'un mineur : en cas de vol".
# The blocks are in the order of the page's headings: "Cas général", "En
# Guyane", then "À l'étranger", each as "L'enfant a un passeport valide",
# "L'enfant a un passeport périmé / Date d'expiration : moins de 5 ans",
# "Date d'expiration : + de 5 ans", "L'enfant n'a pas de passeport".
SEED_002 = [
    # Cas général, passeport valide:
    #   Passeport / Photo d'identité de moins de 6 mois et conforme aux normes (particuliers) /
    #   Pièce d'identité du parent qui dépose la demande / Justificatif de domicile (particuliers) /
    #   Déclaration de vol / Timbre fiscal (particuliers) : 25 € (achat en ligne (particuliers))
    minor_theft("france-valid-passport", VALID, METROPOLE, STAMP_25),
    # Cas général, passeport périmé depuis moins de 5 ans: the same block as a valid passport
    #   Passeport / Photo d'identité … / Pièce d'identité du parent … / Justificatif de domicile … /
    #   Déclaration de vol / Timbre fiscal (particuliers) : 25 € (achat en ligne (particuliers))
    minor_theft("france-passport-expired-under-5y", UNDER_5Y, METROPOLE, STAMP_25),
    # Cas général, passeport périmé depuis plus de 5 ans: no "Passeport" line, and
    #   Vérifiez si l'état civil du lieu de naissance est dématérialisé. Si ce n'est pas le cas,
    #   il faut fournir un acte de naissance (copie intégrale ou extrait avec filiation) (particuliers)
    #   de moins de 3 mois. /
    #   Justificatif de nationalité française (particuliers) si vous vous trouvez dans une situation
    #   particulière (naissance à l'étranger de parents nés à l'étranger par exemple) /
    #   Déclaration de vol / Timbre fiscal (particuliers) : 25 € (achat en ligne (particuliers))
    minor_theft("france-passport-expired-over-5y", OVER_5Y, METROPOLE, STAMP_25),
    # Cas général, pas de passeport: the same block as a passport expired over 5 years
    #   Photo … / Pièce d'identité du parent … / Justificatif de domicile … / Vérifiez si l'état civil … /
    #   Justificatif de nationalité française … / Déclaration de vol / Timbre fiscal (particuliers) : 25 € …
    minor_theft("france-no-passport", NO_PASSPORT, METROPOLE, STAMP_25),
    # En Guyane, passeport valide:
    #   Passeport / Photo … / Pièce d'identité du parent … / Justificatif de domicile … / Déclaration de vol /
    #   Timbre fiscal (particuliers) : 12,50 € (achat en ligne (particuliers))
    minor_theft("guyane-valid-passport", VALID, GUYANE, STAMP_GUYANE),
    # En Guyane, passeport périmé depuis moins de 5 ans:
    #   Passeport / … / Timbre fiscal (particuliers) : 12,50 € (achat en ligne (particuliers))
    minor_theft("guyane-passport-expired-under-5y", UNDER_5Y, GUYANE, STAMP_GUYANE),
    # En Guyane, passeport périmé depuis plus de 5 ans:
    #   Photo … / Pièce d'identité du parent … / Justificatif de domicile … / Vérifiez si l'état civil … /
    #   Justificatif de nationalité française … / Déclaration de vol /
    #   Timbre fiscal (particuliers) : 12,50 € (achat en ligne (particuliers))
    minor_theft("guyane-passport-expired-over-5y", OVER_5Y, GUYANE, STAMP_GUYANE),
    # En Guyane, pas de passeport: as above, "Timbre fiscal (particuliers) : 12,50 € …"
    minor_theft("guyane-no-passport", NO_PASSPORT, GUYANE, STAMP_GUYANE),
    # À l'étranger, passeport valide:
    #   Passeport / Photo … / Pièce d'identité du parent … / Justificatif de domicile … / Déclaration de vol /
    #   25 € en espèce, mandat, chèque ou carte bancaire (selon les consulats)
    minor_theft("abroad-valid-passport", VALID, ABROAD, CONSULATE_25),
    # À l'étranger, passeport périmé depuis moins de 5 ans:
    #   Passeport / … / Déclaration de vol / 25 € en espèce, mandat, chèque ou carte bancaire (selon les consulats)
    minor_theft("abroad-passport-expired-under-5y", UNDER_5Y, ABROAD, CONSULATE_25),
    # À l'étranger, passeport périmé depuis plus de 5 ans:
    #   Photo … / Pièce d'identité du parent … / Justificatif de domicile … / Vérifiez si l'état civil … /
    #   Justificatif de nationalité française … / Déclaration de vol /
    #   25 € en espèce, mandat, chèque ou carte bancaire (selon les consulats)
    minor_theft("abroad-passport-expired-over-5y", OVER_5Y, ABROAD, CONSULATE_25),
    # À l'étranger, pas de passeport: as above, "25 € en espèce, mandat, chèque ou carte bancaire …"
    minor_theft("abroad-no-passport", NO_PASSPORT, ABROAD, CONSULATE_25),
]

# Seed 003_4d9f1b684ba4e417.txt, "Carte d'identité d'un majeur : en cas de perte".
# In France the sheet has eight blocks: four at 25 € then the same four at
# 12,50 € ("Code général des impôts : article 1043 A - Montant en Guyane");
# abroad, four blocks paid at the consulate.
SEED_003 = [
    # En France, passeport valide:
    #   - Votre passeport / - Photo d'identité de moins de 6 mois et conforme aux normes /
    #   - Justificatif de domicile /
    #   - Déclaration de perte : à remplir sur place ou en utilisant le formulaire cerfa n°14011*02 /
    #   - Timbre fiscal : 25 € (achat en ligne)
    adult_loss("france-valid-passport", VALID, METROPOLE, STAMP_25),
    # En France, passeport périmé depuis moins de 5 ans: the same block
    #   - Votre passeport / - Photo … / - Justificatif de domicile / - Déclaration de perte … /
    #   - Timbre fiscal : 25 € (achat en ligne)
    adult_loss("france-passport-expired-under-5y", UNDER_5Y, METROPOLE, STAMP_25),
    # En France, passeport périmé depuis plus de 5 ans:
    #   - Photo … / - Justificatif de domicile / - Déclaration de perte … / - Timbre fiscal : 25 € (achat en ligne) /
    #   - Vérifiez si l'état civil du lieu de naissance est dématérialisé . Si ce n'est pas le cas, il faut
    #     fournir un acte de naissance (copie intégrale ou extrait avec filiation) de moins de 3 mois. /
    #   - Justificatif de nationalité française si vous vous trouvez dans une situation particulière
    #     (naissance à l'étranger de parents nés à l'étranger par exemple)
    adult_loss("france-passport-expired-over-5y", OVER_5Y, METROPOLE, STAMP_25),
    # En France, pas de passeport: the same block as a passport expired over 5 years
    adult_loss("france-no-passport", NO_PASSPORT, METROPOLE, STAMP_25),
    # En Guyane, passeport valide:
    #   - Votre passeport / - Photo … / - Justificatif de domicile / - Déclaration de perte … /
    #   - Timbre fiscal : 12,50 € (achat en ligne)
    adult_loss("guyane-valid-passport", VALID, GUYANE, STAMP_GUYANE),
    # En Guyane, passeport périmé depuis moins de 5 ans: the same block, "- Timbre fiscal : 12,50 € (achat en ligne)"
    adult_loss("guyane-passport-expired-under-5y", UNDER_5Y, GUYANE, STAMP_GUYANE),
    # En Guyane, passeport périmé depuis plus de 5 ans:
    #   - Photo … / - Justificatif de domicile / - Déclaration de perte … / - Timbre fiscal : 12,50 € (achat en ligne) /
    #   - Vérifiez si l'état civil … / - Justificatif de nationalité française …
    adult_loss("guyane-passport-expired-over-5y", OVER_5Y, GUYANE, STAMP_GUYANE),
    # En Guyane, pas de passeport: as above
    adult_loss("guyane-no-passport", NO_PASSPORT, GUYANE, STAMP_GUYANE),
    # À l'étranger, passeport valide (no loss declaration in the consulate's list):
    #   - Votre passeport / - Photo … / - Justificatif de domicile /
    #   - 25 € en espèce, mandat, chèque ou carte bancaire (selon les consulats)
    adult_loss("abroad-valid-passport", VALID, ABROAD, CONSULATE_25),
    # À l'étranger, passeport périmé depuis moins de 5 ans: the same block
    adult_loss("abroad-passport-expired-under-5y", UNDER_5Y, ABROAD, CONSULATE_25),
    # À l'étranger, passeport périmé depuis plus de 5 ans:
    #   - Photo … / - Justificatif de domicile / - 25 € en espèce, mandat, chèque ou carte bancaire (selon les consulats) /
    #   - Vérifiez si l'état civil … / - Justificatif de nationalité française …
    adult_loss("abroad-passport-expired-over-5y", OVER_5Y, ABROAD, CONSULATE_25),
    # À l'étranger, pas de passeport: as above
    adult_loss("abroad-no-passport", NO_PASSPORT, ABROAD, CONSULATE_25),
]

SEED_SITUATIONS = SEED_002 + SEED_003


@pytest.mark.parametrize("situation", SEED_SITUATIONS, ids=str)
def test_seed_situation_needs_exactly_the_documents_of_its_block(situation: SeedSituation):
    assert ids(checklist(situation.case)) == situation.expected


@pytest.mark.parametrize("situation", SEED_SITUATIONS, ids=str)
def test_seed_situation_charges_the_stamp_of_its_block(situation: SeedSituation):
    items = by_id(checklist(situation.case))
    stamp_id, capture, amount = situation.stamp
    assert items[stamp_id].capture is capture
    assert items[stamp_id].amount_cents == amount
    assert total_fees_cents(checklist(situation.case)) == amount


@pytest.mark.parametrize("situation", SEED_SITUATIONS, ids=str)
def test_seed_situation_keeps_civil_status_items_conditional_when_the_case_does_not_say(situation):
    # "Vérifiez si l'état civil du lieu de naissance est dématérialisé. Si ce n'est pas le cas, …" and
    # "… si vous vous trouvez dans une situation particulière": the citizen checks, the kiosk says "only if".
    items = by_id(checklist(situation.case))
    if situation.case.secure_document.proves_identity:
        assert "birth_certificate" not in items and "nationality_proof" not in items
    else:
        # A minor's conditions are worded for the parent ("… de votre enfant"): the same condition.
        def base(req):
            return tuple(k.removesuffix(".child") for k in req.conditions)

        assert base(items["birth_certificate"]) == ("cond.birthplace_not_dematerialised",)
        assert base(items["nationality_proof"]) == ("cond.born_abroad",)


# -- the tables against the seed files themselves ------------------------------------
def _seed_item(line: str) -> tuple[str, int | None] | None:
    """What one line of a seed block asks for, as (requirement id, amount) — None for the pré-demande hint."""
    amount = None
    m = re.search(r"(\d+(?:,\d+)?) €", line)
    if m:
        amount = round(float(m[1].replace(",", ".")) * 100)
    table = [
        ("Passeport", "secure_id"), ("Votre passeport", "secure_id"), ("Photo d'identité", "photo"),
        ("Pièce d'identité du parent", "parent_id"), ("Justificatif de domicile", "proof_of_address"),
        ("Vérifiez si l'état civil", "birth_certificate"), ("Justificatif de nationalité", "nationality_proof"),
        ("Déclaration de vol", "theft_declaration"), ("Déclaration de perte", "loss_declaration"),
        ("Timbre fiscal", "fiscal_stamp.cni"), ("25 € en espèce", "fee.cni"),
    ]
    if line.startswith("Si vous avez fait une pré-demande"):
        return None  # the kiosk's own identification step, not a document
    for prefix, req in table:
        if line.startswith(prefix):
            return req, amount
    raise AssertionError(f"seed line not understood: {line!r}")


def _blocks_002(text: str) -> list[list[str]]:
    lines = text.splitlines()
    start = next(i for i, s in enumerate(lines) if s.startswith("- Pré-demande pour un renouvellement")) + 1
    end = next(i for i, s in enumerate(lines) if s.startswith("- Suivre votre demande"))
    blocks, current = [], []
    for line in lines[start:end]:
        if line.startswith("- "):
            continue  # links between the blocks
        current.append(line)
        if line.startswith(("Si vous avez fait une pré-demande", "25 € en espèce")):
            blocks.append(current)
            current = []
    return blocks


def _blocks_003(text: str) -> list[list[str]]:
    lines = text.splitlines()
    blocks = []
    for start in [i for i, s in enumerate(lines) if s == "Il faut présenter les documents originaux."]:
        end = next(i for i in range(start, len(lines)) if lines[i] == "À savoir")
        current: list[str] = []
        for line in lines[start + 1:end] + ["-"]:
            if line.strip() == "-":
                if current:
                    blocks.append(current)
                current = []
            elif line.startswith("- "):
                current.append(line[2:].strip())
    return blocks


@pytest.mark.parametrize("seed, table, split", [("002", SEED_002, _blocks_002), ("003", SEED_003, _blocks_003)])
def test_the_tables_match_the_blocks_of_the_seed_files_in_order(seed_text, seed, table, split):
    blocks = split(seed_text(seed))
    assert len(blocks) == len(table) == 12
    for situation, block in zip(table, blocks):
        items = [x for x in map(_seed_item, block) if x is not None]
        from_seed = {req for req, _ in items}
        # The blocks list documents; the child's presence with a parent is stated once above them.
        assert from_seed == situation.expected - {"parent_presence"}, situation.name
        (amount,) = [a for req, a in items if req == situation.stamp[0]]
        assert amount == situation.stamp[2], situation.name


def test_seed_002_says_the_child_and_parent_come_together(seed_text):
    assert "Le mineur et son responsable doivent se présenter ensemble au guichet." in seed_text("002")


# ---------------------------------------------------------------------------
# Motifs other than loss and theft
# ---------------------------------------------------------------------------
def test_renewal_of_adult_card_asks_for_the_old_card_and_is_free():
    # Seed 000: "Carte Nationale d'identité : Gratuit" / "Gratuit si renouvellement, modification d'état civil ou d'adresse"
    items = checklist(case(motif=Motif.RENEWAL, secure=VALID))
    assert ids(items) == {"photo", "proof_of_address", "previous_title"}
    assert by_id(items)["previous_title"].source.doc == "000"
    assert total_fees_cents(items) == 0


@pytest.mark.parametrize("motif", [Motif.CHANGE_OF_ADDRESS, Motif.CHANGE_OF_CIVIL_STATUS])
def test_early_renewal_for_a_change_is_free_and_asks_for_the_old_card(motif):
    items = checklist(case(motif=motif, secure=UNDER_5Y))
    assert ids(items) == {"photo", "proof_of_address", "previous_title"}
    assert not [r for r in items if r.amount_cents]


def test_renewal_of_a_card_expired_over_5_years_asks_for_civil_status_proofs():
    items = by_id(checklist(case(motif=Motif.RENEWAL, secure=OVER_5Y, birthplace_dematerialised=False,
                                 born_abroad_parents_abroad=False)))
    assert set(items) == {"photo", "proof_of_address", "previous_title", "birth_certificate"}
    assert items["birth_certificate"].conditions == ()


def test_first_request_without_secure_title_lists_civil_status_proofs_as_conditional():
    items = by_id(checklist(case(motif=Motif.FIRST, secure=NO_PASSPORT)))
    assert set(items) == {"photo", "proof_of_address", "birth_certificate", "nationality_proof"}
    assert all(items[k].conditional for k in ("birth_certificate", "nationality_proof"))
    assert total_fees_cents(tuple(items.values())) == 0


def test_first_card_with_a_valid_passport_shows_the_passport_instead_of_a_birth_certificate():
    items = by_id(checklist(case(motif=Motif.FIRST, secure=VALID, birthplace_dematerialised=False)))
    assert set(items) == {"photo", "proof_of_address", "secure_id"}
    assert items["secure_id"].label_key == "doc.passport_held"


def test_theft_of_minor_card_with_valid_passport_needs_passport_and_no_birth_certificate():
    # Seed 002, "Cas général / L'enfant a un passeport valide": "Passeport" heads the block, no birth certificate.
    items = by_id(checklist(case(motif=Motif.THEFT, band=AgeBand.UNDER_12, secure=VALID,
                                 birthplace_dematerialised=False)))
    assert "secure_id" in items and "birth_certificate" not in items
    assert items["theft_declaration"].source.doc == "002"


def test_adult_card_stolen_abroad_still_needs_the_theft_declaration():
    # Seed 002, "À l'étranger": "L'ambassade ou le consulat vous remet alors un exemplaire de la déclaration de vol."
    assert "theft_declaration" in ids(checklist(case(motif=Motif.THEFT, region=ABROAD)))


def test_the_proof_of_address_carries_the_sites_maximum_age():
    (addr,) = [r for r in checklist(case(), proof_of_address_max_months=3) if r.id == "proof_of_address"]
    assert dict(addr.params) == {"months": 3}
    (addr,) = [r for r in checklist(case()) if r.id == "proof_of_address"]
    assert dict(addr.params) == {"months": 12}  # REFERENCE: "proof of address under 1 year"


# ---------------------------------------------------------------------------
# Passport fees, both titles
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("band, cents", [
    (AgeBand.ADULT, 8600),  # seed 000 "Passeport 86 € : en timbre fiscaux"; REFERENCE "86 € adult"
    (AgeBand.FIFTEEN_SEVENTEEN, 4200),  # REFERENCE "42 € age 15 to 17"
    (AgeBand.THIRTEEN_FOURTEEN, 1700),  # REFERENCE "17 € under 15"
    (AgeBand.TWELVE, 1700),
    (AgeBand.UNDER_12, 1700),
])
def test_passport_stamp_depends_on_the_age_band(band, cents):
    items = by_id(checklist(case(titles=PASSPORT, motif=Motif.RENEWAL, band=band)))
    stamp = items["fiscal_stamp.passport"]
    assert stamp.capture is Capture.STAMP and stamp.amount_cents == cents
    assert stamp.source.doc == ("000" if band is AgeBand.ADULT else "REFERENCE")
    assert "fiscal_stamp.cni" not in items


@pytest.mark.parametrize("age, cents", [(0, 1700), (14, 1700), (15, 4200), (17, 4200), (18, 8600), (70, 8600)])
def test_passport_fee_by_exact_age(age, cents):
    assert passport_fee_cents(AgeBand.of(age)) == cents


def test_a_lost_passport_costs_the_passport_stamp_only():
    items = by_id(checklist(case(titles=PASSPORT, motif=Motif.LOSS)))
    assert items["fiscal_stamp.passport"].amount_cents == 8600
    assert "fiscal_stamp.cni" not in items
    assert items["secure_id"].label_key == "doc.cni_held"  # the other title: not the passport lost


def test_both_titles_after_loss_need_the_union_of_documents_and_both_stamps():
    both = checklist(case(titles=BOTH, motif=Motif.LOSS, secure=OVER_5Y))
    cni = checklist(case(titles=CNI, motif=Motif.LOSS, secure=OVER_5Y))
    passport = checklist(case(titles=PASSPORT, motif=Motif.LOSS, secure=OVER_5Y))
    assert ids(both) == ids(cni) | ids(passport)
    items = by_id(both)
    assert items["fiscal_stamp.cni"].amount_cents == 2500
    assert items["fiscal_stamp.passport"].amount_cents == 8600
    assert total_fees_cents(both) == 11100


def test_both_titles_on_renewal_pay_the_passport_only():
    items = checklist(case(titles=BOTH, motif=Motif.RENEWAL, band=AgeBand.FIFTEEN_SEVENTEEN))
    assert [r.id for r in items if r.amount_cents] == ["fiscal_stamp.passport"]
    assert total_fees_cents(items) == 4200


# ---------------------------------------------------------------------------
# Hosted, conditional civil-status items
# ---------------------------------------------------------------------------
def test_hosted_person_needs_the_hosts_attestation_and_identity():
    # Seed 000: "Personnes hébergées joindre en plus l'attestation de l'hébergeant + original de sa pièce d'identité"
    items = by_id(checklist(case(hosted=True)))
    assert items["host_attestation"].conditions == ()
    assert items["host_id"].conditions == ()
    assert items["host_attestation"].source.doc == items["host_id"].source.doc == "000"


def test_hosted_unknown_lists_the_host_documents_with_their_condition():
    items = by_id(checklist(case(hosted=None)))
    assert items["host_attestation"].conditions == ("cond.hosted",)
    assert items["host_id"].conditions == ("cond.hosted",)


def test_not_hosted_needs_no_host_documents():
    assert not ids(checklist(case(hosted=False))) & {"host_attestation", "host_id"}


@pytest.mark.parametrize("dematerialised, expect", [
    (None, "cond.birthplace_not_dematerialised"),  # unknown: listed with its condition
    (False, None),  # registry on paper: required, no condition
    (True, "absent"),  # COMEDEC answers for the registry: not asked
])
def test_birth_certificate_depends_on_the_birthplace_registry(dematerialised, expect):
    items = by_id(checklist(case(secure=NO_PASSPORT, birthplace_dematerialised=dematerialised)))
    if expect == "absent":
        assert "birth_certificate" not in items
    else:
        assert items["birth_certificate"].conditions == ((expect,) if expect else ())


@pytest.mark.parametrize("abroad, expect", [(None, "cond.born_abroad"), (True, None), (False, "absent")])
def test_nationality_proof_depends_on_birth_abroad_of_parents_born_abroad(abroad, expect):
    items = by_id(checklist(case(secure=OVER_5Y, born_abroad_parents_abroad=abroad)))
    if expect == "absent":
        assert "nationality_proof" not in items
    else:
        assert items["nationality_proof"].conditions == ((expect,) if expect else ())


@pytest.mark.parametrize("secure", [VALID, UNDER_5Y])
def test_a_secure_title_spares_every_civil_status_proof_even_when_the_registry_is_on_paper(secure):
    # REFERENCE: "birth certificate only when there is no secure ID valid or expired less than 5 years
    # and the birthplace registry is not dematerialised (COMEDEC)".
    items = ids(checklist(case(secure=secure, birthplace_dematerialised=False, born_abroad_parents_abroad=True)))
    assert not items & {"birth_certificate", "nationality_proof"}


# ---------------------------------------------------------------------------
# Minors
# ---------------------------------------------------------------------------
MINOR_BANDS = [AgeBand.UNDER_12, AgeBand.TWELVE, AgeBand.THIRTEEN_FOURTEEN, AgeBand.FIFTEEN_SEVENTEEN]


@pytest.mark.parametrize("band", MINOR_BANDS)
def test_a_minor_needs_the_parents_id_and_presence(band):
    items = by_id(checklist(case(motif=Motif.RENEWAL, band=band)))
    assert items["parent_id"].capture is Capture.PHOTO
    assert items["parent_presence"].capture is Capture.PRESENCE
    assert items["proof_of_address"].label_key == "doc.proof_of_address_parent"


def test_an_adult_needs_no_parent():
    items = by_id(checklist(case(motif=Motif.RENEWAL)))
    assert not set(items) & {"parent_id", "parent_presence", "custody_judgment"}
    assert items["proof_of_address"].label_key == "doc.proof_of_address"


@pytest.mark.parametrize("alternating, expect", [(None, "cond.alternating_residence"), (True, None), (False, "absent")])
def test_custody_judgment_only_for_alternating_residence(alternating, expect):
    # REFERENCE: "a judgment only for alternating residence"
    items = by_id(checklist(case(band=AgeBand.UNDER_12, alternating_residence=alternating)))
    if expect == "absent":
        assert "custody_judgment" not in items
    else:
        assert items["custody_judgment"].conditions == ((expect,) if expect else ())
        assert items["custody_judgment"].source.doc == "REFERENCE"


def test_an_adult_never_needs_a_custody_judgment():
    assert "custody_judgment" not in ids(checklist(case(alternating_residence=True)))


@pytest.mark.parametrize("band, required", [
    (AgeBand.UNDER_12, False),
    (AgeBand.TWELVE, True),  # seed 002: "Entre 12 et 13 ans / Les empreintes du mineur sont prises au guichet."
    (AgeBand.THIRTEEN_FOURTEEN, True),  # "À partir de 13 ans / Les empreintes du mineur sont prises au guichet."
    (AgeBand.FIFTEEN_SEVENTEEN, True),
    (AgeBand.ADULT, True),
])
def test_fingerprints_are_taken_from_age_12(band, required):
    assert fingerprints_required(case(band=band)) is required


@pytest.mark.parametrize("age", range(0, 20))
def test_fingerprints_by_exact_age(age):
    assert fingerprints_required(case(band=AgeBand.of(age))) is (age >= 12)


@pytest.mark.parametrize("band, who", [
    (AgeBand.UNDER_12, Signer.PARENT),  # seed 002 "Entre 0 et 12 ans / Le responsable signe le talon photo"
    (AgeBand.TWELVE, Signer.PARENT),  # "Entre 12 et 13 ans / … Le responsable signe le talon photo"
    # "À partir de 13 ans / … Si son responsable est d'accord, le mineur peut signer le talon photo.
    #  Sinon, c'est le responsable qui appose sa signature"
    (AgeBand.THIRTEEN_FOURTEEN, Signer.APPLICANT_OR_PARENT),
    (AgeBand.FIFTEEN_SEVENTEEN, Signer.APPLICANT_OR_PARENT),
    (AgeBand.ADULT, Signer.APPLICANT),
])
def test_who_signs_depends_on_the_age_band(band, who):
    assert signer(case(band=band)) is who


@pytest.mark.parametrize("age, band", [
    (0, AgeBand.UNDER_12), (11, AgeBand.UNDER_12), (12, AgeBand.TWELVE), (13, AgeBand.THIRTEEN_FOURTEEN),
    (14, AgeBand.THIRTEEN_FOURTEEN), (15, AgeBand.FIFTEEN_SEVENTEEN), (17, AgeBand.FIFTEEN_SEVENTEEN),
    (18, AgeBand.ADULT), (90, AgeBand.ADULT),
])
def test_age_band_boundaries(age, band):
    assert AgeBand.of(age) is band
    assert band.minor is (age < 18)


def test_case_round_trips_through_its_dict():
    c = case(titles=BOTH, motif=Motif.THEFT, band=AgeBand.TWELVE, secure=OVER_5Y, region=GUYANE,
             birthplace_dematerialised=None, born_abroad_parents_abroad=True, hosted=None, alternating_residence=True)
    assert Case.from_dict(c.to_dict()) == c
    assert c.to_dict()["titles"] == ["cni", "passport"]


# ---------------------------------------------------------------------------
# Every requirement the rules can produce: sources and labels
# ---------------------------------------------------------------------------
def _every_case():
    for titles, motif, band, secure, region, unknowns in itertools.product(
        [CNI, PASSPORT, BOTH], list(Motif), list(AgeBand), list(SecureDocument), list(Region), [None, True, False],
    ):
        yield case(titles=titles, motif=motif, band=band, secure=secure, region=region,
                   birthplace_dematerialised=unknowns, born_abroad_parents_abroad=unknowns,
                   hosted=unknowns, alternating_residence=unknowns)


@pytest.fixture(scope="module")
def every_requirement() -> dict[str, Requirement]:
    """One of each distinct requirement (id, label, source, condition) the rules produce over every case."""
    out = {}
    for c in _every_case():
        items = checklist(c)
        assert len({r.id for r in items}) == len(items), f"duplicate id for {c}"
        for r in items:
            out[(r.id, r.label_key, r.detail_key, r.source, r.conditions, r.amount_cents)] = r
    return out


def test_the_rules_produce_every_kind_of_requirement(every_requirement):
    assert {r.id for r in every_requirement.values()} == {
        "photo", "proof_of_address", "host_attestation", "host_id", "previous_title", "secure_id",
        "loss_declaration", "theft_declaration", "birth_certificate", "nationality_proof", "parent_id",
        "custody_judgment", "parent_presence", "fiscal_stamp.cni", "fee.cni", "fiscal_stamp.passport",
    }


def _assert_quoted(source: rules.Source, seed_text) -> None:
    assert source.doc in rules.SOURCE_DOCUMENTS
    assert source.quote.strip(), source
    assert normalise_ws(source.quote) in normalise_ws(seed_text(source.doc)), source.cite()


def test_every_requirement_quotes_its_source_verbatim(every_requirement, seed_text):
    for r in every_requirement.values():
        _assert_quoted(r.source, seed_text)


def test_every_source_constant_quotes_its_document_verbatim(seed_text):
    sources = [v for v in vars(rules).values() if isinstance(v, rules.Source)]
    assert len(sources) >= 15
    for source in sources:
        _assert_quoted(source, seed_text)


def test_every_label_and_condition_has_french_and_english_text(every_requirement):
    for r in every_requirement.values():
        for key in filter(None, (r.label_key, r.detail_key, *r.conditions)):
            assert MESSAGES[key]["fr"].strip() and MESSAGES[key]["en"].strip(), key


def test_labels_with_an_amount_or_months_get_them_from_the_requirement(every_requirement):
    from titres.i18n import Translator, euros

    for r in every_requirement.values():
        params = dict(r.params)
        if r.amount_cents is not None:
            params["amount"] = euros(r.amount_cents)
        for lang in ("fr", "en"):
            text = Translator(lang)(r.label_key, **params)
            assert "{" not in text and "⟨" not in text, (r.id, lang, text)


def test_exact_age_decides_fingerprints_whatever_the_configured_minimum():
    from titres.predemande import Motif, Title
    from titres.rules import AgeBand, Case, SecureDocument, fingerprints_required

    def case(age):
        return Case(frozenset({Title.CNI}), Motif.FIRST, AgeBand.of(age), SecureDocument.NONE, age=age)

    assert fingerprints_required(case(14), min_age=14)
    assert not fingerprints_required(case(13), min_age=14)
    assert fingerprints_required(case(12)) and not fingerprints_required(case(11))


# ---------------------------------------------------------------------------
# The facts the citizen is asked about, and what each answer does
# ---------------------------------------------------------------------------
from titres.rules import Fact, assess, open_facts  # noqa: E402


def test_a_secure_title_nobody_could_tell_keeps_both_branches_conditional():
    # Seed 003: "Votre passeport" heads the blocks with a passport valid or expired under 5 years;
    # the others have "Vérifiez si l'état civil …" and "Justificatif de nationalité française …".
    # Not knowing which block applies, the kiosk lists the items of both, each with its condition.
    items = by_id(checklist(case(motif=Motif.LOSS, secure=None, birthplace_dematerialised=None,
                                 born_abroad_parents_abroad=None)))
    assert items["secure_id"].conditions == ("cond.secure_title",)
    assert items["birth_certificate"].conditions == ("cond.no_secure_title", "cond.birthplace_not_dematerialised")
    assert items["nationality_proof"].conditions == ("cond.no_secure_title", "cond.born_abroad")


def test_a_known_secure_title_with_an_unknown_registry_leaves_only_the_registry_as_condition():
    items = by_id(checklist(case(motif=Motif.FIRST, secure=OVER_5Y, birthplace_dematerialised=None,
                                 born_abroad_parents_abroad=False)))
    assert items["birth_certificate"].conditions == ("cond.birthplace_not_dematerialised",)
    assert "nationality_proof" not in items and "secure_id" not in items


def test_what_an_answer_rules_out_is_kept_as_not_applicable():
    assessed = {a.requirement.id: a.applies for a in assess(case(motif=Motif.FIRST, secure=VALID, hosted=False))}
    assert assessed["host_attestation"] is False and assessed["host_id"] is False
    assert assessed["birth_certificate"] is False and assessed["nationality_proof"] is False
    assert assessed["secure_id"] is True and assessed["photo"] is True
    assert "loss_declaration" not in assessed  # never considered for a first application: not "ruled out"


@pytest.mark.parametrize("kw, open_", [
    # Seed 000, "Personnes hébergées joindre en plus l'attestation de l'hébergeant": asked while unknown.
    ({"hosted": None}, {Fact.SECURE_TITLE, Fact.BIRTHPLACE_DEMATERIALISED, Fact.BORN_ABROAD_PARENTS_ABROAD,
                        Fact.HOSTED}),
    # Seed 003: a passport valid or expired under 5 years spares the civil-status questions.
    ({"secure": VALID}, set()),
    ({"secure": UNDER_5Y, "hosted": None}, {Fact.HOSTED}),
    # "Vérifiez si l'état civil du lieu de naissance est dématérialisé": asked only without such a title.
    ({"secure": OVER_5Y}, {Fact.BIRTHPLACE_DEMATERIALISED, Fact.BORN_ABROAD_PARENTS_ABROAD}),
    ({"secure": NO_PASSPORT, "birthplace_dematerialised": True, "born_abroad_parents_abroad": False}, set()),
    # REFERENCE "a judgment only for alternating residence": a child's, never an adult's.
    ({"band": AgeBand.UNDER_12, "secure": VALID, "alternating_residence": None}, {Fact.ALTERNATING_RESIDENCE}),
    ({"secure": VALID, "alternating_residence": None}, set()),
])
def test_only_the_facts_a_document_still_depends_on_are_open(kw, open_):
    secure = kw.pop("secure", None)
    assert set(open_facts(case(motif=Motif.LOSS, secure=secure, **kw))) == open_


def test_open_facts_come_in_the_order_they_are_asked():
    facts = open_facts(case(motif=Motif.THEFT, band=AgeBand.TWELVE, secure=None, hosted=None,
                            alternating_residence=None))
    assert facts == (Fact.SECURE_TITLE, Fact.BIRTHPLACE_DEMATERIALISED, Fact.BORN_ABROAD_PARENTS_ABROAD,
                     Fact.HOSTED, Fact.ALTERNATING_RESIDENCE)


def test_a_child_case_words_its_documents_and_conditions_for_the_parent():
    items = by_id(checklist(case(motif=Motif.FIRST, band=AgeBand.UNDER_12, secure=None, hosted=None)))
    assert items["photo"].label_key == "doc.photo.child"
    assert items["secure_id"].label_key == "doc.passport_held.child"
    assert items["host_attestation"].conditions == ("cond.hosted.child",)
    adult = by_id(checklist(case(motif=Motif.FIRST, secure=None, hosted=None)))
    assert adult["photo"].label_key == "doc.photo" and adult["host_attestation"].conditions == ("cond.hosted",)


def test_every_document_title_is_short_and_its_detail_goes_beneath(every_requirement):
    from titres.i18n import Translator
    from titres.wording import requirement_detail, requirement_label

    for r in every_requirement.values():
        for lang in ("fr", "en"):
            t = Translator(lang)
            title = requirement_label(t, r)
            assert len(title) <= 60 and "(" not in title, (r.id, lang, title)
            if r.detail_key:
                assert MESSAGES[r.detail_key][lang], r.detail_key
                assert "{" not in requirement_detail(t, r)


def test_a_case_whose_secure_title_is_unknown_round_trips():
    c = case(secure=None, hosted=None)
    assert Case.from_dict(c.to_dict()) == c and c.to_dict()["secure_document"] is None


@pytest.mark.parametrize("titles, band, label", [
    # Seed 000, "Carte d'identité sécurisée française": the title renewed, named for what it is.
    (CNI, AgeBand.ADULT, "doc.previous_cni"),
    (PASSPORT, AgeBand.ADULT, "doc.previous_passport"),
    (BOTH, AgeBand.ADULT, "doc.previous_title"),
    (PASSPORT, AgeBand.UNDER_12, "doc.previous_passport.child"),
])
def test_the_title_renewed_is_named_for_what_it_is_and_for_whom(titles, band, label):
    items = by_id(checklist(case(titles=titles, motif=Motif.RENEWAL, band=band)))
    assert items["previous_title"].label_key == label
    assert items["previous_title"].source.doc == "000"
