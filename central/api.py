"""The HTTP API: kiosks (enrollment, pré-demandes, packages, heartbeats, help requests), the citizen's status, health.

Device requests are authenticated by their signature (``titres.protocol``):
the body is read whole, bounded, *before* any handler sees it, and the
signature checked against the device's enrolled key. Errors are JSON
``{"error": code, "detail": text}`` with a stable ``code`` a kiosk can act
on; a clock-skew refusal also carries ``server_time`` so the kiosk can
correct its offset and retry.

FastAPI cannot see bodies read raw, so each route declares for the OpenAPI
document (``/openapi.json``) its body, its headers and its refusals
(:func:`documented`, the schemas in ``central.api_schemas``), the refusals
from the very table the answers take their status from (:data:`REFUSALS`).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from nacl.signing import VerifyKey
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from central import (__version__, agency, ants, api_schemas, audit, enrollment, fleet, help_requests, ingest,
                     status, throttle)
from central.clients import client_address
from central.context import Services
from central.models import Device, Site
from central.predemandes import UNUSABLE, for_kiosk
from central.requestlog import refusal_code
from titres.protocol import (API, H_DEVICE, H_SIGNATURE, H_TIME, MAX_MANIFEST_BYTES, MAX_PART_BYTES,
                                 PROTOCOL_VERSION, ProtocolError, verify_request)

router = APIRouter()
log = logging.getLogger("central.api")
#: A request's time: decimal digits only, no sign, space or underscore, and no more than a Unix time has.
_UNIX_TIME = re.compile(r"[0-9]{1,12}")

#: Every refusal the API answers: its code, its HTTP status and what it means. ``refusal`` answers with the status,
#: and the OpenAPI document lists each route's refusals from here (:func:`documented`), so the two cannot drift.
REFUSALS: dict[str, tuple[int, str]] = {
    "malformed": (400, "a path, query or header parameter out of its bounds, or text no database stores (a NUL, "
                       "a lone surrogate)"),
    "malformed_json": (400, "the body is not JSON, not UTF-8, or not the JSON object expected"),
    "malformed_key": (400, "public_key is not 32 bytes in hex"),
    "malformed_manifest": (400, "the manifest is not of the protocol's shape, or names another id than the path"),
    "unsupported_protocol": (400, "the manifest is of another protocol version"),
    "malformed_heartbeat": (400, "a heartbeat value of the wrong type or out of its bounds"),
    "malformed_help": (400, "not exactly {id, state, screen, waiting_s, on_screen_s}, each within its bounds"),
    "truncated": (400, "the part is shorter than the manifest declares"),
    "hash_mismatch": (400, "a part, or the part list, does not match the manifest's hashes"),
    "not_sealed_to_us": (400, "a part is not sealed to this service's key"),
    "malformed_dossier": (400, "the dossier is not one the shared model reads (the detail names the field)"),
    "unsupported_schema": (400, "the dossier is of a schema this service does not read"),
    "unknown_device": (401, "this device is not enrolled"),
    "bad_signature": (401, "the request's (or the manifest's) signature does not verify, or X-Kiosk-Time is not "
                           "a Unix time"),
    "clock_skew": (401, "X-Kiosk-Time is too far off the service's clock (server_time says the service's)"),
    "revoked": (403, "this device has been revoked"),
    "wrong_device": (403, "the manifest, the upload or the stored dossier is another device's"),
    "wrong_site": (403, "the manifest names another mairie or kiosk code than this device's"),
    "bad_token": (403, "the enrollment token is unknown, expired or already used"),
    "not_found": (404, "no such pré-demande, or no dossier of this number and this date of birth"),
    "not_declared": (404, "this device declared no such package"),
    "no_such_part": (404, "the package has no part of this index"),
    "conflict": (409, "this id is already stored with other content, or is another kiosk's"),
    "incomplete": (409, "parts of the package are missing"),
    "key_in_use": (409, "this public key is already enrolled"),
    "too_large": (413, "the body, or a declared part, is over its bound"),
    "too_many_attempts": (429, "this client must wait (retry_after_s, and the Retry-After header)"),
}
#: What any signed request may be refused, whatever its route: its signature, its size (``_device_call``), text no
#: database stores (``central.app``).
SIGNED_REFUSALS = ("malformed", "unknown_device", "bad_signature", "clock_skew", "revoked", "too_large")
#: The fields some refusals carry beside ``error`` and ``detail``.
_REFUSAL_FIELDS = {"clock_skew": {"server_time": {"type": "integer"}},
                   "too_many_attempts": {"retry_after_s": {"type": "integer"}}}


def documented(*refusals: str, answers: dict[int, tuple[str, dict[str, Any]]], body: dict[str, Any] | None = None,
               media_type: str = "application/json", signed: bool = False) -> dict[str, Any]:
    """What a route's decorator is given for the OpenAPI document: ``responses`` and ``openapi_extra``.

    ``answers`` are its successful answers (status: description, JSON Schema); ``refusals`` its error codes
    (with :data:`SIGNED_REFUSALS` and the signed headers when ``signed``), each status described with its codes
    and the API's error shape, the code an enum of them; ``body`` the request body's schema. How the request
    is read is unchanged: the route still reads its raw body.
    """
    codes = sorted({*refusals, *(SIGNED_REFUSALS if signed else ())}, key=lambda code: (REFUSALS[code][0], code))
    responses: dict[int, dict[str, Any]] = {
        answer: {"description": text, "content": {"application/json": {"schema": schema}}}
        for answer, (text, schema) in answers.items()}
    for refused in dict.fromkeys(REFUSALS[code][0] for code in codes):
        group = [code for code in codes if REFUSALS[code][0] == refused]
        fields = {name: kind for code in group for name, kind in _REFUSAL_FIELDS.get(code, {}).items()}
        responses[refused] = {
            "description": "; ".join(f"`{code}`: {REFUSALS[code][1]}" for code in group),
            "content": {"application/json": {"schema": {
                "type": "object", "required": ["error", "detail"],
                "properties": {"error": {"enum": group}, "detail": {"type": "string"}, **fields}}}}}
    extra: dict[str, Any] = {}
    if signed:
        extra["parameters"] = api_schemas.SIGNED_HEADERS
    if body is not None:
        extra["requestBody"] = {"required": True, "content": {media_type: {"schema": body}}}
    return {"responses": responses, "openapi_extra": extra}


def openapi(app: FastAPI) -> dict[str, Any]:
    """``/openapi.json``: FastAPI's document, less the 422 it gives every route that has parameters, under
    /api/ only: there a malformed path or query is refused 400 ``malformed`` (``central.app``), which each
    route that can meet one lists."""
    if app.openapi_schema is None:
        for path, operations in FastAPI.openapi(app)["paths"].items():
            if path.startswith(f"{API}/"):
                for operation in operations.values():
                    operation["responses"].pop("422", None)
    return app.openapi_schema


def refusal(request: Request, code: str, detail: str, **extra: Any) -> JSONResponse:
    """The API's refusal: its code and detail as JSON, the code also in the request's log line (``central.app``
    answers with it too, for what no route sees: a malformed path or query, text no database stores)."""
    refusal_code(request.scope, code)
    return JSONResponse({"error": code, "detail": detail, **extra}, status_code=REFUSALS.get(code, (400,))[0],
                        headers={"Cache-Control": "no-store"})


def _services(request: Request) -> Services:
    return request.app.state.services


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused beyond ``limit`` bytes without reading the rest."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise ProtocolError("too_large", f"the body is limited to {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ProtocolError("too_large", f"the body is limited to {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _authenticate(services: Services, method: str, path: str, headers, body: bytes) -> Device:
    device_id = headers.get(H_DEVICE, "")
    stamp = headers.get(H_TIME, "")
    if not _UNIX_TIME.fullmatch(stamp):  # int() would take " +1_0" and 400 digits
        raise ProtocolError("bad_signature", f"{H_TIME} must be a Unix time in seconds (at most 12 digits)")
    timestamp = int(stamp)
    with services.db() as db:
        device = db.get(Device, device_id[:64]) if device_id else None
    if device is None:
        raise ProtocolError("unknown_device", "this device is not enrolled")
    verify_request(VerifyKey(bytes.fromhex(device.public_key)), method, path, body, timestamp,
                   headers.get(H_SIGNATURE, ""), services.clock())
    if device.revoked_at is not None:
        raise ProtocolError("revoked", "this device has been revoked; a technician must enroll it again")
    return device


async def _device_call(request: Request, limit: int, work) -> Response:
    """Read, authenticate, then run ``work(services, device, body)`` off the event loop."""
    services = _services(request)
    try:
        body = await _body(request, limit)
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        device = await run_in_threadpool(_authenticate, services, request.method, path, request.headers, body)
        return await run_in_threadpool(work, services, device, body)
    except ProtocolError as exc:
        extra = {"server_time": int(services.clock())} if exc.code == "clock_skew" else {}
        return refusal(request, exc.code, exc.detail, **extra)


def _agency_in_audit(checked) -> str:
    """For the audit: what the agency said of the number, if it was asked."""
    if checked is None:
        return ""
    return f" ; ANTS : {checked.status}" if checked.status else " ; ANTS : non vérifié (pas de réponse)"


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # nested deeper than the reader goes: 2 KiB of "[" are enough
        raise ProtocolError("malformed_json", "the body is not JSON") from None


# -- public ------------------------------------------------------------------------
@router.get("/healthz", responses={
    200: {"description": "the database and the blob store answer", "content": {"application/json": {
        "schema": api_schemas.HEALTH}}},
    503: {"description": "degraded: the failing check says its error", "content": {"application/json": {
        "schema": api_schemas.HEALTH}}}})
def healthz(request: Request) -> JSONResponse:
    services = _services(request)
    checks = {}
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["db"] = "ok"
    except Exception as exc:  # any failure is the answer here
        checks["db"] = f"error: {type(exc).__name__}"
    try:
        services.blobs.check()
        checks["blobs"] = "ok"
    except Exception as exc:
        checks["blobs"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "degraded", "version": __version__, **checks},
                        status_code=200 if ok else 503)


@router.get(f"{API}/service", **documented(answers={200: ("keys and protocol", api_schemas.SERVICE)}))
def service_info(request: Request) -> dict[str, Any]:
    """What a technician's provisioning checks before it enrolls: keys and protocol."""
    services = _services(request)
    return {"protocol": PROTOCOL_VERSION, "version": __version__, "time": int(services.clock()),
            "sealing_public_key": services.keys.sealing_public_hex, "verify_key": services.keys.verify_hex}


