"""Which supporting documents (pièces justificatives) a case needs, with the source of each rule.

The rules are a table in code. Each :class:`Rule` says when it applies and
cites the source document it comes from: the seeds in ``shared/seeds/``
(a mairie's leaflet, a département's page, the official practical sheets and
the agency's slides) and, where the seeds are silent, the facts gathered in
``shared/REFERENCE.md``. Tests walk every situation of the seeds.

Unknowns are kept honest: when the case does not say whether the birthplace
registry is dematerialised, or whether the applicant was born abroad of
parents born abroad, the item stays on the list as *conditional*, with its
condition printed, rather than being dropped or demanded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Callable

from kiosk.predemande import Motif, Title


class Capture(StrEnum):
    """How the kiosk takes the item."""

    PHOTO = "photo"  # photographed, or shown in original at the desk
    STAMP = "stamp"  # a dematerialised stamp number, or a paper stamp shown at the desk
    PRESENCE = "presence"  # nothing to capture: a person must come to the desk


class AgeBand(StrEnum):
    """Age bands the rules tell apart (fees, fingerprints, who signs)."""

    UNDER_12 = "under_12"
    TWELVE = "twelve"
    THIRTEEN_FOURTEEN = "13_14"
    FIFTEEN_SEVENTEEN = "15_17"
    ADULT = "adult"

    @classmethod
    def of(cls, age: int) -> "AgeBand":
        if age >= 18:
            return cls.ADULT
        if age >= 15:
            return cls.FIFTEEN_SEVENTEEN
        if age >= 13:
            return cls.THIRTEEN_FOURTEEN
        if age == 12:
            return cls.TWELVE
        return cls.UNDER_12

    @property
    def minor(self) -> bool:
        return self is not AgeBand.ADULT


class SecureDocument(StrEnum):
    """The secure title (card or passport) the applicant holds, as the practical sheets split it."""

    VALID = "valid"
    EXPIRED_UNDER_5Y = "expired_under_5y"
    EXPIRED_OVER_5Y = "expired_over_5y"
    NONE = "none"

    @property
    def proves_identity(self) -> bool:
        """A title valid or expired less than 5 years spares the birth certificate."""
        return self in (SecureDocument.VALID, SecureDocument.EXPIRED_UNDER_5Y)


class Region(StrEnum):
    METROPOLE = "metropole"
    GUYANE = "guyane"
    ABROAD = "abroad"


@dataclass(frozen=True)
class Source:
    doc: str  # a seed id ("000".."004") or "REFERENCE"
    quote: str

    def cite(self) -> str:
        return f"[{self.doc}] {self.quote}"


#: The seed files the citations point to (``shared/seeds/``).
SOURCE_DOCUMENTS = {
    "000": "000_fbff5138b0d1a404.txt — leaflet of a mairie (CNI/passport, adult and minor)",
    "001": "001_c8e102470e660a9f.txt — a département's page on the pré-demande",
    "002": "002_65dcfb12207fa009.txt — a minor's ID card after theft, per situation",
    "003": "003_4d9f1b684ba4e417.txt — official sheet: an adult's ID card after loss",
    "004": "004_f169b44c830ad05d.txt — the agency's slides for mairies",
    "REFERENCE": "shared/REFERENCE.md — facts gathered from public sources",
}


@dataclass(frozen=True)
class Case:
    """What the rules need to know about one application."""

    titles: frozenset[Title]
    motif: Motif
    age_band: AgeBand
    secure_document: SecureDocument
    birthplace_dematerialised: bool | None = None
    born_abroad_parents_abroad: bool | None = None
    hosted: bool | None = False
    alternating_residence: bool | None = False
    region: Region = Region.METROPOLE
    #: The exact age when the pré-demande gives a birth date; offline only the band is known.
    age: int | None = None

    @property
    def minor(self) -> bool:
        return self.age_band.minor

    def to_dict(self) -> dict:
        return {
            "titles": sorted(t.value for t in self.titles),
            "motif": self.motif.value,
            "age_band": self.age_band.value,
            "secure_document": self.secure_document.value,
            "birthplace_dematerialised": self.birthplace_dematerialised,
            "born_abroad_parents_abroad": self.born_abroad_parents_abroad,
            "hosted": self.hosted,
            "alternating_residence": self.alternating_residence,
            "region": self.region.value,
            "age": self.age,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Case":
        return cls(
            titles=frozenset(Title(t) for t in d["titles"]),
            motif=Motif(d["motif"]),
            age_band=AgeBand(d["age_band"]),
            secure_document=SecureDocument(d["secure_document"]),
            birthplace_dematerialised=d.get("birthplace_dematerialised"),
            born_abroad_parents_abroad=d.get("born_abroad_parents_abroad"),
            hosted=d.get("hosted", False),
            alternating_residence=d.get("alternating_residence", False),
            region=Region(d.get("region", "metropole")),
            age=d.get("age"),
        )


@dataclass(frozen=True)
class Requirement:
    """One line of the checklist.

    ``id`` is stable (it keys captures in the dossier); ``label_key`` points
    into the translation table; ``condition_key``, when set, is the condition
    the citizen must check themselves ("only if …").
    """

    id: str
    capture: Capture
    label_key: str
    source: Source
    amount_cents: int | None = None
    condition_key: str | None = None
    params: tuple[tuple[str, object], ...] = ()

    @property
    def conditional(self) -> bool:
        return self.condition_key is not None


@dataclass(frozen=True)
class Rule:
    applies: Callable[[Case], bool]
    make: Callable[[Case, int], Requirement | None]


# -- sources -----------------------------------------------------------------
S_PHOTO = Source("003", "Photo d'identité de moins de 6 mois et conforme aux normes")
S_ADDRESS = Source("003", "Justificatif de domicile")
S_ADDRESS_AGE = Source("REFERENCE", "proof of address under 1 year (some mairies ask 3 to 6 months")
S_HOSTED = Source("000", "Personnes hébergées joindre en plus l'attestation de l'hébergeant + original de sa pièce d'identité")
S_PREVIOUS = Source("000", "Carte d'identité sécurisée française")
S_PASSPORT_HELD = Source("003", "Votre passeport")
S_LOSS = Source("003", "Déclaration de perte : à remplir sur place ou en utilisant le formulaire cerfa n°14011*02")
S_THEFT = Source("002", "Déclaration de vol")
S_BIRTH = Source(
    "003",
    # Verbatim, including the space the sheet has before the full stop.
    "Vérifiez si l'état civil du lieu de naissance est dématérialisé . Si ce n'est pas le cas, "
    "il faut fournir un acte de naissance (copie intégrale ou extrait avec filiation) de moins de 3 mois.",
)
S_NATIONALITY = Source(
    "003",
    "Justificatif de nationalité française si vous vous trouvez dans une situation particulière "
    "(naissance à l'étranger de parents nés à l'étranger par exemple)",
)
S_PARENT_ID = Source("002", "Pièce d'identité du parent qui dépose la demande")
S_PARENT_PRESENT = Source("002", "Le mineur et son responsable doivent se présenter ensemble au guichet.")
S_CUSTODY = Source("REFERENCE", "a judgment only for alternating residence")
S_STAMP_CNI = Source("003", "Timbre fiscal : 25 € (achat en ligne)")
# The reduced amount rests on "Code général des impôts : article 1043 A - Montant en Guyane" (same sheet).
S_STAMP_CNI_GUYANE = Source("003", "Timbre fiscal : 12,50 € (achat en ligne)")
S_FEE_ABROAD = Source("003", "25 € en espèce, mandat, chèque ou carte bancaire (selon les consulats)")
S_STAMP_PASSPORT_ADULT = Source("000", "Passeport 86 € : en timbre fiscaux")
S_STAMP_PASSPORT_MINOR = Source("REFERENCE", "Passport stamp: 86 € adult, 42 € age 15 to 17, 17 € under 15.")
S_FINGERPRINTS = Source("002", "Entre 12 et 13 ans Les empreintes du mineur sont prises au guichet.")
S_SIGNER = Source(
    "002",
    "À partir de 13 ans Les empreintes du mineur sont prises au guichet. "
    "Si son responsable est d'accord, le mineur peut signer le talon photo. "
    "Sinon, c'est le responsable qui appose sa signature",
)

_RENEWALS = (Motif.RENEWAL, Motif.CHANGE_OF_ADDRESS, Motif.CHANGE_OF_CIVIL_STATUS)


def _req(id: str, capture: Capture, label_key: str, source: Source, **kw) -> Callable[[Case, int], Requirement]:
    return lambda case, months: Requirement(id, capture, label_key, source, **kw)


def _proof_of_address(case: Case, months: int) -> Requirement:
    label = "doc.proof_of_address_parent" if case.minor else "doc.proof_of_address"
    return Requirement("proof_of_address", Capture.PHOTO, label, S_ADDRESS, params=(("months", months),))


def _secure_id(case: Case, months: int) -> Requirement:
    """The other secure title the applicant holds, which spares the birth certificate."""
    label = "doc.passport_held" if Title.CNI in case.titles else "doc.secure_id_held"
    return Requirement("secure_id", Capture.PHOTO, label, S_PASSPORT_HELD)


def _conditional(id: str, label: str, source: Source, known: Callable[[Case], bool | None], condition: str):
    """A requirement that applies when ``known(case)`` is true, and is listed with its condition when unknown."""

    def make(case: Case, months: int) -> Requirement | None:
        value = known(case)
        if value is False:
            return None
        return Requirement(id, Capture.PHOTO, label, source, condition_key=None if value else condition)

    return make


def _cni_stamp(case: Case, months: int) -> Requirement:
    if case.region is Region.ABROAD:
        return Requirement("fee.cni", Capture.PRESENCE, "doc.fee_consulate", S_FEE_ABROAD, amount_cents=2500)
    if case.region is Region.GUYANE:
        return Requirement("fiscal_stamp.cni", Capture.STAMP, "doc.fiscal_stamp_cni", S_STAMP_CNI_GUYANE, amount_cents=1250)
    return Requirement("fiscal_stamp.cni", Capture.STAMP, "doc.fiscal_stamp_cni", S_STAMP_CNI, amount_cents=2500)


def passport_fee_cents(band: AgeBand) -> int:
    if band is AgeBand.ADULT:
        return 8600
    if band is AgeBand.FIFTEEN_SEVENTEEN:
        return 4200
    return 1700


def _passport_stamp(case: Case, months: int) -> Requirement:
    source = S_STAMP_PASSPORT_ADULT if case.age_band is AgeBand.ADULT else S_STAMP_PASSPORT_MINOR
    return Requirement(
        "fiscal_stamp.passport", Capture.STAMP, "doc.fiscal_stamp_passport", source,
        amount_cents=passport_fee_cents(case.age_band),
    )


def _needs_civil_status_proof(case: Case) -> bool:
    """No secure title valid or expired under 5 years: identity rests on the civil status."""
    return not case.secure_document.proves_identity


RULES: tuple[Rule, ...] = (
    Rule(lambda c: True, _req("photo", Capture.PHOTO, "doc.photo", S_PHOTO)),
    Rule(lambda c: True, _proof_of_address),
    Rule(lambda c: c.hosted is not False, _conditional("host_attestation", "doc.host_attestation", S_HOSTED, lambda c: c.hosted, "cond.hosted")),
    Rule(lambda c: c.hosted is not False, _conditional("host_id", "doc.host_id", S_HOSTED, lambda c: c.hosted, "cond.hosted")),
    Rule(lambda c: c.motif in _RENEWALS, _req("previous_title", Capture.PHOTO, "doc.previous_title", S_PREVIOUS)),
    Rule(lambda c: c.motif not in _RENEWALS and c.secure_document.proves_identity, _secure_id),
    Rule(lambda c: c.motif is Motif.LOSS and c.region is not Region.ABROAD,
         _req("loss_declaration", Capture.PHOTO, "doc.loss_declaration", S_LOSS)),
    Rule(lambda c: c.motif is Motif.THEFT, _req("theft_declaration", Capture.PHOTO, "doc.theft_declaration", S_THEFT)),
    Rule(_needs_civil_status_proof,
         _conditional("birth_certificate", "doc.birth_certificate", S_BIRTH,
                      lambda c: None if c.birthplace_dematerialised is None else not c.birthplace_dematerialised,
                      "cond.birthplace_not_dematerialised")),
    Rule(_needs_civil_status_proof,
         _conditional("nationality_proof", "doc.nationality_proof", S_NATIONALITY,
                      lambda c: c.born_abroad_parents_abroad, "cond.born_abroad")),
    Rule(lambda c: c.minor, _req("parent_id", Capture.PHOTO, "doc.parent_id", S_PARENT_ID)),
    Rule(lambda c: c.minor and c.alternating_residence is not False,
         _conditional("custody_judgment", "doc.custody_judgment", S_CUSTODY, lambda c: c.alternating_residence, "cond.alternating_residence")),
    Rule(lambda c: c.minor, _req("parent_presence", Capture.PRESENCE, "doc.parent_presence", S_PARENT_PRESENT)),
    Rule(lambda c: Title.CNI in c.titles and c.motif.replaces_lost_document, _cni_stamp),
    Rule(lambda c: Title.PASSPORT in c.titles, _passport_stamp),
)


def checklist(case: Case, proof_of_address_max_months: int = 12) -> tuple[Requirement, ...]:
    """The documents for ``case``, in the order the citizen gathers them."""
    out = []
    for rule in RULES:
        if rule.applies(case):
            req = rule.make(case, proof_of_address_max_months)
            if req is not None:
                out.append(req)
    return tuple(out)


def fingerprints_required(case: Case, min_age: int = 12) -> bool:
    """Fingerprints are taken from age 12 (source: :data:`S_FINGERPRINTS`).

    With the exact age (online) any ``min_age`` works; offline only the band
    is known and its youngest age decides, which matches the legal age of 12.
    """
    if case.age is not None:
        return case.age >= min_age
    if case.age_band is AgeBand.ADULT:
        return True
    lowest = {AgeBand.UNDER_12: 0, AgeBand.TWELVE: 12, AgeBand.THIRTEEN_FOURTEEN: 13, AgeBand.FIFTEEN_SEVENTEEN: 15}
    return lowest[case.age_band] >= min_age


class Signer(StrEnum):
    APPLICANT = "applicant"
    PARENT = "parent"
    APPLICANT_OR_PARENT = "applicant_or_parent"


def signer(case: Case) -> Signer:
    """Who signs (source: :data:`S_SIGNER`): the parent under 13, either from 13 with the parent's consent."""
    if case.age_band is AgeBand.ADULT:
        return Signer.APPLICANT
    if case.age_band in (AgeBand.UNDER_12, AgeBand.TWELVE):
        return Signer.PARENT
    return Signer.APPLICANT_OR_PARENT


def total_fees_cents(items: tuple[Requirement, ...]) -> int:
    return sum(r.amount_cents or 0 for r in items)
