"""Why a dossier goes back to the citizen: the reasons an agent picks from, and what the citizen is told.

An agent returning a dossier ticks one or more of their mairie's reasons
and may add a note. Each reason is written *for the citizen*, in French and
English, and says what to bring next time: the same words reach the
citizen's mail (``central.mail``) and their status page, in their
language. A mairie may replace the defaults with its own list (its
settings page); a reason without English is shown in French.

The defaults follow the documents of the procedure (``../shared/seeds``):
a photo under 6 months old and to the standards, a proof of address, a
birth certificate under 3 months old, the fiscal stamp, the previous title.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any, Iterable

MAX_REASONS_PER_SITE = 30
MAX_REASON = 300
MAX_NOTE = 2000
CODE = re.compile(r"^[a-z0-9_]{1,32}$")


@dataclass(frozen=True)
class ReturnReason:
    code: str
    #: For the agent's list and the French mail: what is wrong, then what to bring.
    fr: str
    en: str = ""

    def text(self, lang: str) -> str:
        return self.en if lang == "en" and self.en else self.fr


DEFAULT_REASONS: tuple[ReturnReason, ...] = (
    ReturnReason("photo", "La photo d'identité n'est pas conforme : apportez une photo de moins de 6 mois, aux normes "
                 "(ou le code e-photo d'un photographe ou d'une cabine agréés).",
                 "The identity photo does not meet the standards: bring a photo less than 6 months old that meets "
                 "them (or the e-photo code of an approved photographer or booth)."),
    ReturnReason("address", "Le justificatif de domicile n'est pas accepté : apportez un justificatif de moins d'un an "
                 "à votre nom (facture, avis d'imposition, quittance de loyer).",
                 "The proof of address is not accepted: bring one in your name less than a year old (a bill, a tax "
                 "notice, a rent receipt)."),
    ReturnReason("civil_status", "Un justificatif d'état civil est nécessaire : apportez un acte de naissance de moins "
                 "de 3 mois (copie intégrale ou extrait avec filiation).",
                 "A proof of civil status is needed: bring a birth certificate less than 3 months old (full copy or "
                 "extract with parentage)."),
    ReturnReason("stamp", "Le timbre fiscal manque ou n'est pas du bon montant : achetez-le sur timbres.impots.gouv.fr "
                 "et apportez son numéro.",
                 "The tax stamp is missing or of the wrong amount: buy it on timbres.impots.gouv.fr and bring its "
                 "number."),
    ReturnReason("previous_title", "Votre titre actuel doit être présenté : apportez votre carte d'identité ou votre "
                 "passeport (ou la déclaration de perte ou de vol).",
                 "Your current document must be shown: bring your identity card or passport (or the loss or theft "
                 "declaration)."),
    ReturnReason("hosting", "L'hébergement n'est pas justifié : apportez l'attestation signée de la personne qui vous "
                 "héberge, sa pièce d'identité et son justificatif de domicile.",
                 "Your accommodation is not proven: bring the signed statement of the person you live with, their "
                 "identity document and their proof of address."),
    ReturnReason("illegible", "Une pièce est illisible sur la photo prise à la borne : apportez-en l'original au "
                 "guichet.",
                 "A document is unreadable on the kiosk's photo: bring the original to the desk."),
    ReturnReason("fingerprints", "Vos empreintes n'ont pas pu être relevées à la borne : présentez-vous au guichet "
                 "pour les relever.",
                 "Your fingerprints could not be taken at the kiosk: come to the desk to have them taken."),
)


class ReasonsError(ValueError):
    """A mairie's list, or a return, that cannot be kept; the message (French) is for the person at the form."""


def _readable(data: Any) -> list[ReturnReason]:
    """The reasons of a stored list that can be read (a code and French words), and only those."""
    if not isinstance(data, list):
        return []
    return [ReturnReason(item["code"], item["fr"], item.get("en") if isinstance(item.get("en"), str) else "")
            for item in data
            if isinstance(item, dict) and isinstance(item.get("code"), str) and isinstance(item.get("fr"), str)]


def parse(data: Any) -> list[ReturnReason]:
    """A mairie's stored ``return_reasons`` as the list its agents pick from; None (or unreadable) is the
    defaults."""
    return _readable(data) or list(DEFAULT_REASONS)


def for_site(site) -> list[ReturnReason]:
    return parse(getattr(site, "return_reasons", None))


