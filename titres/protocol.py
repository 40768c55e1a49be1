"""The kiosk ↔ central wire protocol: packages, signed requests, signed acknowledgements.

Both ends import this module, so the bytes that are signed are built by one
function. The full specification, with the reasons, is ``docs/protocol.md``.

* A **package** is a dossier's sealed parts (part 0 is ``dossier.json``,
  then the attachments in name order) and a **manifest** that lists each
  part's size and SHA-256 and is signed with the device's Ed25519 key. The
  signature therefore covers every byte the kiosk sends.
* ``package_sha256`` is the hash of the manifest's part list: the content
  hash both ends report, so an outside check can compare them.
* Every device request is signed too (method, path, time, body hash), so
  only enrolled, unrevoked devices reach the service at all.
* The service answers a stored package with an **acknowledgement** signed
  with its own key; the kiosk keeps it before purging its copy.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

PROTOCOL_VERSION = 1
API = "/api/v1"
#: Bounds the service enforces before reading a body; the kiosk never makes bigger ones.
MAX_MANIFEST_BYTES = 64 * 1024
MAX_PART_BYTES = 16 * 1024 * 1024
MAX_PARTS = 64
MAX_FLAGS = 16
#: A signed request older or newer than this is refused (the answer carries the service's time).
MAX_CLOCK_SKEW_S = 300

H_DEVICE = "X-Kiosk-Device"
H_TIME = "X-Kiosk-Time"
H_SIGNATURE = "X-Kiosk-Signature"

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_NUMBER = re.compile(r"^[0-9A-Z]{2,4}-[0-9A-Z]{5}-[0-9A-Z]$")
_SHORT = re.compile(r"^[A-Za-z0-9_.:+-]{1,64}$")


class ProtocolError(ValueError):
    """A package or request that does not follow the protocol. ``code`` is stable, for clients."""

    def __init__(self, code: str, detail: str):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def canonical(obj: Any) -> bytes:
    """The one JSON form that is hashed and signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes | bytearray | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def package_sha256(parts: list[Mapping[str, Any]]) -> str:
    """Hash of the ordered (size, sha256) list: one value names the exact bytes of a package."""
    return sha256_hex(canonical([[int(p["size"]), p["sha256"]] for p in parts]))


# -- manifests ---------------------------------------------------------------------
MANIFEST_KEYS = {"protocol", "id", "number", "created_at", "site_id", "kiosk_code", "device_id",
                 "flags", "parts", "package_sha256", "status_stub"}


def build_manifest(*, dossier_id: str, number: str, created_at: str, site_id: str, kiosk_code: str,
                   device_id: str, flags: list[str], parts: list[Mapping[str, Any]],
                   status_stub: str) -> dict[str, Any]:
    """The wire manifest. Holds nothing personal: ``status_stub`` is sealed to the service."""
    wire_parts = [{"size": int(p["size"]), "sha256": p["sha256"]} for p in parts]
    return {
        "protocol": PROTOCOL_VERSION, "id": dossier_id, "number": number, "created_at": created_at,
        "site_id": site_id, "kiosk_code": kiosk_code, "device_id": device_id,
        "flags": sorted(set(flags)), "parts": wire_parts, "package_sha256": package_sha256(wire_parts),
        "status_stub": status_stub,
    }


