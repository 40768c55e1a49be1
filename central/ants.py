"""The national titles agency's coordination API: a pré-demande's status, and the appointments that used it.

The agency (ANTS) runs an "API de coordination des rendez-vous" that mairie
software already calls (betagouv/rdv-service-public, ``app/services/ants_api.rb``):

- ``GET {base}/status?application_ids=NUMBER``, header ``x-rdv-opt-auth-token``,
  answers ``{"NUMBER": {"status": …, "appointments": [{"meeting_point", "meeting_point_id",
  "appointment_date", "management_url"}]}}``;
- ``POST {base}/appointments`` with the query ``application_id``, ``meeting_point``,
  ``meeting_point_id``, ``appointment_date``, ``management_url`` declares one;
- ``DELETE {base}/appointments`` with the same less ``management_url`` removes it.

Only ``validated`` can be used at the counter; the others are refused with
the agency's own words (:data:`REFUSED`). The connector is off unless a base
address is configured (``--ants-url``, ``KIOSK_CENTRAL_ANTS_URL``); its token
comes from the environment alone and is never logged.

Nothing personal goes to the agency: the number it issued, the mairie's
name and code, a time and the citizen's status page, which is what the API
asks for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

log = logging.getLogger("central.ants")

TOKEN_HEADER = "x-rdv-opt-auth-token"
VALIDATED = "validated"
#: The statuses a kiosk is refused with, and what the agency's documentation says each means.
REFUSED = {
    "consumed": "correspond à un dossier déjà instruit",
    "declared": "n'est pas officiellement reconnu par l'ANTS",
    "unknown": "n'est pas reconnu par l'ANTS",
    "expired": "correspond à un dossier expiré",
}
STATUSES = (VALIDATED, *REFUSED)


class AgencyUnavailable(Exception):
    """The agency did not answer in time, or not in its format: the caller goes on as without it."""


@dataclass(frozen=True)
class AgencyStatus:
    """The agency's answer for one number."""

    status: str
    appointments: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Appointment:
    """An appointment as the agency records it: where the pré-demande was used, when, and where to manage it."""

    application_id: str
    meeting_point: str
    meeting_point_id: str
    appointment_date: str  # "YYYY-MM-DD HH:MM:SS" in the mairie's time, as the agency's examples give it
    management_url: str

    def query(self, with_url: bool = True) -> dict[str, str]:
        params = {"application_id": self.application_id, "meeting_point": self.meeting_point,
                  "meeting_point_id": self.meeting_point_id, "appointment_date": self.appointment_date}
        return {**params, "management_url": self.management_url} if with_url else params


def appointment_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


class AntsClient:
    """The agency's API over HTTPS, with a short timeout: a look-up waits for it while a citizen waits."""

    def __init__(self, base_url: str, token: str, timeout_s: float = 3.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport,
                                  headers={TOKEN_HEADER: token, "Accept": "application/json"})

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, params: dict[str, str]) -> Any:
        try:
            answer = self._http.request(method, path, params=params)
        except httpx.HTTPError as exc:
            raise AgencyUnavailable(f"{method} {path}: {type(exc).__name__}") from None
        if answer.status_code in (401, 403):
            log.error("the agency refuses this service's token", extra={"status": answer.status_code})
            raise AgencyUnavailable(f"{method} {path}: {answer.status_code} (the token is refused)")
        if answer.status_code >= 300:
            raise AgencyUnavailable(f"{method} {path}: {answer.status_code}")
        try:
            return answer.json()
        except ValueError:
            raise AgencyUnavailable(f"{method} {path}: the answer is not JSON") from None

    def status(self, number: str) -> AgencyStatus:
        """The agency's status for ``number``; :class:`AgencyUnavailable` if it cannot be had."""
        body = self._call("GET", "/status", {"application_ids": number})
        entry = body.get(number) if isinstance(body, dict) else None
        if not isinstance(entry, dict) or entry.get("status") not in STATUSES:
            raise AgencyUnavailable("GET /status: an answer not in the agency's format")
        appointments = entry.get("appointments") if isinstance(entry.get("appointments"), list) else []
        return AgencyStatus(entry["status"], [a for a in appointments if isinstance(a, dict)][:50])

    def declare(self, appointment: Appointment) -> None:
        self._call("POST", "/appointments", appointment.query())

    def remove(self, appointment: Appointment) -> None:
        self._call("DELETE", "/appointments", appointment.query(with_url=False))
