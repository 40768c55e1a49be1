"""What the kiosk API reads and answers, as JSON Schema, for its OpenAPI document (``/openapi.json``).

The routes read their bodies raw (a device request is signed over its exact
bytes), so FastAPI cannot infer them: each schema here is built from the
bounds its reader enforces (``titres.protocol.check_manifest``,
``central.help_requests.parse_report``, ``central.fleet.record_heartbeat``,
``central.enrollment.enroll``), and states what they accept, never more.
The refusals are listed per route by ``central.api.documented``.
"""

from __future__ import annotations

from typing import Any

from central import fleet, help_requests
from titres.protocol import H_DEVICE, H_SIGNATURE, H_TIME, MANIFEST_SCHEMA, MAX_CLOCK_SKEW_S

HEX64 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}

#: The headers of every device request (``titres.protocol.sign_request``).
SIGNED_HEADERS = [
    {"name": H_DEVICE, "in": "header", "required": True, "description": "the device id given at enrollment",
     "schema": {"type": "string", "maxLength": 64}},
    {"name": H_TIME, "in": "header", "required": True,
     "description": f"the request's Unix time in seconds, within {MAX_CLOCK_SKEW_S} s of the service's clock",
     "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"}},
    {"name": H_SIGNATURE, "in": "header", "required": True,
     "description": 'hex(Ed25519(device key, "kiosk-request-v1\\n" METHOD "\\n" PATH?QUERY "\\n" TIME "\\n" '
                    'hex(SHA-256(body))))',
     "schema": {"type": "string", "pattern": "^[0-9a-f]{128}$"}},
]

ENROLL = {
    "type": "object", "required": ["token", "public_key"],
    "properties": {"token": {"type": "string", "minLength": 8, "maxLength": 100},
                   "public_key": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$",
                                  "description": "the kiosk's Ed25519 public key, in hex"},
                   "hostname": {"type": "string", "maxLength": 100},
                   "software_version": {"type": "string", "maxLength": 40}},
}
DECLARE = {
    "type": "object", "required": ["manifest", "signature"],
    "properties": {"manifest": MANIFEST_SCHEMA,
                   "signature": {"type": "string", "pattern": "^[0-9a-f]{128}$",
                                 "description": "the device's Ed25519 signature of the manifest's canonical JSON"}},
}
PART = {"type": "string", "format": "binary", "description": "the sealed part, as the manifest declares it"}

_COUNT = {"type": "integer", "minimum": 0, "maximum": 10**9}
HEARTBEAT = {
    "type": "object",
    "properties": {
        "software_version": {"type": "string", "maxLength": 40},
        "queue": {"type": "object", "additionalProperties": False,
                  "properties": {state: _COUNT for state in fleet.STATES}},
        "oldest_queued_age_s": _COUNT,
        "free_bytes": {"type": "integer", "minimum": 0, "maximum": 2**60},
        "corrupt": {"type": "array", "items": {"type": "string"}, "maxItems": 50},
        "selftest": {"type": ["object", "null"],
                     "properties": {"ok": {"type": "boolean"},
                                    "devices": {"type": "object", "additionalProperties": {"type": "string"}}}},
        "last_error": {"type": ["string", "null"]},
        "captured": {"type": "array", "maxItems": fleet.MAX_CAPTURED, "items": {
            "type": "object", "required": ["id", "number", "status_stub"],
            "properties": {"id": {"type": "string"}, "number": {"type": "string"},
                           "status_stub": {"type": "string"}}}},
    },
}

_SECONDS = {"type": "number", "minimum": 0, "maximum": help_requests.MAX_SECONDS}
HELP_REPORT = {
    "type": "object", "additionalProperties": False, "required": sorted(help_requests.REPORT_KEYS),
    "properties": {"id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                   "state": {"enum": ["open", "closed"]},
                   "screen": {"enum": list(help_requests.SCREENS)},
                   "waiting_s": _SECONDS, "on_screen_s": _SECONDS},
}


def _object(*required: str, **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": properties}


_TEXT = {"type": "string"}
_TEXTS = {"type": "array", "items": _TEXT}
HEALTH = _object("status", "version", "db", "blobs", status={"enum": ["ok", "degraded"]}, version=_TEXT, db=_TEXT,
                 blobs=_TEXT)
SERVICE = _object("protocol", "version", "time", "sealing_public_key", "verify_key", protocol={"type": "integer"},
                  version=_TEXT, time={"type": "integer"}, sealing_public_key=HEX64, verify_key=HEX64)
STATUS = _object("number", "state", "label_fr", "label_en", "updated_at", "reasons_fr", "reasons_en", number=_TEXT,
                 state={"enum": ["captured", "received", "validated", "returned", "sent"]}, label_fr=_TEXT,
                 label_en=_TEXT, updated_at={"type": ["string", "null"]}, reasons_fr=_TEXTS, reasons_en=_TEXTS)
ENROLLED = _object("device_id", "kiosk_code", "site", "sealing_public_key", "verify_key", "protocol",
                   device_id=_TEXT, kiosk_code=_TEXT, sealing_public_key=HEX64, verify_key=HEX64,
                   protocol={"type": "integer"},
                   site=_object("id", "name", "address", "opening_hours", "default_language", "timezone",
                                "status_url", id=_TEXT, name=_TEXT, address=_TEXT, opening_hours=_TEXT,
                                default_language=_TEXT, timezone=_TEXT, status_url=_TEXT))
PREDEMANDE = {"anyOf": [
    _object("number", "status", "person", number=_TEXT, status=_TEXT, person={"type": "object"}),
    # validated by the agency (central.ants), but this service holds no copy of its form: the kiosk asks instead
    {**_object("number", "status", "held", number=_TEXT, status={"const": "validated"}, held={"const": False}),
     "additionalProperties": False}]}
#: consumed or expired in the service's copy; or the agency's refusal: consumed, declared, unknown, expired.
UNUSABLE_PREDEMANDE = {**_object("number", "status", number=_TEXT,
                                 status={"enum": ["consumed", "declared", "unknown", "expired"]}),
                       "additionalProperties": False}
ACK = _object("ack", "signature", signature={"type": "string", "pattern": "^[0-9a-f]{128}$"},
              ack=_object("type", "id", "package_sha256", "received_at", type={"const": "dossier-ack"}, id=_TEXT,
                          package_sha256=HEX64, received_at=_TEXT))
MISSING = {"type": "array", "items": {"type": "integer", "minimum": 0}}
DECLARED = _object("complete", "missing", "ack", complete={"type": "boolean"}, missing=MISSING,
                   ack={"anyOf": [ACK, {"type": "null"}]})
PART_STORED = _object("missing", missing=MISSING)
HEARD = _object("server_time", "received_at", server_time={"type": "integer"}, received_at=_TEXT)
HELP_ANSWER = _object("id", "state", "acknowledged_at_s_ago", id=_TEXT,
                      state={"enum": ["open", "acknowledged", "closed"]},
                      acknowledged_at_s_ago={"type": ["integer", "null"], "minimum": 0})