@router.get(f"{API}/status", **documented("malformed", "not_found", "too_many_attempts", answers={
    200: ("the dossier's state, for the citizen", api_schemas.STATUS)}))
def citizen_status(request: Request, number: str = "", birth_date: str = "") -> JSONResponse:
    if len(number) > 40 or len(birth_date) > 20:
        return refusal(request, "malformed", "number or birth_date too long")
    try:
        found = status.lookup(_services(request), number, birth_date, client_address(request))
    except throttle.Throttled as exc:
        response = refusal(request, "too_many_attempts", f"too many tries from this client; try again in "
                           f"{exc.minutes} min", retry_after_s=exc.retry_after_s)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    if found is None:
        return refusal(request, "not_found", "no dossier with this number and this date of birth")
    return JSONResponse(found, headers={"Cache-Control": "no-store"})


# -- kiosks ------------------------------------------------------------------------
@router.post(f"{API}/enroll", status_code=201, **documented(
    "malformed", "malformed_json", "malformed_key", "bad_token", "key_in_use", "too_large", body=api_schemas.ENROLL,
    answers={201: ("enrolled: the device's id and code, its mairie, the service's keys", api_schemas.ENROLLED)}))
async def enroll(request: Request) -> Response:
    services = _services(request)
    try:
        body = _json(await _body(request, 4096))
        if not isinstance(body, dict):
            raise ProtocolError("malformed_json", "the body is a JSON object")
        device = await run_in_threadpool(enrollment.enroll, services, body.get("token"), body.get("public_key", ""),
                                         body.get("hostname", ""), body.get("software_version", ""))
    except ProtocolError as exc:
        return refusal(request, exc.code, exc.detail)
    with services.db() as db:
        site = db.get(Site, device.site_id)
    # The status page only when the service knows the address citizens reach it at: a kiosk may enroll
    # through an internal one, which printed on a receipt would send a citizen nowhere.
    public = services.config.public_url
    return JSONResponse(status_code=201, content={
        "device_id": device.id, "kiosk_code": device.kiosk_code,
        "site": {"id": site.id, "name": site.name, "address": site.address, "opening_hours": site.opening_hours,
                 "default_language": site.default_language, "timezone": site.timezone,
                 "status_url": f"{public}/statut" if public else ""},
        "sealing_public_key": services.keys.sealing_public_hex, "verify_key": services.keys.verify_hex,
        "protocol": PROTOCOL_VERSION,
    })


