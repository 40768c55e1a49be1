"""The pré-demande: its number, what its QR code may hold, and the fields the kiosk uses.

The agency's number is 10 characters ``[A-Z0-9]{10}`` (validator in
betagouv/rdv-service-public). What the recap's QR code encodes is not
publicly documented, so a QR payload is accepted when it *is* a number, or
when it is one of the recap formats a mairie configures (by default the
agency's own addresses, the number in their path or query); see
:meth:`NumberFormat.number_from_qr`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Any, Mapping

from titres.errors import ConfigError, InvalidNumber, NotAPredemande

#: Characters people confuse on a printed recap: each is read as its twin when the format cannot contain it.
LOOKALIKES = {"O": "0", "0": "O", "I": "1", "1": "I"}

#: What people type or read aloud between the characters of a number.
_SEPARATORS = re.compile(r"[\s\-.]")
_PATTERN = re.compile(r"^\[(?P<cls>[^\]]+)\]\{(?P<min>\d+)(?:,(?P<max>\d+))?\}$")

#: Where ``{number}`` stands in a recap format.
NUMBER = "{number}"
_AGENCY = r"(?i:https?://(?:[a-z0-9-]+\.)*ants\.gouv\.fr)(?::[0-9]{1,5})?"  # QR's upper-case URLs too
#: The texts around a number that are a recap's (each a regular expression the whole payload must match, with
#: :data:`NUMBER` where the number stands): an address of the agency's (``ants.gouv.fr`` or one of its
#: sub-domains, nothing that only contains it) with the number as a whole segment of its path, or as the value
#: of one of its query's parameters.
DEFAULT_RECAP_FORMATS: tuple[str, ...] = (
    _AGENCY + r"/(?:[^\s?#]*/)?" + NUMBER + r"(?:/[^\s?#]*)?(?:[?#]\S*)?",
    _AGENCY + r"/[^\s?#]*\?(?:[^\s#]*&)?[A-Za-z0-9_.-]+=" + NUMBER + r"(?:&[^\s#]*)?(?:#\S*)?",
)


class Entry(StrEnum):
    """How far a typed number is from a valid one, for feedback while typing."""

    EMPTY = "empty"
    PARTIAL = "partial"  # so far so good, keep typing
    COMPLETE = "complete"  # valid, can be submitted
    INVALID = "invalid"  # a character that can never be part of a number, or too long


@dataclass(frozen=True)
class NumberFormat:
    """A number format ``[CLASS]{N}`` or ``[CLASS]{M,N}``.

    Restricting the configurable pattern to one character class and a length
    is what lets the keyboard check each character as it is typed: a general
    regular expression cannot tell whether a prefix can still match.
    """

    char_class: str
    min_len: int
    max_len: int
    #: The longer texts a QR code may hold the number in (:data:`DEFAULT_RECAP_FORMATS`).
    recap_formats: tuple[str, ...] = DEFAULT_RECAP_FORMATS

    @classmethod
    def from_pattern(cls, pattern: str, recap_formats: tuple[str, ...] = DEFAULT_RECAP_FORMATS) -> "NumberFormat":
        m = _PATTERN.match(pattern)
        if not m:
            raise ConfigError(f"pré-demande pattern must look like [A-Z0-9]{{10}}, not {pattern!r}")
        lo = int(m["min"])
        hi = int(m["max"]) if m["max"] else lo
        if not 1 <= lo <= hi <= 64:
            raise ConfigError(f"bad length in pré-demande pattern {pattern!r}")
        try:
            re.compile(f"[{m['cls']}]")
        except re.error as exc:
            raise ConfigError(f"bad character class in {pattern!r}: {exc}") from exc
        made = cls(m["cls"], lo, hi, tuple(recap_formats))
        for recap in made.recap_formats:
            if recap.count(NUMBER) != 1:
                raise ConfigError(f"a recap format holds {NUMBER} exactly once, not in {recap!r}")
            try:
                made._recap(recap)
            except re.error as exc:
                raise ConfigError(f"bad recap format {recap!r}: {exc}") from exc
        return made

    def _recap(self, recap: str) -> re.Pattern[str]:
        return _compiled(recap.replace(NUMBER, f"(?P<number>{self.regex.pattern})"))

    @property
    def _char(self) -> re.Pattern[str]:
        return re.compile(f"[{self.char_class}]")

    @property
    def regex(self) -> re.Pattern[str]:
        return re.compile(f"[{self.char_class}]{{{self.min_len},{self.max_len}}}")

    def normalise(self, text: str) -> str:
        """Upper-case, drop the spaces and dashes people type or read aloud, and put back the look-alike
        of a character the format cannot contain (the letter O where only the digit 0 exists)."""
        return "".join(self._lookalike(c) or c for c in _SEPARATORS.sub("", text).upper())

    def _lookalike(self, c: str) -> str | None:
        twin = LOOKALIKES.get(c)
        if twin is not None and not self._char.fullmatch(c) and self._char.fullmatch(twin):
            return twin
        return None

    def corrections(self, typed: str) -> tuple[tuple[str, str], ...]:
        """The look-alikes :meth:`normalise` replaced in ``typed``, as (typed, put instead), once each."""
        seen: list[tuple[str, str]] = []
        for c in _SEPARATORS.sub("", typed).upper():
            twin = self._lookalike(c)
            if twin is not None and (c, twin) not in seen:
                seen.append((c, twin))
        return tuple(seen)

    def ambiguous(self, number: str) -> tuple[str, ...]:
        """The characters of ``number`` whose look-alike the format allows too (``O`` and ``0`` both
        exist in ``[A-Z0-9]``): what to check on the recap when a typed number is unknown."""
        out: list[str] = []
        for c in number:
            twin = LOOKALIKES.get(c)
            if twin is not None and self._char.fullmatch(twin) and c not in out:
                out.append(c)
        return tuple(out)

    def check(self, typed: str) -> Entry:
        text = self.normalise(typed)
        if not text:
            return Entry.EMPTY
        if len(text) > self.max_len or not all(self._char.fullmatch(c) for c in text):
            return Entry.INVALID
        return Entry.COMPLETE if len(text) >= self.min_len else Entry.PARTIAL

    def validate(self, typed: str) -> str:
        """The normalised number, or :class:`InvalidNumber`."""
        text = self.normalise(typed)
        if self.check(text) is not Entry.COMPLETE:
            raise InvalidNumber(f"not a pré-demande number: {typed!r}")
        return text

    def number_from_qr(self, payload: str) -> str:
        """The pré-demande number a QR payload carries, or :class:`NotAPredemande`.

        A payload that is exactly a number is taken as is. A longer one must be
        one of the recap formats as a whole (the agency's addresses by
        default): a number found anywhere in any text would start a capture
        offline on a code that is some shop's ticket. The number in it holds
        a digit (``PREDEMANDE`` in an address is a word), and a second
        different number-shaped token makes it ambiguous, and refused.
        Refusing is safe: the citizen can still type the number.
        """
        text = payload.strip()
        if self.regex.fullmatch(text):
            return text
        for recap in self.recap_formats:
            found = self._recap(recap).fullmatch(text)
            if found and any(c.isdigit() for c in found["number"]):  # not a word of the address
                bounded = _compiled(f"(?<![A-Za-z0-9])(?:{self.regex.pattern})(?![A-Za-z0-9])")
                others = {m.group(0) for m in bounded.finditer(text) if any(c.isdigit() for c in m.group(0))}
                if others <= {found["number"]}:
                    return found["number"]
                raise NotAPredemande(f"a recap payload holds {len(others)} candidate numbers")
        raise NotAPredemande("the QR payload is neither a number nor a recap's")


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


class Title(StrEnum):
    CNI = "cni"
    PASSPORT = "passport"


class Motif(StrEnum):
    """The online form's motif, fixed once chosen."""

    FIRST = "first"
    RENEWAL = "renewal"
    LOSS = "loss"
    THEFT = "theft"
    CHANGE_OF_ADDRESS = "change_of_address"  # early renewal
    CHANGE_OF_CIVIL_STATUS = "change_of_civil_status"  # early renewal

    @property
    def replaces_lost_document(self) -> bool:
        return self in (Motif.LOSS, Motif.THEFT)