def stored(reasons: Iterable[ReturnReason]) -> list[dict[str, str]]:
    """What a mairie's ``return_reasons`` column keeps, after checking the list is fit to show."""
    out = [asdict(r) for r in reasons]
    if not out:
        raise ReasonsError("Gardez au moins un motif de renvoi.")
    if len(out) > MAX_REASONS_PER_SITE:
        raise ReasonsError(f"Une mairie a au plus {MAX_REASONS_PER_SITE} motifs de renvoi.")
    codes = [r["code"] for r in out]
    if len(set(codes)) != len(codes) or not all(CODE.match(c) for c in codes):
        raise ReasonsError("Chaque motif a un code distinct (a-z, 0-9, souligné).")
    if any(not r["fr"].strip() or len(r["fr"]) > MAX_REASON or len(r["en"]) > MAX_REASON for r in out):
        raise ReasonsError(f"Chaque motif a un texte en français, de {MAX_REASON} caractères au plus.")
    return out


def as_text(reasons: Iterable[ReturnReason]) -> tuple[str, str]:
    """A list as the settings form shows it: the French texts one a line, and the English ones on the same lines
    (empty when none has English)."""
    listed = list(reasons)
    english = "\n".join(r.en for r in listed)
    return "\n".join(r.fr for r in listed), english if english.strip() else ""


def from_text(fr: str, en: str, current: Iterable[ReturnReason]) -> list[ReturnReason] | None:
    """The reasons typed in the settings form: one a line in French, the English (optional) line for line.

    A reason whose French text is one of ``current``'s keeps its code (a
    return already made with it still reads the same); a new one gets a code
    made from its words. None means the defaults: an empty French field, or
    the defaults exactly as they are. The list is checked by :func:`stored`
    when it is kept; this raises :class:`ReasonsError` for what the lines
    alone show (English with no French beside it).
    """
    fr_lines = [one_line(line) for line in (fr or "").splitlines()]
    en_lines = [one_line(line) for line in (en or "").splitlines()]
    count = max(len(fr_lines), len(en_lines))
    fr_lines += [""] * (count - len(fr_lines))
    en_lines += [""] * (count - len(en_lines))
    pairs = []
    for number, (french, english) in enumerate(zip(fr_lines, en_lines), start=1):
        if english and not french:
            raise ReasonsError(f"La ligne {number} du texte anglais n'a pas de motif en français à la même ligne.")
        if french:
            pairs.append((french, english))
    if not pairs:
        return None
    known = {r.fr: r.code for r in current}
    used: set[str] = set()
    out = []
    for french, english in pairs:
        code = known.get(french)
        if code is None or code in used:
            code = _fresh_code(french, used)
        used.add(code)
        out.append(ReturnReason(code, french, english))
    return None if tuple(out) == DEFAULT_REASONS else out


def one_line(text: str) -> str:
    """Control characters and line breaks become spaces; runs of spaces become one (a field of one line)."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def _fresh_code(text: str, used: set[str]) -> str:
    """A code from a reason's first words (« la_photo_d_identite »), distinct from ``used``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", ascii_text)
    base = ""
    for word in words:
        if len(base) + len(word) + 1 > 24:
            break
        base = f"{base}_{word}" if base else word
    base = base or (words[0][:24] if words else "motif")
    code, n = base, 1
    while code in used:
        n += 1
        code = f"{base}_{n}"
    return code


@dataclass(frozen=True)
class Notice:
    """What a returned dossier's citizen reads: the reasons chosen (both languages) and the agent's note, as typed."""

    reasons: tuple[ReturnReason, ...]
    note: str = ""

    def lines(self, lang: str) -> list[str]:
        return [r.text(lang) for r in self.reasons] + ([self.note] if self.note else [])

    def summary(self) -> str:
        """The French text the console shows and keeps as the dossier's ``return_reasons``."""
        return "\n".join(self.lines("fr"))

    def to_dict(self) -> dict[str, Any]:
        return {"reasons": [asdict(r) for r in self.reasons], "note": self.note}

    @classmethod
    def from_dict(cls, data: Any) -> Notice | None:
        if not isinstance(data, dict):
            return None
        # What a return told, and nothing else: never the defaults in place of an unreadable list.
        return cls(tuple(_readable(data.get("reasons"))), str(data.get("note") or ""))


def notice(chosen: Iterable[str], note: str, available: Iterable[ReturnReason]) -> Notice:
    """The return an agent asked for: ``chosen`` codes from ``available`` and a free note; at least one of them."""
    by_code = {r.code: r for r in available}
    codes = list(dict.fromkeys(c for c in chosen if c))
    unknown = [c for c in codes if c not in by_code]
    if unknown:
        raise ReasonsError("Ce motif de renvoi n'existe plus : rechargez la page.")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ReasonsError(f"Les précisions font au plus {MAX_NOTE} caractères.")
    if not codes and not note:
        raise ReasonsError("Indiquez le motif du renvoi : cochez un motif ou écrivez-le. L'usager le recevra.")
    return Notice(tuple(by_code[c] for c in codes), note)