@router.get(API + "/predemandes/{number}", **documented("not_found", signed=True, answers={
    200: ("what the kiosk shows and its rules read", api_schemas.PREDEMANDE),
    410: ("consumed or expired, or refused by the agency (consumed, declared, unknown, expired): its number and "
          "status alone", api_schemas.UNUSABLE_PREDEMANDE)}))
async def predemande(request: Request, number: str) -> Response:
    def work(services: Services, device: Device, body: bytes) -> Response:
        if len(number) > 16:
            raise ProtocolError("malformed", "a pré-demande number is at most 16 characters")
        # The agency first, when the connector is on (central.agency): its refusal wins over the service's copy.
        checked = agency.check(services, number) if services.ants is not None else None
        with services.db() as db, db.begin():
            data = for_kiosk(db, number)
            audit.record(db, actor=device.kiosk_code, role="device", action="predemande_read",
                         detail=f"{number} : {data['status'] if data else 'inconnue'}"
                                f"{_agency_in_audit(checked)} ; borne {device.kiosk_code} ({device.id}), "
                                f"mairie {device.site_id}")
        headers = {"Cache-Control": "no-store"}
        if checked is not None and checked.refused:
            return JSONResponse({"number": number, "status": checked.status}, status_code=410, headers=headers)
        if data is None:
            if checked is not None and checked.status == ants.VALIDATED:  # the agency's, not copied here
                return JSONResponse({"number": number, "status": ants.VALIDATED, "held": False}, headers=headers)
            raise ProtocolError("not_found", "no pré-demande with this number")
        return JSONResponse(data, status_code=410 if data["status"] in UNUSABLE else 200, headers=headers)

    return await _device_call(request, 0, work)


