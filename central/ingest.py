"""Receiving packages: declared, filled part by part, committed exactly once.

The three steps follow ``docs/protocol.md``:

1. **declare**: the device sends the signed manifest. If the dossier is
   already stored with the same package hash, the answer is the stored
   acknowledgement (a retry after a lost ack); with another hash, a conflict.
2. **put part**: each sealed part is checked against the manifest's size
   and hash *before* it is stored, under a key that includes its hash, so a
   resent part is the same object and a torn upload stores nothing.
3. **commit**: every part present, the parts are opened with the service's
   key and checked against the dossier's own hashes, then one transaction
   inserts the dossier (primary key = its UUID): a concurrent second commit
   loses on the key and gets the same acknowledgement.

Nothing partial becomes a dossier: a package that fails at commit leaves at
most staged parts, which ``purge_stale_uploads`` removes once they are
``staging_retention_days`` old; :class:`StaleUploadPurge` runs it every
hour on a thread of its own, started and stopped with the application.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from nacl.exceptions import CryptoError
from nacl.public import SealedBox
from nacl.signing import VerifyKey
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central import appointments
from central.blobstore import BlobMissing
from central.context import Services
from central.housekeeping import Housekeeper
from central.models import Captured, Device, Dossier, DossierEvent, DossierState, Predemande, Upload
from titres.dossier import Dossier as CapturedDossier
from titres.dossier import MalformedDossier, UnsupportedSchema, check_attachment
from titres.ids import is_valid_number
from titres.protocol import (MAX_PART_BYTES, ProtocolError, check_manifest, created_time, make_ack, sha256_hex,
                                 verify_manifest)

log = logging.getLogger("central.ingest")

#: How often the service looks for stale uploads: their age is counted in days.
PURGE_INTERVAL_S = 3600.0


class Conflict(ProtocolError):
    """The dossier id is already stored with other content: never overwritten."""


class NotFound(ProtocolError):
    pass


@dataclass(frozen=True)
class DeclareResult:
    complete: bool            # already stored: ``ack`` is set
    missing: list[int]        # parts still to send
    ack: dict[str, Any] | None = None


def part_key(dossier_id: str, index: int, sha256: str) -> str:
    return f"packages/{dossier_id[:8]}/{dossier_id}/{index:03d}-{sha256}"


def _ack_for(services: Services, dossier: Dossier) -> dict[str, Any]:
    return make_ack(services.keys.signing, dossier.id, dossier.package_sha256,
                    dossier.received_at.isoformat(timespec="seconds"))


def _stored(services: Services, db: Session, manifest: dict[str, Any]) -> dict[str, Any] | None:
    existing = db.get(Dossier, manifest["id"])
    if existing is None:
        return None
    if existing.package_sha256 != manifest["package_sha256"]:
        raise Conflict("conflict", "this dossier id is already stored with other content")
    return _ack_for(services, existing)


def _missing(services: Services, manifest: dict[str, Any]) -> list[int]:
    return [i for i, p in enumerate(manifest["parts"])
            if services.blobs.size(part_key(manifest["id"], i, p["sha256"])) != p["size"]]


def open_stub(services: Services, stub_hex: str) -> dict[str, Any]:
    """The sealed status stub: the pré-demande number, so the status page can check a birth date."""
    try:
        data = json.loads(SealedBox(services.keys.sealing).decrypt(bytes.fromhex(stub_hex)))
    except (CryptoError, ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


def note_captured(services: Services, db: Session, device: Device, dossier_id: str, number: str, stub_hex: str) -> None:
    """Remember a dossier a kiosk holds, so its citizen's status says "captured" before it arrives."""
    if db.get(Captured, dossier_id) is not None or db.get(Dossier, dossier_id) is not None:
        return
    if not is_valid_number(number) or not number.startswith(device.kiosk_code + "-"):
        return  # only this kiosk's own numbers
    if db.scalar(select(Captured.dossier_id).where(Captured.number == number)):
        return
    stub = open_stub(services, stub_hex)
    db.add(Captured(dossier_id=dossier_id, number=number, device_id=device.id,
                    predemande_number=str(stub.get("predemande_number", ""))[:16]))