_SHORT_SCHEMA = {"type": "string", "pattern": _SHORT.pattern}
_HEX64_SCHEMA = {"type": "string", "pattern": _HEX64.pattern}
#: The manifest as JSON Schema, for the service's OpenAPI document: the shape :func:`check_manifest` checks
#: (the hashes' agreement and the device's identity it checks too, which no schema says).
MANIFEST_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": sorted(MANIFEST_KEYS),
    "properties": {
        "protocol": {"const": PROTOCOL_VERSION},
        "id": {"type": "string", "pattern": _UUID.pattern, "description": "the dossier's UUIDv7, as in the path"},
        "number": {"type": "string", "pattern": _NUMBER.pattern},
        "created_at": {"type": "string", "maxLength": 40, "description": "ISO 8601"},
        "site_id": _SHORT_SCHEMA, "kiosk_code": _SHORT_SCHEMA, "device_id": _SHORT_SCHEMA,
        "flags": {"type": "array", "maxItems": MAX_FLAGS, "items": _SHORT_SCHEMA},
        "parts": {"type": "array", "minItems": 1, "maxItems": MAX_PARTS, "items": {
            "type": "object", "additionalProperties": False, "required": ["sha256", "size"],
            "properties": {"size": {"type": "integer", "minimum": 1, "maximum": MAX_PART_BYTES},
                           "sha256": _HEX64_SCHEMA}}},
        "package_sha256": {**_HEX64_SCHEMA, "description": "SHA-256 of the canonical JSON of [[size, sha256], …]"},
        "status_stub": {"type": "string", "maxLength": 1024, "description": "the sealed status stub, in hex"},
    },
}


def check_manifest(manifest: Any) -> dict[str, Any]:
    """Validate the shape of a manifest received from the network; return it or raise ProtocolError."""
    if not isinstance(manifest, dict):
        raise ProtocolError("malformed_manifest", "the manifest must be a JSON object")
    if set(manifest) != MANIFEST_KEYS:
        missing, extra = MANIFEST_KEYS - set(manifest), set(manifest) - MANIFEST_KEYS
        raise ProtocolError("malformed_manifest", f"missing {sorted(missing)}, unexpected {sorted(extra)}")
    if manifest["protocol"] != PROTOCOL_VERSION:
        raise ProtocolError("unsupported_protocol", f"protocol {manifest['protocol']!r}, this service speaks {PROTOCOL_VERSION}")
    if not isinstance(manifest["id"], str) or not _UUID.match(manifest["id"]):
        raise ProtocolError("malformed_manifest", "id must be a lower-case UUIDv7")
    if not isinstance(manifest["number"], str) or not _NUMBER.match(manifest["number"]):
        raise ProtocolError("malformed_manifest", "number is not a dossier number")
    for key in ("site_id", "kiosk_code", "device_id"):
        if not isinstance(manifest[key], str) or not _SHORT.match(manifest[key]):
            raise ProtocolError("malformed_manifest", f"{key} must be 1-64 plain characters")
    created_time(manifest["created_at"])
    flags = manifest["flags"]
    if not isinstance(flags, list) or len(flags) > MAX_FLAGS or not all(isinstance(f, str) and _SHORT.match(f) for f in flags):
        raise ProtocolError("malformed_manifest", "flags must be a short list of names")
    parts = manifest["parts"]
    if not isinstance(parts, list) or not 1 <= len(parts) <= MAX_PARTS:
        raise ProtocolError("malformed_manifest", f"a package has 1 to {MAX_PARTS} parts")
    for p in parts:
        if (not isinstance(p, dict) or set(p) != {"size", "sha256"} or not isinstance(p["size"], int)
                or isinstance(p["size"], bool) or not isinstance(p["sha256"], str) or not _HEX64.match(p["sha256"])):
            raise ProtocolError("malformed_manifest", "each part is {size, sha256}")
        if not 0 < p["size"] <= MAX_PART_BYTES:
            raise ProtocolError("too_large", f"a part is at most {MAX_PART_BYTES} bytes")
    if manifest["package_sha256"] != package_sha256(parts):
        raise ProtocolError("hash_mismatch", "package_sha256 does not match the part list")
    if not isinstance(manifest["status_stub"], str) or len(manifest["status_stub"]) > 1024:
        raise ProtocolError("malformed_manifest", "status_stub must be a short hex string")
    return manifest