@router.put(API + "/packages/{dossier_id}", **documented(
    "malformed_json", "malformed_manifest", "unsupported_protocol", "hash_mismatch", "wrong_device", "wrong_site",
    "conflict", signed=True, body=api_schemas.DECLARE, answers={
        200: ("the parts still missing, or (complete) the stored dossier's acknowledgement", api_schemas.DECLARED)}))
async def declare(request: Request, dossier_id: str) -> Response:
    def work(services: Services, device: Device, body: bytes) -> Response:
        payload = _json(body)
        if not isinstance(payload, dict):
            raise ProtocolError("malformed_json", "the body is {manifest, signature}")
        manifest = payload.get("manifest")
        if not isinstance(manifest, dict) or manifest.get("id") != dossier_id:
            raise ProtocolError("malformed_manifest", "the manifest's id is not the one in the path")
        result = ingest.declare(services, device, manifest, payload.get("signature"))
        return JSONResponse({"complete": result.complete, "missing": result.missing, "ack": result.ack})

    return await _device_call(request, MAX_MANIFEST_BYTES, work)


@router.put(API + "/packages/{dossier_id}/parts/{index}", **documented(
    "truncated", "hash_mismatch", "not_declared", "no_such_part", signed=True, body=api_schemas.PART,
    media_type="application/octet-stream", answers={200: ("stored: the parts still missing", api_schemas.PART_STORED)}))
async def put_part(request: Request, dossier_id: str, index: int) -> Response:
    def work(services: Services, device: Device, body: bytes) -> Response:
        return JSONResponse({"missing": ingest.put_part(services, device, dossier_id, index, body)})

    return await _device_call(request, MAX_PART_BYTES, work)


@router.post(API + "/packages/{dossier_id}/commit", **documented(
    "malformed_manifest", "hash_mismatch", "not_sealed_to_us", "malformed_dossier", "unsupported_schema",
    "wrong_device", "not_declared", "incomplete", "conflict", signed=True, answers={
        200: ("stored once: the service's signed acknowledgement", api_schemas.ACK)}))
async def commit(request: Request, dossier_id: str) -> Response:
    def work(services: Services, device: Device, body: bytes) -> Response:
        return JSONResponse(ingest.commit(services, device, dossier_id))

    return await _device_call(request, 0, work)


@router.post(f"{API}/heartbeat", **documented(
    "malformed_json", "malformed_heartbeat", signed=True, body=api_schemas.HEARTBEAT,
    answers={200: ("recorded: the service's time", api_schemas.HEARD)}))
async def heartbeat(request: Request) -> Response:
    def work(services: Services, device: Device, body: bytes) -> Response:
        fleet.record_heartbeat(services, device, _json(body))
        return JSONResponse({"server_time": int(services.clock()),
                             "received_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})

    return await _device_call(request, 256 * 1024, work)



@router.post(f"{API}/help", **documented(
    "malformed_json", "malformed_help", "conflict", signed=True, body=api_schemas.HELP_REPORT,
    answers={200: ("the request's state, as the kiosk shows it", api_schemas.HELP_ANSWER)}))
async def help_request(request: Request) -> Response:
    """A citizen's « Besoin d'aide ? »: an idempotent upsert by the kiosk's id (``central.help_requests``)."""
    def work(services: Services, device: Device, body: bytes) -> Response:
        answer = help_requests.report(services, device, help_requests.parse_report(body))
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    return await _device_call(request, help_requests.MAX_REPORT_BYTES, work)
