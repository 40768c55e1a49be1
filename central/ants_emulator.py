"""An emulator of the agency's coordination API, in its published format: for the tests, the demo and training.

``kiosk-central ants-emulator`` serves, on the loopback, what ``central.ants``
calls: ``GET /api/status``, ``POST`` and ``DELETE /api/appointments``, behind
the ``x-rdv-opt-auth-token`` header. Its numbers and their statuses come
from a JSON file (``{"NUMBER": "consumed", …}``, by default the demo
pré-demandes' own), and a number it was not given is ``unknown``, as the
agency answers. A mairie trains on it without the agency; the tests run the
connector against it.

Two more routes let a test or a trainer make the agency misbehave, on the
loopback only: ``PUT /emulator/faults`` (``{"delay_s": 5}`` to answer late,
``{"down": true}`` to answer 503), ``GET /emulator/appointments`` (what
was declared, to check) and ``DELETE /emulator/appointments`` (forget it).
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from central.ants import STATUSES, TOKEN_HEADER
from central.config import LOOPBACK_PROXIES

#: The parameters an appointment is declared with, as the agency's API names them.
APPOINTMENT_FIELDS = ("application_id", "meeting_point", "meeting_point_id", "appointment_date", "management_url")


@dataclass
class Agency:
    """The emulated agency's state: each number's status, the appointments declared, the faults asked for."""

    statuses: dict[str, str]
    appointments: list[dict[str, str]] = field(default_factory=list)
    delay_s: float = 0.0
    down: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def demo_statuses() -> dict[str, str]:
    """The demo pré-demandes' numbers and statuses (``titres/data/demo_predemandes.json``)."""
    records = json.loads((resources.files("titres") / "data" / "demo_predemandes.json").read_text(encoding="utf-8"))
    return {r["number"]: r.get("status", "validated") for r in records}


def load_statuses(path: Path | None) -> dict[str, str]:
    if path is None:
        return demo_statuses()
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(v, str) and v in STATUSES for v in data.values()):
        raise ValueError(f"{path}: a JSON object of numbers and statuses ({', '.join(STATUSES)}) is expected")
    return dict(data)


def create_emulator(token: str, statuses: dict[str, str]) -> FastAPI:
    agency = Agency(dict(statuses))
    app = FastAPI(title="Émulateur de l'API de coordination des rendez-vous (ANTS)", docs_url=None, redoc_url=None)
    app.state.agency = agency

    async def _gate(request: Request) -> JSONResponse | None:
        if agency.delay_s:
            await asyncio.sleep(agency.delay_s)
        if agency.down:
            return JSONResponse({"detail": "Service Unavailable"}, status_code=503)
        if request.headers.get(TOKEN_HEADER) != token:
            return JSONResponse({"detail": "X-RDV-OPT-AUTH-TOKEN header invalid"}, status_code=401)
        return None

    @app.get("/api/status")
    async def status(request: Request):
        refused = await _gate(request)
        if refused is not None:
            return refused
        numbers = [n for value in request.query_params.getlist("application_ids") for n in value.split(",") if n]
        if not numbers:
            return JSONResponse({"detail": "application_ids is required"}, status_code=422)
        with agency.lock:
            return {n: {"status": agency.statuses.get(n, "unknown"),
                        "appointments": [{k: a[k] for k in APPOINTMENT_FIELDS} for a in agency.appointments
                                         if a["application_id"] == n]} for n in numbers[:20]}

    async def _appointment(request: Request, names: tuple[str, ...]) -> dict[str, str] | JSONResponse:
        """The appointment a request names, or the agency's refusal of the request."""
        refused = await _gate(request)
        if refused is not None:
            return refused
        values = {name: request.query_params.get(name, "") for name in names}
        missing = [name for name, value in values.items() if not value]
        if missing:
            return JSONResponse({"detail": f"missing: {', '.join(missing)}"}, status_code=422)
        return values

    @app.post("/api/appointments")
    async def declare(request: Request):
        values = await _appointment(request, APPOINTMENT_FIELDS)
        if isinstance(values, JSONResponse):
            return values
        with agency.lock:
            if values not in agency.appointments:  # declared twice is one appointment
                agency.appointments.append(values)
        return {"success": True}

    @app.delete("/api/appointments")
    async def remove(request: Request):
        values = await _appointment(request, APPOINTMENT_FIELDS[:4])
        if isinstance(values, JSONResponse):
            return values
        with agency.lock:
            kept = [a for a in agency.appointments if any(a[k] != v for k, v in values.items())]
            removed = len(agency.appointments) - len(kept)
            agency.appointments[:] = kept
        return {"rowcount": removed}

    def _loopback(request: Request) -> bool:
        return request.client is not None and request.client.host in LOOPBACK_PROXIES

    @app.put("/emulator/faults")
    async def faults(request: Request):
        if not _loopback(request):
            return JSONResponse({"detail": "loopback only"}, status_code=403)
        try:
            body: Any = json.loads(await request.body() or b"{}")
            delay, down = float(body.get("delay_s", 0)), bool(body.get("down", False))
        except (ValueError, TypeError, AttributeError):
            return JSONResponse({"detail": 'expected {"delay_s": seconds, "down": true|false}'}, status_code=400)
        agency.delay_s, agency.down = max(0.0, min(delay, 120.0)), down
        return {"delay_s": agency.delay_s, "down": agency.down}

    @app.get("/emulator/appointments")
    async def appointments(request: Request):
        if not _loopback(request):
            return JSONResponse({"detail": "loopback only"}, status_code=403)
        with agency.lock:
            return list(agency.appointments)

    @app.delete("/emulator/appointments")
    async def forget(request: Request):
        """A new training session, or a new test: no appointment declared yet."""
        if not _loopback(request):
            return JSONResponse({"detail": "loopback only"}, status_code=403)
        with agency.lock:
            forgotten = len(agency.appointments)
            agency.appointments.clear()
        return {"rowcount": forgotten}

    return app
