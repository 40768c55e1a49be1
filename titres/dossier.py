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
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Callable, TypeVar

#: 2 added ``answers`` (each fact, its value and who gave it), ``conditional`` and ``not_applicable``
#: (what the answers left open or ruled out) and the ``not_held`` document status. Readers accept 1 too.
SCHEMA_VERSION = 2
SUPPORTED_SCHEMAS = (1, 2)
#: No dossier nests deeper than a handful of levels (pré-demande → filiation → parent → name); a reader refuses
#: more, so that every store and encoder downstream can take what it accepted.
MAX_DEPTH = 16


class MalformedDossier(ValueError):
    """A dossier's JSON this model does not read; the message says what and where.

    Not JSON, not an object, a key missing, a value of the wrong type or not
    a member of its enum, text no UTF-8 store keeps (NUL, a lone surrogate),
    a number that is not finite, an attachment named but not listed, or
    listed but not given, or not matching its hash. One type for all of
    them, so a receiver refuses every such dossier the same way.
    """


class UnsupportedSchema(MalformedDossier):
    """A dossier of a schema version this reader does not know: ``found``, where it reads ``supported``."""

    def __init__(self, found: Any):
        self.found = found
        self.supported = SUPPORTED_SCHEMAS
        super().__init__(f"dossier schema {_shown(found)} is not supported; this reader reads schemas "
                         + ", ".join(str(v) for v in SUPPORTED_SCHEMAS))


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
    #: The schema it was read from (a schema 1 dossier recorded no ``conditional``); ``to_json`` writes the current one.
    schema: int = field(default=SCHEMA_VERSION, compare=False)

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
    def from_json(cls, raw: bytes | str, attachments: Mapping[str, bytes] | None = None) -> "Dossier":
        """Parse the JSON form; ``attachments`` (name → bytes) are checked against their hashes.

        Raises :class:`MalformedDossier` (:class:`UnsupportedSchema` for an
        unknown version) for anything this model does not read.
        """
        try:
            d = json.loads(raw)
        except RecursionError:
            raise MalformedDossier("the dossier's JSON nests too deep to be read") from None
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer too long to read
            raise MalformedDossier(f"not a dossier's JSON: {exc}") from None
        return cls.from_dict(d, attachments)

    @classmethod
    def from_dict(cls, d: Any, attachments: Mapping[str, bytes] | None = None) -> "Dossier":
        """Read the parsed JSON form, every field checked; see :meth:`from_json`."""
        if not isinstance(d, dict):
            raise MalformedDossier("a dossier is a JSON object")
        schema = d.get("schema")
        if not _is_integer(schema) or schema not in SUPPORTED_SCHEMAS:
            raise UnsupportedSchema(schema)
        _check_values(d)
        f = _Fields(d, "")
        atts: dict[str, Attachment] = {}
        listed: dict[str, tuple[str, int]] = {}  # name → (sha256, size)
        for desc in f.objects("attachments"):
            name = desc.text("name")
            if name in atts:
                raise MalformedDossier(f"{desc.path}: attachment {_shown(name)} is listed twice")
            atts[name] = Attachment(name, desc.text("media_type"), bytearray())
            listed[name] = (desc.text("sha256"), desc.integer("size"))
        dossier = cls(
            id=f.text("id"), number=f.text_or_none("number"), site_id=f.text("site_id"),
            kiosk_code=f.text("kiosk_code"), created_at=f.text("created_at"), language=f.text("language"),
            software_version=f.text("software_version", default=""),
            predemande_number=f.text("predemande_number"), predemande_fetched=f.boolean("predemande_fetched"),
            predemande=f.object_or_none("predemande"), case=f.object("case"), checklist=f.texts("checklist"),
            answers=[Answer(x.text("question"), x.value("value"), x.member("source", AnswerSource))
                     for x in f.objects("answers", default=[])],
            conditional=f.texts("conditional", default=[]), not_applicable=f.texts("not_applicable", default=[]),
            documents=[DocumentCapture(x.text("requirement"), x.member("status", DocumentStatus),
                                       x.text_or_none("attachment"), x.numbers("quality"), x.integer("attempts"))
                       for x in f.objects("documents")],
            stamps=[Stamp(x.text("requirement"), x.member("mode", StampMode), x.text_or_none("number"),
                          x.integer_or_none("amount_cents"))
                    for x in f.objects("stamps")],
            fingerprints=[FingerCapture(x.text("finger"), x.member("status", FingerStatus), x.integer("attempts"),
                                        x.integer_or_none("quality"), x.text_or_none("attachment"),
                                        x.text_or_none("template"))
                          for x in f.objects("fingerprints")],
            signature=f.text_or_none("signature"), signer=f.text("signer"), consent_at=f.text_or_none("consent_at"),
            flags=[flag.value for flag in f.members("flags", Flag)], attachments=atts, schema=schema,
        )
        # Every attachment a capture names is listed; each listed one given is the one the dossier hashed.
        named = [(f"documents[{i}].attachment", x.attachment) for i, x in enumerate(dossier.documents)]
        for i, x in enumerate(dossier.fingerprints):
            named += [(f"fingerprints[{i}].attachment", x.attachment), (f"fingerprints[{i}].template", x.template)]
        for path, name in [*named, ("signature", dossier.signature)]:
            if name is not None and name not in atts:
                raise MalformedDossier(f"{path} names attachment {_shown(name)}, which the dossier does not list")
        for att in atts.values() if attachments is not None else ():
            if att.name not in attachments:
                dossier.wipe()
                raise MalformedDossier(f"attachment {_shown(att.name)} is listed but was not received")
            att.data = bytearray(attachments[att.name])
            try:
                check_attachment(att.name, att.data, *listed[att.name])
            except MalformedDossier:
                dossier.wipe()
                raise
        return dossier

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


