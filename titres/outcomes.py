"""What became of each document and finger: the one account the summary, the receipt and the
scenario runner all read, so none of them can say something the dossier does not.

Pure: it reads the checklist and the dossier being built, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Iterable

from titres.dossier import DocumentStatus, Dossier, FingerStatus, StampMode
from titres.rules import Capture, Requirement


class Outcome(StrEnum):
    PHOTOGRAPHED = "photographed"
    AT_DESK = "at_desk"  # the original (or the person) is shown at the desk only
    NOT_HELD = "not_held"  # a conditional document the citizen does not have: the agent decides
    NOT_APPLICABLE = "not_applicable"  # an answer ruled it out: never asked for
    ENTERED = "entered"  # a dematerialised stamp: its number was typed


@dataclass(frozen=True)
class ItemOutcome:
    requirement: Requirement
    #: ``None`` while the citizen has not reached the document yet.
    outcome: Outcome | None

    @property
    def key(self) -> str:
        return self.requirement.id

    def as_dict(self) -> dict:
        return {"key": self.key, "conditional": self.requirement.conditional,
                "outcome": self.outcome.value if self.outcome else None}


@dataclass(frozen=True)
class FingerOutcome:
    finger: str
    status: FingerStatus | None  # None: not read yet

    @property
    def taken(self) -> bool:
        """Good enough to send: only a print the sensor accepted. A best image kept after every try
        failed goes with the dossier, but the agent takes the finger again."""
        return self.status is FingerStatus.CAPTURED


_DOCUMENT = {DocumentStatus.CAPTURED: Outcome.PHOTOGRAPHED, DocumentStatus.ORIGINAL_AT_DESK: Outcome.AT_DESK,
             DocumentStatus.NOT_HELD: Outcome.NOT_HELD}
_STAMP = {StampMode.DEMATERIALISED: Outcome.ENTERED, StampMode.PAPER_AT_DESK: Outcome.AT_DESK}


def documents(checklist: Iterable[Requirement], not_applicable: Iterable[Requirement],
              dossier: Dossier | None) -> list[ItemOutcome]:
    """Every document considered, in checklist order, then those an answer ruled out."""
    docs = {d.requirement: _DOCUMENT[d.status] for d in (dossier.documents if dossier else [])}
    stamps = {s.requirement: _STAMP[s.mode] for s in (dossier.stamps if dossier else [])}
    out = []
    for req in checklist:
        if req.capture is Capture.PRESENCE:
            outcome: Outcome | None = Outcome.AT_DESK  # a person (or a payment) at the desk, by nature
        elif req.capture is Capture.STAMP:
            outcome = stamps.get(req.id)
        else:
            outcome = docs.get(req.id)
        out.append(ItemOutcome(req, outcome))
    out += [ItemOutcome(req, Outcome.NOT_APPLICABLE) for req in not_applicable]
    return out


def fingers(asked: Iterable[str], dossier: Dossier | None) -> list[FingerOutcome]:
    got = {f.finger: f.status for f in (dossier.fingerprints if dossier else [])}
    return [FingerOutcome(f, got.get(f)) for f in asked]


def shown_at_desk(items: Iterable[ItemOutcome]) -> list[Requirement]:
    """What the citizen brings to the desk: the originals of every document that applies or may apply
    (photographed or not; the agent compares them), the paper stamps and the people who must come.
    Not what they said they do not have, nor a dematerialised stamp."""
    return [i.requirement for i in items
            if i.outcome not in (Outcome.NOT_HELD, Outcome.NOT_APPLICABLE, Outcome.ENTERED)]
