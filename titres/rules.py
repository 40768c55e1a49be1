"""Which supporting documents (pièces justificatives) a case needs, with the source of each rule.

The rules are a table in code. Each :class:`Rule` says when it applies and
cites the source document it comes from: the seeds in ``shared/seeds/``
(a mairie's leaflet, a département's page, the official practical sheets and
the agency's slides) and, where the seeds are silent, the facts gathered in
``shared/REFERENCE.md``. Tests walk every situation of the seeds.

A document that depends on a fact of the citizen's life (hosted or not,
alternating residence, a birthplace registry on paper, born abroad of
parents born abroad, a secure title held) names that fact as a
:class:`Condition`. The kiosk asks the citizen about every such fact
before the checklist (:func:`open_facts` says which ones matter); an
answer of "no" drops the document (:func:`assess` keeps it as *not
applicable*), "yes" makes it required, and "I don't know" keeps it on the
list as *conditional*, with its condition printed, for the agent to decide
at the desk, rather than being dropped or demanded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Callable

from titres.predemande import Motif, Title


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


class Fact(StrEnum):
    """What only the citizen (or their pré-demande) can tell, and some documents depend on."""

    SECURE_TITLE = "secure_title"  # holds a card or passport valid or expired less than 5 years
    BIRTHPLACE_DEMATERIALISED = "birthplace_dematerialised"
    BORN_ABROAD_PARENTS_ABROAD = "born_abroad_parents_abroad"
    HOSTED = "hosted"
    ALTERNATING_RESIDENCE = "alternating_residence"


#: The order facts are asked in: each fact's relevance depends only on the facts before it
#: (a secure title spares the birthplace and nationality questions), so a question's place never moves.
FACT_ORDER = (Fact.SECURE_TITLE, Fact.BIRTHPLACE_DEMATERIALISED, Fact.BORN_ABROAD_PARENTS_ABROAD, Fact.HOSTED,
              Fact.ALTERNATING_RESIDENCE)


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
    #: ``None``: the citizen does not know (a title found in a drawer, its date unread).
    secure_document: SecureDocument | None
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

    def fact(self, fact: Fact) -> bool | None:
        """What the case says of ``fact``: ``None`` while nobody has said."""
        if fact is Fact.SECURE_TITLE:
            return None if self.secure_document is None else self.secure_document.proves_identity
        return getattr(self, fact.value)

    def to_dict(self) -> dict:
        return {
            "titles": sorted(t.value for t in self.titles),
            "motif": self.motif.value,
            "age_band": self.age_band.value,
            "secure_document": self.secure_document.value if self.secure_document is not None else None,
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
            secure_document=SecureDocument(d["secure_document"]) if d.get("secure_document") else None,
            birthplace_dematerialised=d.get("birthplace_dematerialised"),
            born_abroad_parents_abroad=d.get("born_abroad_parents_abroad"),
            hosted=d.get("hosted", False),
            alternating_residence=d.get("alternating_residence", False),
            region=Region(d.get("region", "metropole")),
            age=d.get("age"),
        )


@dataclass(frozen=True)
class Condition:
    """A document applies only when ``fact`` is ``holds``; ``key`` says so to the citizen ("only if …")."""

    fact: Fact
    holds: bool
    key: str


@dataclass(frozen=True)
class Requirement:
    """One line of the checklist.

    ``id`` is stable (it keys captures in the dossier); ``label_key`` points
    into the translation table (a short title) and ``detail_key``, when set,
    to the line beneath it; ``conditions`` are the message keys of what the
    citizen could not tell and the document depends on ("only if …"): the
    agent decides at the desk.
    """

    id: str
    capture: Capture
    label_key: str
    source: Source
    amount_cents: int | None = None
    conditions: tuple[str, ...] = ()
    params: tuple[tuple[str, object], ...] = ()
    detail_key: str | None = None

    @property
    def conditional(self) -> bool:
        return bool(self.conditions)


@dataclass(frozen=True)
class Rule:
    """When the rule is considered at all (``applies``: the motif, the titles, the age), what it makes,
    and the facts it depends on (``when``: all must hold)."""

    applies: Callable[[Case], bool]
    make: Callable[[Case, int], Requirement]
    when: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Assessed:
    """A considered document and whether it applies: ``True``, ``False`` (an answer ruled it out) or
    ``None`` (conditional: its ``requirement.conditions`` say on what)."""

    requirement: Requirement
    applies: bool | None


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

#: Labels and conditions worded for a parent applying for their child ("le passeport de votre enfant",
#: "si votre enfant est né à l'étranger"): the rules choose them, as they choose the parent's proof of address.
CHILD_WORDED = frozenset({
    "doc.photo", "doc.previous_title", "doc.previous_cni", "doc.previous_passport", "doc.passport_held",
    "doc.cni_held", "doc.secure_id_held",
    "doc.birth_certificate",
    "doc.nationality_proof", "cond.secure_title", "cond.no_secure_title", "cond.birthplace_not_dematerialised",
    "cond.born_abroad", "cond.hosted",
})

# -- the conditions, one per fact and value --------------------------------------------
HOSTED = Condition(Fact.HOSTED, True, "cond.hosted")
ALTERNATING = Condition(Fact.ALTERNATING_RESIDENCE, True, "cond.alternating_residence")
SECURE_TITLE = Condition(Fact.SECURE_TITLE, True, "cond.secure_title")
NO_SECURE_TITLE = Condition(Fact.SECURE_TITLE, False, "cond.no_secure_title")
REGISTRY_ON_PAPER = Condition(Fact.BIRTHPLACE_DEMATERIALISED, False, "cond.birthplace_not_dematerialised")
BORN_ABROAD = Condition(Fact.BORN_ABROAD_PARENTS_ABROAD, True, "cond.born_abroad")


def worded(case: Case, key: str) -> str:
    """``key``, or its variant for a parent speaking for their child."""
    return f"{key}.child" if case.minor and key in CHILD_WORDED else key


def _req(id: str, capture: Capture, label_key: str, source: Source, detail: bool = True,
         **kw) -> Callable[[Case, int], Requirement]:
    """A requirement whose title (and the line beneath it, ``<label>.detail``) only depends on who applies."""
    return lambda case, months: Requirement(id, capture, worded(case, label_key), source,
                                            detail_key=f"{label_key}.detail" if detail else None, **kw)


def _proof_of_address(case: Case, months: int) -> Requirement:
    label = "doc.proof_of_address_parent" if case.minor else "doc.proof_of_address"
    return Requirement("proof_of_address", Capture.PHOTO, label, S_ADDRESS, params=(("months", months),),
                       detail_key="doc.proof_of_address.detail")


def _previous_title(case: Case, months: int) -> Requirement:
    """The title being renewed: the card, the passport, or either when both are asked for."""
    label = {frozenset({Title.CNI}): "doc.previous_cni", frozenset({Title.PASSPORT}): "doc.previous_passport"}.get(
        frozenset(case.titles), "doc.previous_title")
    return Requirement("previous_title", Capture.PHOTO, worded(case, label), S_PREVIOUS,
                       detail_key="doc.previous_title.detail")


def _secure_id(case: Case, months: int) -> Requirement:
    """The other secure title the applicant holds, which spares the birth certificate: a passport for a
    card, a card for a passport (the lost or stolen one cannot be it), either for both."""
    if case.titles == {Title.CNI}:
        label = "doc.passport_held"
    elif case.titles == {Title.PASSPORT}:
        label = "doc.cni_held"
    else:
        label = "doc.secure_id_held"
    return Requirement("secure_id", Capture.PHOTO, worded(case, label), S_PASSPORT_HELD,
                       detail_key="doc.secure_id_held.detail")


def _cni_stamp(case: Case, months: int) -> Requirement:
    if case.region is Region.ABROAD:
        return Requirement("fee.cni", Capture.PRESENCE, "doc.fee_consulate", S_FEE_ABROAD, amount_cents=2500,
                           detail_key="doc.fee_consulate.detail")
    cents, source = (1250, S_STAMP_CNI_GUYANE) if case.region is Region.GUYANE else (2500, S_STAMP_CNI)
    return Requirement("fiscal_stamp.cni", Capture.STAMP, "doc.fiscal_stamp_cni", source, amount_cents=cents,
                       detail_key="doc.fiscal_stamp.detail")


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
        amount_cents=passport_fee_cents(case.age_band), detail_key="doc.fiscal_stamp.detail",
    )


def _always(case: Case) -> bool:
    return True


RULES: tuple[Rule, ...] = (
    Rule(_always, _req("photo", Capture.PHOTO, "doc.photo", S_PHOTO)),
    Rule(_always, _proof_of_address),
    Rule(_always, _req("host_attestation", Capture.PHOTO, "doc.host_attestation", S_HOSTED), (HOSTED,)),
    Rule(_always, _req("host_id", Capture.PHOTO, "doc.host_id", S_HOSTED), (HOSTED,)),
    Rule(lambda c: c.motif in _RENEWALS, _previous_title),
    Rule(lambda c: c.motif not in _RENEWALS, _secure_id, (SECURE_TITLE,)),
    Rule(lambda c: c.motif is Motif.LOSS and c.region is not Region.ABROAD,
         _req("loss_declaration", Capture.PHOTO, "doc.loss_declaration", S_LOSS)),
    Rule(lambda c: c.motif is Motif.THEFT, _req("theft_declaration", Capture.PHOTO, "doc.theft_declaration", S_THEFT)),
    # Identity rests on the civil status when no secure title valid or expired under 5 years proves it.
    Rule(_always, _req("birth_certificate", Capture.PHOTO, "doc.birth_certificate", S_BIRTH),
         (NO_SECURE_TITLE, REGISTRY_ON_PAPER)),
    Rule(_always, _req("nationality_proof", Capture.PHOTO, "doc.nationality_proof", S_NATIONALITY),
         (NO_SECURE_TITLE, BORN_ABROAD)),
    Rule(lambda c: c.minor, _req("parent_id", Capture.PHOTO, "doc.parent_id", S_PARENT_ID)),
    Rule(lambda c: c.minor, _req("custody_judgment", Capture.PHOTO, "doc.custody_judgment", S_CUSTODY),
         (ALTERNATING,)),
    Rule(lambda c: c.minor, _req("parent_presence", Capture.PRESENCE, "doc.parent_presence", S_PARENT_PRESENT,
                                 detail=False)),
    Rule(lambda c: Title.CNI in c.titles and c.motif.replaces_lost_document, _cni_stamp),
    Rule(lambda c: Title.PASSPORT in c.titles, _passport_stamp),
)


def _verdict(case: Case, when: tuple[Condition, ...]) -> tuple[bool | None, tuple[Condition, ...]]:
    """Whether every condition holds: ``False`` as soon as one is known not to, else ``None`` with the
    unknown ones, else ``True``."""
    unknown = []
    for cond in when:
        value = case.fact(cond.fact)
        if value is None:
            unknown.append(cond)
        elif value is not cond.holds:
            return False, ()
    return (None, tuple(unknown)) if unknown else (True, ())


def assess(case: Case, proof_of_address_max_months: int = 12) -> tuple[Assessed, ...]:
    """Every document the case's motif, titles and age call for, in the order the citizen gathers them,
    with whether the case's facts make it apply (see :class:`Assessed`)."""
    out = []
    for rule in RULES:
        if not rule.applies(case):
            continue
        req = rule.make(case, proof_of_address_max_months)
        applies, unknown = _verdict(case, rule.when)
        if unknown:
            req = replace(req, conditions=tuple(worded(case, c.key) for c in unknown))
        out.append(Assessed(req, applies))
    return tuple(out)


def checklist(case: Case, proof_of_address_max_months: int = 12) -> tuple[Requirement, ...]:
    """The documents for ``case``: those that apply, and those still conditional."""
    return tuple(a.requirement for a in assess(case, proof_of_address_max_months) if a.applies is not False)


def open_facts(case: Case) -> tuple[Fact, ...]:
    """The facts still unknown that a document of this case depends on, in :data:`FACT_ORDER`.

    A fact is open when some document's conditions name it, that document is
    not already ruled out by another fact, and the fact is unknown: asking
    about anything else would be asking the citizen for nothing.
    """
    wanted: set[Fact] = set()
    for rule in RULES:
        if not rule.applies(case):
            continue
        applies, unknown = _verdict(case, rule.when)
        if applies is None:
            wanted |= {c.fact for c in unknown}
    return tuple(f for f in FACT_ORDER if f in wanted)


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