# -- reading the JSON form ---------------------------------------------------------------

_E = TypeVar("_E", bound=StrEnum)
_REQUIRED: Any = object()
_KINDS = {str: "a string", int: "a number", float: "a number", bool: "a boolean", type(None): "null",
          list: "a list", dict: "an object"}


def check_attachment(name: str, data: bytes | bytearray, sha256: str, size: int) -> None:
    """``data`` is the attachment the dossier lists as ``name`` with this hash and size.

    For a reader that receives a dossier's attachments one at a time (the
    service opens each sealed part in turn) and so need not hold them all.
    """
    if (hashlib.sha256(data).hexdigest(), len(data)) != (sha256, size):
        raise MalformedDossier(f"attachment {_shown(name)} does not match its hash")


def _shown(value: Any) -> str:
    """A value for an error message, cut short: the message may travel back to a hostile sender."""
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _child(path: str, key: str) -> str:
    name = key if len(key) <= 40 else key[:39] + "…"
    return f"{path}.{name}" if path else name


def _check_values(d: dict[str, Any]) -> None:
    """Refuse what the canonical form cannot carry or a store would refuse later.

    Lone surrogates have no UTF-8 form; PostgreSQL's text refuses NUL; JSON
    has no NaN nor infinity (Python's reader makes them of ``NaN``,
    ``Infinity`` and ``1e400``); too deep a nesting overflows encoders.
    Walked without recursion, so a deep document cannot overflow this check;
    each value carries the trail to it, worded only for an error.
    """
    stack: list[tuple[Any, tuple | None, int]] = [(d, None, 0)]
    while stack:
        value, trail, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise MalformedDossier(f"{_worded(trail)} nests more than {MAX_DEPTH} levels deep")
        if isinstance(value, str):
            _check_text(value, trail)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise MalformedDossier(f"{_worded(trail)} is {value}, not a finite number")
        elif isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise MalformedDossier(f"{_worded(trail)} has a key that is not a string")
                _check_text(key, trail, key=True)
                stack.append((item, (trail, key), depth + 1))
        elif isinstance(value, list):
            stack.extend((item, (trail, i), depth + 1) for i, item in enumerate(value))
        elif value is not None and not isinstance(value, int):
            raise MalformedDossier(f"{_worded(trail)} is not a JSON value")


