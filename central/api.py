"""The HTTP API: kiosks (enrollment, pré-demandes, packages, heartbeats, help requests), the citizen's status, health.

Device requests are authenticated by their signature (``titres.protocol``):
the body is read whole, bounded, *before* any handler sees it, and the
signature checked against the device's enrolled key. Errors are JSON
``{"error": code, "detail": text}`` with a stable ``code`` a kiosk can act
on; a clock-skew refusal also carries ``server_time`` so the kiosk can
correct its offset and retry.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from nacl.signing import VerifyKey
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from central import __version__, audit, enrollment, fleet, help_requests, ingest, status, throttle
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

_HTTP_STATUS = {
    "unknown_device": 401, "bad_signature": 401, "clock_skew": 401, "revoked": 403, "wrong_device": 403,
    "wrong_site": 403, "bad_token": 403, "key_in_use": 409, "conflict": 409, "too_large": 413,
    "not_declared": 404, "too_many_attempts": 429, "not_found": 404, "no_such_part": 404, "gone": 410, "incomplete": 409,
}


def _error(request: Request, code: str, detail: str, **extra: Any) -> JSONResponse:
    """The API's refusal: its code and detail as JSON, the code also in the request's log line."""
    refusal_code(request.scope, code)
    return JSONResponse({"error": code, "detail": detail, **extra}, status_code=_HTTP_STATUS.get(code, 400),
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
        return _error(request, exc.code, exc.detail, **extra)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise ProtocolError("malformed_json", "the body is not JSON") from None


# -- public ------------------------------------------------------------------------
@router.get("/healthz")
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


@router.get(f"{API}/service")
def service_info(request: Request) -> dict[str, Any]:
    """What a technician's provisioning checks before it enrolls: keys and protocol."""
    services = _services(request)
    return {"protocol": PROTOCOL_VERSION, "version": __version__, "time": int(services.clock()),
            "sealing_public_key": services.keys.sealing_public_hex, "verify_key": services.keys.verify_hex}


@router.get(f"{API}/status")
def citizen_status(request: Request, number: str = "", birth_date: str = "") -> JSONResponse:
    if len(number) > 40 or len(birth_date) > 20:
        return _error(request, "malformed", "number or birth_date too long")
    try:
        found = status.lookup(_services(request), number, birth_date, client_address(request))
    except throttle.Throttled as exc:
        response = _error(request, "too_many_attempts", f"too many tries from this client; try again in "
                          f"{exc.minutes} min", retry_after_s=exc.retry_after_s)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    if found is None:
        return _error(request, "not_found", "no dossier with this number and this date of birth")
    return JSONResponse(found, headers={"Cache-Control": "no-store"})


# -- kiosks ------------------------------------------------------------------------
@router.post(f"{API}/enroll")
async def enroll(request: Request) -> Response:
    services = _services(request)
    try:
        body = _json(await _body(request, 4096))
        if not isinstance(body, dict):
            raise ProtocolError("malformed_json", "the body is a JSON object")
        device = await run_in_threadpool(enrollment.enroll, services, body.get("token"), body.get("public_key", ""),
                                         body.get("hostname", ""), body.get("software_version", ""))
    except ProtocolError as exc:
        return _error(request, exc.code, exc.detail)
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


@router.get(API + "/predemandes/{number}")
async def predemande(request: Request, number: str) -> Response:
    def work(services: Services, device: Device, body: bytes) -> Response:
        if len(number) > 16:
            raise ProtocolError("malformed", "a pré-demande number is at most 16 characters")
        with services.db() as db, db.begin():
            data = for_kiosk(db, number)
            audit.record(db, actor=device.kiosk_code, role="device", action="predemande_read",
                         detail=f"{number} : {data['status'] if data else 'inconnue'} ; borne {device.kiosk_code} "
                                f"({device.id}), mairie {device.site_id}")
        if data is None:
            raise ProtocolError("not_found", "no pré-demande with this number")
        return JSONResponse(data, status_code=410 if data["status"] in UNUSABLE else 200,
                            headers={"Cache-Control": "no-store"})

    return await _device_call(request, 0, work)


@router.put(API + "/packages/{dossier_id}")
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


@router.put(API + "/packages/{dossier_id}/parts/{index}")
async def put_part(request: Request, dossier_id: str, index: int) -> Response:
    def work(services: Services, device: Device, body: bytes) -> Response:
        return JSONResponse({"missing": ingest.put_part(services, device, dossier_id, index, body)})

    return await _device_call(request, MAX_PART_BYTES, work)


@router.post(API + "/packages/{dossier_id}/commit")
async def commit(request: Request, dossier_id: str) -> Response:
    def work(services: Services, device: Device, body: bytes) -> Response:
        return JSONResponse(ingest.commit(services, device, dossier_id))

    return await _device_call(request, 0, work)


@router.post(f"{API}/heartbeat")
async def heartbeat(request: Request) -> Response:
    def work(services: Services, device: Device, body: bytes) -> Response:
        fleet.record_heartbeat(services, device, _json(body))
        return JSONResponse({"server_time": int(services.clock()),
                             "received_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})

    return await _device_call(request, 256 * 1024, work)



@router.post(f"{API}/help")
async def help_request(request: Request) -> Response:
    """A citizen's « Besoin d'aide ? »: an idempotent upsert by the kiosk's id (``central.help_requests``)."""
    def work(services: Services, device: Device, body: bytes) -> Response:
        answer = help_requests.report(services, device, help_requests.parse_report(body))
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    return await _device_call(request, help_requests.MAX_REPORT_BYTES, work)
