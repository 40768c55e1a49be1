"""The dossier: what a kiosk session produces, in one versioned JSON form.

The kiosk, the sync protocol and the central service share this module. The
JSON form (:meth:`Dossier.to_json`) is canonical (sorted keys, no spaces,
UTF-8) so that its hash is stable; binary captures (document photos,
fingerprint images, the signature) travel beside it as attachments named in
``attachments`` with their SHA-256 and size, so the receiving end can check
each one and a large upload can be resumed part by part.

Attachments live in memory as ``bytearray`` so that :meth:`Dossier.wipe` can
overwrite them when a session ends. (CPython may still hold transient copies
made by encoders; wiping is best effort in memory, which is why plaintext is
never written to disk at all.)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

#: 2 added ``answers`` (each fact, its value and who gave it), ``conditional`` and ``not_applicable``
#: (what the answers left open or ruled out) and the ``not_held`` document status. Readers accept 1 too.
SCHEMA_VERSION = 2
SUPPORTED_SCHEMAS = (1, 2)


class DocumentStatus(StrEnum):
    CAPTURED = "captured"
    ORIGINAL_AT_DESK = "original_at_desk"
    NOT_HELD = "not_held"  # a conditional document the citizen does not have: the agent decides


class AnswerSource(StrEnum):
    """Who said it: the online form, or the citizen at the kiosk."""

    PREDEMANDE = "predemande"
    CITIZEN = "citizen"


class FingerStatus(StrEnum):
    CAPTURED = "captured"
    LOW_QUALITY = "low_quality"  # attempts exhausted, best image kept
    UNAVAILABLE = "unavailable"  # exception path: the agent decides
    SENSOR_FAILED = "sensor_failed"


class StampMode(StrEnum):
    DEMATERIALISED = "dematerialised"
    PAPER_AT_DESK = "paper_at_desk"


class Flag(StrEnum):
    """What the agent must look at first."""

    PREDEMANDE_NOT_FETCHED = "predemande_not_fetched"
    FINGER_UNAVAILABLE = "finger_unavailable"
    FINGER_LOW_QUALITY = "finger_low_quality"
    SENSOR_FAILED = "sensor_failed"
    ORIGINALS_ONLY = "originals_only"  # some documents were not photographed
    PAPER_STAMP = "paper_stamp"


@dataclass
class Attachment:
    name: str
    media_type: str
    data: bytearray

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "media_type": self.media_type, "sha256": self.sha256, "size": len(self.data)}

    def wipe(self) -> None:
        self.data[:] = bytes(len(self.data))
        self.data.clear()


@dataclass
class DocumentCapture:
    requirement: str
    status: DocumentStatus
    attachment: str | None = None
    quality: dict[str, float] = field(default_factory=dict)
    attempts: int = 0


@dataclass
class FingerCapture:
    finger: str
    status: FingerStatus
    attempts: int = 0
    quality: int | None = None  # 0-100, advisory (see REFERENCE: NFIQ2 does not fit these sensors)
    attachment: str | None = None  # the sensor's greyscale image, PNG (lossless)
    template: str | None = None  # the sensor's template, an attachment name


@dataclass
class Answer:
    """One fact the checklist rests on. ``value`` is ``None`` when the citizen said "I don't know"."""

    question: str
    value: Any
    source: AnswerSource


@dataclass
class Stamp:
    requirement: str
    mode: StampMode
    number: str | None = None
    amount_cents: int | None = None


@dataclass
class Dossier:
    """One application as captured. ``id`` is the UUIDv7 idempotency key."""

    id: str
    site_id: str
    kiosk_code: str
    created_at: str  # ISO 8601, UTC
    language: str
    predemande_number: str
    predemande_fetched: bool
    predemande: dict[str, Any] | None
    case: dict[str, Any]
    checklist: list[str]
    number: str | None = None  # the human number, given at submit
    answers: list[Answer] = field(default_factory=list)
    conditional: list[str] = field(default_factory=list)  # checklist items whose facts nobody could tell
    not_applicable: list[str] = field(default_factory=list)  # documents an answer ruled out
    documents: list[DocumentCapture] = field(default_factory=list)
    stamps: list[Stamp] = field(default_factory=list)
    fingerprints: list[FingerCapture] = field(default_factory=list)
    signature: str | None = None
    signer: str = "applicant"
    consent_at: str | None = None
    flags: list[str] = field(default_factory=list)
    software_version: str = ""
    attachments: dict[str, Attachment] = field(default_factory=dict)

    # -- form ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "id": self.id,
            "number": self.number,
            "site_id": self.site_id,
            "kiosk_code": self.kiosk_code,
            "created_at": self.created_at,
            "language": self.language,
            "software_version": self.software_version,
            "predemande_number": self.predemande_number,
            "predemande_fetched": self.predemande_fetched,
            "predemande": self.predemande,
            "case": self.case,
            "checklist": list(self.checklist),
            "answers": [{"question": a.question, "value": a.value, "source": a.source.value} for a in self.answers],
            "conditional": list(self.conditional),
            "not_applicable": list(self.not_applicable),
            "documents": [
                {"requirement": d.requirement, "status": d.status.value, "attachment": d.attachment,
                 "quality": d.quality, "attempts": d.attempts}
                for d in self.documents
            ],
            "stamps": [
                {"requirement": s.requirement, "mode": s.mode.value, "number": s.number, "amount_cents": s.amount_cents}
                for s in self.stamps
            ],
            "fingerprints": [
                {"finger": f.finger, "status": f.status.value, "attempts": f.attempts, "quality": f.quality,
                 "attachment": f.attachment, "template": f.template}
                for f in self.fingerprints
            ],
            "signature": self.signature,
            "signer": self.signer,
            "consent_at": self.consent_at,
            "flags": sorted(set(self.flags)),
            "attachments": [a.describe() for a in sorted(self.attachments.values(), key=lambda a: a.name)],
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes | str, attachments: dict[str, bytes] | None = None) -> "Dossier":
        """Parse the JSON form; ``attachments`` (name → bytes) are checked against their hashes."""
        d = json.loads(raw)
        if d.get("schema") not in SUPPORTED_SCHEMAS:
            raise ValueError(f"unsupported dossier schema {d.get('schema')!r}")
        atts: dict[str, Attachment] = {}
        for desc in d["attachments"]:
            data = bytearray((attachments or {}).get(desc["name"], b""))
            att = Attachment(desc["name"], desc["media_type"], data)
            if attachments is not None and att.sha256 != desc["sha256"]:
                raise ValueError(f"attachment {desc['name']} does not match its hash")
            atts[att.name] = att
        return cls(
            id=d["id"], number=d["number"], site_id=d["site_id"], kiosk_code=d["kiosk_code"],
            created_at=d["created_at"], language=d["language"], software_version=d.get("software_version", ""),
            predemande_number=d["predemande_number"], predemande_fetched=d["predemande_fetched"],
            predemande=d["predemande"], case=d["case"], checklist=list(d["checklist"]),
            answers=[Answer(x["question"], x["value"], AnswerSource(x["source"])) for x in d.get("answers", [])],
            conditional=list(d.get("conditional", [])), not_applicable=list(d.get("not_applicable", [])),
            documents=[DocumentCapture(x["requirement"], DocumentStatus(x["status"]), x["attachment"], x["quality"], x["attempts"]) for x in d["documents"]],
            stamps=[Stamp(x["requirement"], StampMode(x["mode"]), x["number"], x["amount_cents"]) for x in d["stamps"]],
            fingerprints=[FingerCapture(x["finger"], FingerStatus(x["status"]), x["attempts"], x["quality"], x["attachment"], x["template"]) for x in d["fingerprints"]],
            signature=d["signature"], signer=d["signer"], consent_at=d["consent_at"], flags=list(d["flags"]),
            attachments=atts,
        )

    # -- attachments -------------------------------------------------------------
    def attach(self, name: str, media_type: str, data: bytes | bytearray) -> str:
        old = self.attachments.pop(name, None)
        if old is not None:
            old.wipe()
        self.attachments[name] = Attachment(name, media_type, bytearray(data))
        return name

    def drop_attachment(self, name: str | None) -> None:
        if name and name in self.attachments:
            self.attachments.pop(name).wipe()

    def flag(self, flag: Flag) -> None:
        if flag.value not in self.flags:
            self.flags.append(flag.value)

    def wipe(self) -> None:
        """Overwrite every capture held in memory and forget the personal fields."""
        for att in self.attachments.values():
            att.wipe()
        self.attachments.clear()
        self.predemande = None
        self.documents.clear()
        self.stamps.clear()
        self.fingerprints.clear()
        self.answers.clear()
        self.signature = None