def _worded(trail: tuple | None) -> str:
    """``predemande.person.surname`` or ``documents[0].quality`` from a trail of (parent trail, key or index)."""
    steps: list[str | int] = []
    while trail is not None:
        trail, step = trail
        steps.append(step)
    path = ""
    for step in reversed(steps):
        path = f"{path}[{step}]" if isinstance(step, int) else _child(path, step)
    return path or "the dossier"


def _check_text(text: str, trail: tuple | None, key: bool = False) -> None:
    problem = None
    if "\x00" in text:
        problem = "holds a NUL character"
    elif not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            problem = "holds text with no UTF-8 form (a lone surrogate)"
    if problem:
        raise MalformedDossier(f"{'a key of ' if key else ''}{_worded(trail)} {problem}")


def _expect(value: Any, fits: Callable[[Any], bool], what: str, path: str) -> Any:
    if not fits(value):
        raise MalformedDossier(f"{path} is {_KINDS.get(type(value), 'not JSON')}, not {what}")
    return value


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _or_none(fits: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or fits(value)


def _member(value: Any, enum: type[_E], path: str) -> _E:
    _expect(value, _is_text, "a string", path)
    try:
        return enum(value)
    except ValueError:
        raise MalformedDossier(f"{path} is {_shown(value)}, not one of " + ", ".join(m.value for m in enum)) from None


class _Fields:
    """One object of the JSON form, read field by field with its type checked; errors name the field's path."""

    def __init__(self, value: Any, path: str):
        self._d = _expect(value, lambda v: isinstance(v, dict), "an object", path or "the dossier")
        self.path = path

    def _take(self, key: str, fits: Callable[[Any], bool], what: str, default: Any = _REQUIRED) -> Any:
        if key not in self._d:
            if default is _REQUIRED:
                raise MalformedDossier(f"{_child(self.path, key)} is missing")
            return default
        value = self._d[key]
        return value if fits(value) else _expect(value, fits, what, _child(self.path, key))

    def value(self, key: str) -> Any:
        return self._take(key, lambda v: True, "a JSON value")

    def text(self, key: str, default: Any = _REQUIRED) -> str:
        return self._take(key, _is_text, "a string", default)

    def text_or_none(self, key: str) -> str | None:
        return self._take(key, _or_none(_is_text), "a string or null")

    def boolean(self, key: str) -> bool:
        return self._take(key, lambda v: isinstance(v, bool), "a boolean")

    def integer(self, key: str) -> int:
        return self._take(key, _is_integer, "an integer")

    def integer_or_none(self, key: str) -> int | None:
        return self._take(key, _or_none(_is_integer), "an integer or null")

    def object(self, key: str) -> dict[str, Any]:
        return self._take(key, lambda v: isinstance(v, dict), "an object")

    def object_or_none(self, key: str) -> dict[str, Any] | None:
        return self._take(key, _or_none(lambda v: isinstance(v, dict)), "an object or null")

    def numbers(self, key: str) -> dict[str, float]:
        values = self.object(key)
        for name, value in values.items():
            _expect(value, _is_number, "a number", _child(_child(self.path, key), name))
        return values

    def _list(self, key: str, default: Any = _REQUIRED) -> list[tuple[Any, str]]:
        """The list's items, each with its path."""
        items = self._take(key, lambda v: isinstance(v, list), "a list", default)
        return [(item, f"{_child(self.path, key)}[{i}]") for i, item in enumerate(items)]

    def texts(self, key: str, default: Any = _REQUIRED) -> list[str]:
        return [_expect(item, _is_text, "a string", path) for item, path in self._list(key, default)]

    def objects(self, key: str, default: Any = _REQUIRED) -> list["_Fields"]:
        return [_Fields(item, path) for item, path in self._list(key, default)]

    def member(self, key: str, enum: type[_E]) -> _E:
        return _member(self._take(key, lambda v: True, "a string"), enum, _child(self.path, key))

    def members(self, key: str, enum: type[_E]) -> list[_E]:
        return [_member(item, enum, path) for item, path in self._list(key)]