def declare(services: Services, device: Device, manifest: Any, signature: Any) -> DeclareResult:
    manifest = check_manifest(manifest)
    if not isinstance(signature, str) or len(signature) != 128:
        raise ProtocolError("bad_signature", "signature must be 64 bytes in hex")
    if manifest["device_id"] != device.id:
        raise ProtocolError("wrong_device", "the manifest names another device")
    if manifest["site_id"] != device.site_id or manifest["kiosk_code"] != device.kiosk_code:
        raise ProtocolError("wrong_site", "the manifest's site or kiosk code is not this device's")
    if not is_valid_number(manifest["number"]) or not manifest["number"].startswith(device.kiosk_code + "-"):
        raise ProtocolError("malformed_manifest", "the dossier number is not one of this kiosk's")
    verify_manifest(manifest, signature, VerifyKey(bytes.fromhex(device.public_key)))
    with services.db() as db, db.begin():
        ack = _stored(services, db, manifest)
        if ack is not None:
            return DeclareResult(True, [], ack)
        upload = db.get(Upload, manifest["id"])
        if upload is None:
            db.add(Upload(dossier_id=manifest["id"], device_id=device.id, manifest=manifest, signature=signature,
                          package_sha256=manifest["package_sha256"], declared_at=services.now()))
        elif upload.device_id != device.id:
            raise ProtocolError("wrong_device", "another device declared this dossier")
        else:
            # A kiosk may re-seal after a local repair; the latest signed manifest wins until commit. Declared
            # again, the upload is fresh again: a kiosk resuming after a long outage keeps what it sent.
            upload.manifest, upload.signature, upload.package_sha256 = manifest, signature, manifest["package_sha256"]
            upload.declared_at = services.now()
        note_captured(services, db, device, manifest["id"], manifest["number"], manifest["status_stub"])
    return DeclareResult(False, _missing(services, manifest))


def _upload(db: Session, device: Device, dossier_id: str) -> Upload:
    upload = db.get(Upload, dossier_id)
    if upload is None or upload.device_id != device.id:
        raise NotFound("not_declared", "declare the package's manifest first")
    return upload


def put_part(services: Services, device: Device, dossier_id: str, index: int, data: bytes) -> list[int]:
    """Store one sealed part after checking it against the declared manifest. Returns what is missing."""
    if len(data) > MAX_PART_BYTES:
        raise ProtocolError("too_large", f"a part is at most {MAX_PART_BYTES} bytes")
    with services.db() as db:
        if db.get(Dossier, dossier_id) is not None:
            return []
        upload = _upload(db, device, dossier_id)
        manifest = upload.manifest
    parts = manifest["parts"]
    if not 0 <= index < len(parts):
        raise ProtocolError("no_such_part", f"this package has parts 0 to {len(parts) - 1}")
    expected = parts[index]
    if len(data) != expected["size"]:
        raise ProtocolError("truncated" if len(data) < expected["size"] else "hash_mismatch",
                            f"part {index} is {len(data)} bytes, the manifest says {expected['size']}")
    if sha256_hex(data) != expected["sha256"]:
        raise ProtocolError("hash_mismatch", f"part {index} does not match the manifest's hash")
    key = part_key(dossier_id, index, expected["sha256"])
    if services.blobs.size(key) != expected["size"]:
        services.blobs.put(key, data)
    return _missing(services, manifest)


def _open_part(services: Services, manifest: dict[str, Any], index: int) -> bytes:
    p = manifest["parts"][index]
    sealed = services.blobs.get(part_key(manifest["id"], index, p["sha256"]))
    if sha256_hex(sealed) != p["sha256"]:
        raise ProtocolError("hash_mismatch", f"stored part {index} no longer matches its hash")
    try:
        return SealedBox(services.keys.sealing).decrypt(sealed)
    except CryptoError as exc:
        raise ProtocolError("not_sealed_to_us", f"part {index} is not sealed to this service's key") from exc


def _refusal(exc: MalformedDossier) -> ProtocolError:
    """The protocol's answer to a dossier the shared model does not read."""
    return ProtocolError("unsupported_schema" if isinstance(exc, UnsupportedSchema) else "malformed_dossier", str(exc))


def _checked_content(services: Services, manifest: dict[str, Any]) -> tuple[CapturedDossier, dict[str, Any]]:
    """Open the package and read it through the shared model, every attachment checked against its hash.

    Returns the dossier as read (attachments left out) and its JSON form as
    the kiosk sent it, which is what the service stores.
    """
    plain = _open_part(services, manifest, 0)
    try:
        captured = CapturedDossier.from_json(plain)
        for key in ("id", "number", "site_id", "kiosk_code"):
            if getattr(captured, key) != manifest[key]:
                raise ProtocolError("malformed_dossier", f"the dossier's {key} differs from the manifest's")
        if len(captured.attachments) != len(manifest["parts"]) - 1:
            raise ProtocolError("malformed_dossier",
                                "the dossier names another number of attachments than the package holds")
        content = json.loads(plain)
        # One attachment at a time, against the hash the dossier lists (part i holds the i-th listed): a
        # package's plaintext is never all in memory at once, however large its parts.
        for index, desc in enumerate(content["attachments"], start=1):
            check_attachment(desc["name"], _open_part(services, manifest, index), desc["sha256"], desc["size"])
    except MalformedDossier as exc:
        raise _refusal(exc) from exc
    return captured, content


def _person(db: Session, captured: CapturedDossier) -> tuple[str, str, date | None]:
    """Names and birth date from the dossier's pré-demande, else from the service's own copy of it."""
    pd = captured.predemande
    if pd is None:
        stored = db.get(Predemande, captured.predemande_number[:16])
        pd = stored.data if stored else {}
    person = pd.get("person") if isinstance(pd.get("person"), dict) else {}
    try:
        born = date.fromisoformat(person.get("birth_date", ""))
    except (TypeError, ValueError):
        born = None
    return str(person.get("surname", ""))[:200], str(person.get("given_names", ""))[:200], born