def created_time(text: Any) -> datetime:
    """A manifest's ``created_at`` as an aware time (a naive one is UTC), or ProtocolError: ISO 8601, at most 40
    characters, and a time UTC can say (``0001-01-01T00:00:00+01:00`` is before year 1 there, and no store
    keeps it)."""
    try:
        if not isinstance(text, str) or len(text) > 40:
            raise ValueError(text)
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
        when.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise ProtocolError("malformed_manifest", "created_at must be an ISO 8601 time") from None
    return when


def sign_manifest(manifest: Mapping[str, Any], key: SigningKey) -> str:
    return key.sign(canonical(manifest)).signature.hex()


@dataclass(frozen=True)
class DeviceSigner:
    """This kiosk's identity as enrolled: signs each package's manifest when the dossier is submitted."""

    device_id: str
    key: SigningKey

    def sign(self, manifest: Mapping[str, Any]) -> str:
        return sign_manifest(manifest, self.key)


def verify_manifest(manifest: Mapping[str, Any], signature_hex: str, key: VerifyKey) -> None:
    try:
        key.verify(canonical(manifest), bytes.fromhex(signature_hex))
    except (BadSignatureError, ValueError, TypeError) as exc:
        raise ProtocolError("bad_signature", "the manifest's signature does not verify with this device's key") from exc


# -- signed requests ---------------------------------------------------------------
@dataclass(frozen=True)
class Package:
    """What is uploaded for one dossier: the wire manifest and the sealed parts, in order.

    Built by the kiosk's outbox, sent by its client; here, beside the manifest it carries."""

    manifest: dict[str, Any]
    parts: list[Callable[[], bytes]]  # read lazily: a package is never all in memory at once
    #: The device's signature made at submit; None for a dossier queued before this kiosk was provisioned.
    signature: str | None = None


def string_to_sign(method: str, path: str, timestamp: int, body: bytes) -> bytes:
    return f"kiosk-request-v1\n{method.upper()}\n{path}\n{timestamp}\n{sha256_hex(body)}".encode()


def sign_request(key: SigningKey, device_id: str, method: str, path: str, body: bytes, timestamp: int) -> dict[str, str]:
    signature = key.sign(string_to_sign(method, path, timestamp, body)).signature.hex()
    return {H_DEVICE: device_id, H_TIME: str(timestamp), H_SIGNATURE: signature}


def verify_request(key: VerifyKey, method: str, path: str, body: bytes, timestamp: int, signature_hex: str,
                   now: float) -> None:
    off = timestamp - int(now)  # in integers: a time of any size is compared, never converted to a float
    if abs(off) > MAX_CLOCK_SKEW_S:
        raise ProtocolError("clock_skew", f"request time is {off} s off the service's clock")
    try:
        key.verify(string_to_sign(method, path, timestamp, body), bytes.fromhex(signature_hex))
    except (BadSignatureError, ValueError, TypeError) as exc:
        raise ProtocolError("bad_signature", "the request's signature does not verify with this device's key") from exc


# -- acknowledgements --------------------------------------------------------------
def make_ack(key: SigningKey, dossier_id: str, package: str, received_at: str) -> dict[str, Any]:
    body = {"type": "dossier-ack", "id": dossier_id, "package_sha256": package, "received_at": received_at}
    return {"ack": body, "signature": key.sign(canonical(body)).signature.hex()}


def verify_ack(ack: Mapping[str, Any], key: VerifyKey, dossier_id: str, package: str) -> None:
    """Refuse an acknowledgement that is not the service's, or not for this exact package."""
    try:
        body = ack["ack"]
        key.verify(canonical(body), bytes.fromhex(ack["signature"]))
    except (KeyError, TypeError, ValueError, BadSignatureError) as exc:
        raise ProtocolError("bad_ack", "the acknowledgement is not signed by the service") from exc
    if body.get("type") != "dossier-ack" or body.get("id") != dossier_id or body.get("package_sha256") != package:
        raise ProtocolError("bad_ack", "the acknowledgement names another package")