class Status(StrEnum):
    """The agency's status for a number: only ``validated`` can be used at the counter."""

    VALIDATED = "validated"
    CONSUMED = "consumed"
    DECLARED = "declared"  # declared, but not officially recognised by the agency
    UNKNOWN = "unknown"
    EXPIRED = "expired"


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


@dataclass(frozen=True)
class Person:
    surname: str
    given_names: str
    birth_date: date
    birth_place: str = ""
    birth_country: str = "France"
    sex: str = ""
    usage_name: str = ""


#: Sections of the online form carried in ``extra`` when the source gives them (the simulated directory does; the
#: service keeps them to itself, and its console shows its own copy).
FORM_SECTIONS = ("filiation", "contact")


@dataclass(frozen=True)
class PreDemande:
    """The fields of the online form the kiosk needs; the rest travels as ``extra``.

    ``born_abroad_parents_abroad``, ``hosted`` and ``alternating_residence``
    come from the état civil, filiation and address sections of the form;
    ``None`` means the form did not say, and the kiosk asks the citizen.
    """

    number: str
    titles: frozenset[Title]
    motif: Motif
    person: Person
    status: Status = Status.VALIDATED
    nationality: str = "française"
    address: str = ""
    hosted: bool | None = None
    born_abroad_parents_abroad: bool | None = None
    #: For a minor: whether a judge set an alternating residence (the custody judgment depends on it).
    alternating_residence: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def age(self, today: date) -> int:
        return age_on(self.person.birth_date, today)

    def to_dict(self) -> dict[str, Any]:
        p = self.person
        return {
            "number": self.number,
            "titles": sorted(t.value for t in self.titles),
            "motif": self.motif.value,
            "status": self.status.value,
            "person": {
                "surname": p.surname,
                "given_names": p.given_names,
                "birth_date": p.birth_date.isoformat(),
                "birth_place": p.birth_place,
                "birth_country": p.birth_country,
                "sex": p.sex,
                "usage_name": p.usage_name,
            },
            "nationality": self.nationality,
            "address": self.address,
            "hosted": self.hosted,
            "born_abroad_parents_abroad": self.born_abroad_parents_abroad,
            "alternating_residence": self.alternating_residence,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PreDemande":
        p = d["person"]
        return cls(
            number=d["number"],
            titles=frozenset(Title(t) for t in d["titles"]),
            motif=Motif(d["motif"]),
            status=Status(d.get("status", "validated")),
            person=Person(
                surname=p["surname"],
                given_names=p["given_names"],
                birth_date=date.fromisoformat(p["birth_date"]),
                birth_place=p.get("birth_place", ""),
                birth_country=p.get("birth_country", "France"),
                sex=p.get("sex", ""),
                usage_name=p.get("usage_name", ""),
            ),
            nationality=d.get("nationality", "française"),
            address=d.get("address", ""),
            hosted=d.get("hosted"),
            born_abroad_parents_abroad=d.get("born_abroad_parents_abroad"),
            alternating_residence=d.get("alternating_residence"),
            # Form sections the kiosk does not use itself travel with the dossier when it was given them.
            extra={**d.get("extra", {}), **{k: d[k] for k in FORM_SECTIONS if k in d}},
        )