def commit(services: Services, device: Device, dossier_id: str) -> dict[str, Any]:
    """Turn a complete upload into a dossier, once. Returns the signed acknowledgement."""
    for attempt in (1, 2):
        with services.db() as db:
            stored = db.get(Dossier, dossier_id)
            if stored is not None:
                if stored.device_id != device.id:
                    raise ProtocolError("wrong_device", "another device delivered this dossier")
                return _ack_for(services, stored)
            try:
                upload = _upload(db, device, dossier_id)
            except NotFound:
                if attempt == 1:
                    continue  # a concurrent commit stored it and dropped the upload meanwhile: look again, afresh
                raise
            manifest, signature = upload.manifest, upload.signature
            break
    missing = _missing(services, manifest)
    if missing:
        raise ProtocolError("incomplete", f"parts {missing} are missing")
    try:
        captured, content = _checked_content(services, manifest)
    except BlobMissing as exc:
        # Gone since it was counted: the stale-upload purge ran meanwhile. The kiosk sends it again.
        raise ProtocolError("incomplete", f"a part is missing ({exc})") from exc
    created_at = created_time(manifest["created_at"])
    try:
        with services.db() as db, db.begin():
            surname, given, born = _person(db, captured)
            dossier = Dossier(
                id=dossier_id, number=manifest["number"], site_id=device.site_id, device_id=device.id,
                state=DossierState.RECEIVED.value, created_at=created_at,
                package_sha256=manifest["package_sha256"], manifest=manifest, signature=signature,
                flags=list(manifest["flags"]), predemande_number=captured.predemande_number[:16],
                surname=surname, given_names=given, birth_date=born, content=content,
            )
            db.add(dossier)
            db.flush()  # the primary key decides who wins a concurrent commit
            db.add(DossierEvent(dossier_id=dossier_id, kind="received", actor=device.id,
                                detail=f"{len(manifest['parts'])} parties"))
            db.execute(delete(Upload).where(Upload.dossier_id == dossier_id))
            db.execute(delete(Captured).where(Captured.dossier_id == dossier_id))
            pd = db.get(Predemande, dossier.predemande_number)
            if pd is not None and pd.consumed_by is None:
                pd.status, pd.consumed_by = "consumed", dossier_id
            appointments.enqueue(db, services, dossier, appointments.DECLARE)  # the agency told, after the commit
            ack = _ack_for(services, dossier)
    except IntegrityError:
        with services.db() as db:
            stored = db.get(Dossier, dossier_id)
            if stored is None:
                raise
            if stored.package_sha256 != manifest["package_sha256"]:
                raise Conflict("conflict", "this dossier id is already stored with other content") from None
            return _ack_for(services, stored)
    log.info("dossier received", extra={"dossier": dossier_id, "device": device.id,
                                         "bytes": sum(p["size"] for p in manifest["parts"])})
    return ack


def read_attachment(services: Services, dossier: Dossier, name: str) -> tuple[str, bytes]:
    """Open one attachment of a stored dossier: (media type, plaintext). Callers audit the view."""
    try:
        listed = list(CapturedDossier.from_dict(dossier.content).attachments.values())
    except MalformedDossier as exc:
        raise _refusal(exc) from exc
    for index, attachment in enumerate(listed, start=1):
        if attachment.name == name:
            return attachment.media_type, _open_part(services, dossier.manifest, index)
    raise KeyError(name)


def purge_stale_uploads(services: Services, older_than: timedelta) -> int:
    """Forget uploads never committed, declared more than ``older_than`` ago (a kiosk that still has one
    declares it again). Returns how many.

    Safe beside another process doing the same: each row is deleted only if
    it is still there and still stale, and deleting a part twice is harmless.
    The parts go before the row, so a failure halfway leaves a row that the
    next pass finds again, never parts that nothing points to.
    """
    limit = services.now() - older_than
    with services.db() as db, db.begin():
        stale = list(db.execute(select(Upload.dossier_id, Upload.manifest).where(Upload.declared_at < limit)))
        purged = 0
        for dossier_id, manifest in stale:
            for i, p in enumerate(manifest["parts"]):
                services.blobs.delete(part_key(dossier_id, i, p["sha256"]))
            purged += db.execute(delete(Upload).where(Upload.dossier_id == dossier_id,
                                                      Upload.declared_at < limit)).rowcount
    return purged


class StaleUploadPurge(Housekeeper):
    """:func:`purge_stale_uploads` every ``interval_s`` (a :class:`~central.housekeeping.Housekeeper`), with the
    configuration's ``staging_retention_days``; the first pass runs at start."""

    name = "stale-upload-purge"
    what = "purging stale uploads"

    def __init__(self, services: Services, interval_s: float = PURGE_INTERVAL_S):
        super().__init__(interval_s, log)
        self.services = services
        self.retention = timedelta(days=services.config.staging_retention_days)

    def run_once(self) -> int:
        purged = purge_stale_uploads(self.services, self.retention)
        if purged:
            log.info("stale uploads purged", extra={"count": purged})
        return purged
