"""No request gets a 500 (docs/central.md, "Security"): schemathesis runs every operation of the service's OpenAPI
document against the application, in process.

Each operation gets a bounded number of requests, positive and negative alike, the same ones at every run (a
fixed seed: derandomized, no example database, no deadline). No answer may be a server error; on the kiosk API
(``/api/v1``, ``/healthz``) each must also be a status the document lists for its route, with the body the
document describes (the refusals are ``central.api.documented``'s).

The fuzzer is let in where it matters. Three device requests in four are signed by an enrolled kiosk, over the
very bytes sent, and carry what that kiosk would: its identity and its signature in a declared manifest, the
package it declared in a part's or a commit's path. The fourth keeps the fuzzer's headers, a stranger's. Three
enrollments in four carry a fresh token. The console's pages and forms are asked with a signed-in account's
session and CSRF token (an administrator's under ``/console/admin`` and ``/console/fleet``, a supervisor's
elsewhere), opened again when a request ended it.

SQLite only: what a request reaches is the code's, not the SQL's, and the one difference between the engines
that a request could meet, text PostgreSQL refuses, is refused on both (``central.db``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import pytest
import requests
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from central import accounts
from central.app import create_app
from central.console.access import SESSION_COOKIE
from central.console.auth import LOGIN_COOKIE
from central.context import Services
from central.enrollment import create_token
from central.models import Site
from central.predemandes import demo_records, import_records
from factory import PASSWORD, Kiosk, add_account, enroll_kiosk
from titres.ids import dossier_number
from titres.protocol import (API, H_SIGNATURE, build_manifest, canonical, package_sha256, sha256_hex,
                             sign_manifest, sign_request)

#: Requests per operation: the kiosk API's, and the console's and the status page's. The whole file runs in
#: about 15 s on two cores, 35 s in the loaded suite; fewer examples rather than more time.
API_EXAMPLES, PAGE_EXAMPLES = 20, 5
#: Where answers must also be what the document says (the console's pages are documented by FastAPI alone).
CONFORMING = (API, "/healthz")


@pytest.fixture
def db_url():
    """The fuzzed service is on SQLite alone (conftest's ``db_url`` runs every test on both engines)."""
    return ""


def _requests_only(app):
    """The application as the fuzzer reaches it: requests only. Schemathesis would run the lifespan (the
    housekeeping threads) and keep it until the process ends; an application that raises on the lifespan scope
    has none, by the ASGI specification."""
    async def serve(scope, receive, send):
        if scope["type"] == "lifespan":
            raise RuntimeError("no lifespan")
        await app(scope, receive, send)
    return serve


@dataclass
class Fuzzed:
    """The service under the fuzzer, and what lets the fuzzer in."""

    services: Services
    kiosk: Kiosk
    declared: str  # the id of a package the kiosk declared (two parts, none sent)
    sessions: dict[str, str]  # username → session token
    turns: itertools.count

    def as_the_kiosk(self) -> bool:
        """Three requests in four are the kiosk's (or carry a token), the fourth a stranger's."""
        return next(self.turns) % 4 != 3

    def session(self, username: str) -> accounts.Account:
        """The account's session, opened again if a request ended it (a logout, a password changed)."""
        account = accounts.authenticate(self.services, self.sessions.get(username), refresh=False)
        if account is None:
            self.sessions[username], _ = accounts.login(self.services, username, PASSWORD)
            account = accounts.authenticate(self.services, self.sessions[username], refresh=False)
        return account


class SignedByKiosk(requests.auth.AuthBase):
    """Signs a request as the kiosk's client does, over the path the service reads and the bytes sent."""

    def __init__(self, kiosk: Kiosk, now: float):
        self.kiosk, self.now = kiosk, int(now)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        url = urlsplit(request.url)
        path = unquote(url.path) + (f"?{url.query}" if url.query else "")
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        request.headers.update(sign_request(self.kiosk.key, self.kiosk.device_id, request.method, path, body,
                                            self.now))
        return request


@pytest.fixture
def fuzzed(services, tmp_path):
    http = TestClient(create_app(services), base_url="http://testserver")
    kiosk = enroll_kiosk(services, http, tmp_path / "kiosk")
    import_records(services, demo_records())
    parts = [{"size": 10, "sha256": sha256_hex(b"0" * 10)}, {"size": 20, "sha256": sha256_hex(b"1" * 20)}]
    manifest = build_manifest(dossier_id="01900000-0000-7000-8000-000000000001",
                              number=dossier_number(kiosk.kiosk_code, 1), created_at="2026-01-05T09:00:00+00:00",
                              site_id=kiosk.site_id, kiosk_code=kiosk.kiosk_code, device_id=kiosk.device_id,
                              flags=[], parts=parts, status_stub="")
    path = f"{API}/packages/{manifest['id']}"
    body = canonical({"manifest": manifest, "signature": sign_manifest(manifest, kiosk.key)})
    declared = http.put(path, content=body, headers=sign_request(kiosk.key, kiosk.device_id, "PUT", path, body,
                                                                 int(services.clock())))
    assert declared.json()["missing"] == [0, 1], declared.text
    with services.db() as db, db.begin():
        db.add(Site(id="mairie-a", name="Mairie A"))
        db.flush()
        add_account(db, "aline", "admin", None, "Aline Administratrice")
        add_account(db, "nadia", "supervisor", None, "Nadia Superviseure")
    return Fuzzed(services, kiosk, manifest["id"], {}, itertools.count())


def test_no_request_gets_a_server_error(fuzzed, subtests):
    schema = schemathesis.openapi.from_asgi("/openapi.json", _requests_only(create_app(fuzzed.services)))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40  # the console's and the status page's are in the document too
    for operation in operations:
        with subtests.test(operation.label):
            _fuzz(operation, fuzzed)


def _fuzz(operation, fuzzed: Fuzzed) -> None:
    """Requests to ``operation``, the same at every run, each answer checked."""
    checks, examples = [not_a_server_error], PAGE_EXAMPLES
    if operation.path.startswith(CONFORMING):
        checks += [status_code_conformance, content_type_conformance, response_schema_conformance]
        examples = API_EXAMPLES

    answered: set[int] = set()

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)))
    def requested(case):
        answered.add(case.call_and_validate(checks=checks, **_let_in(case, fuzzed)).status_code)

    requested()
    if operation.path.startswith(CONFORMING):  # else the fuzzer only knocked at the door
        assert answered - {401, 403}, f"no request got past the signature or the token: {sorted(answered)}"


def _let_in(case, fuzzed: Fuzzed) -> dict:
    """The case as the kiosk, a technician with a token or a signed-in agent would send it: the call's extra
    arguments."""
    if any(header.name == H_SIGNATURE for header in case.operation.headers):
        return _as_the_kiosk(case, fuzzed) if fuzzed.as_the_kiosk() else {}
    if case.path == f"{API}/enroll":
        if isinstance(case.body, dict) and fuzzed.as_the_kiosk():
            case.body["token"] = create_token(fuzzed.services, fuzzed.kiosk.site_id, created_by="fuzz")
        return {}
    if case.path == "/console/login" and case.method == "POST":  # the form's token is a double-submit cookie
        if isinstance(case.body, dict):
            case.body["csrf"] = "fuzzed-login-form"
        return {"cookies": {LOGIN_COOKIE: "fuzzed-login-form"}}
    if case.path.startswith("/console"):
        account = fuzzed.session("aline" if case.path.startswith(("/console/admin", "/console/fleet")) else "nadia")
        if isinstance(case.body, dict):
            case.body["csrf"] = account.csrf
        return {"cookies": {SESSION_COOKIE: fuzzed.sessions[account.username]}}
    return {}


def _as_the_kiosk(case, fuzzed: Fuzzed) -> dict:
    """What the enrolled kiosk puts in this request: in a manifest its identity, the hash of the part list and
    its signature; in a part's or a commit's path the package it declared; the request's signature."""
    kiosk = fuzzed.kiosk
    if "dossier_id" in (case.path_parameters or {}) and not case.path.endswith("{dossier_id}"):
        case.path_parameters["dossier_id"] = fuzzed.declared
    manifest = case.body.get("manifest") if isinstance(case.body, dict) else None
    if isinstance(manifest, dict):
        manifest.update(device_id=kiosk.device_id, site_id=kiosk.site_id, kiosk_code=kiosk.kiosk_code,
                        number=dossier_number(kiosk.kiosk_code, 2))
        case.path_parameters["dossier_id"] = manifest.get("id")
        try:
            manifest["package_sha256"] = package_sha256(manifest["parts"])
        except (KeyError, TypeError, ValueError):
            pass  # a part list the service refuses anyway
        case.body["signature"] = sign_manifest(manifest, kiosk.key)
    return {"auth": SignedByKiosk(kiosk, fuzzed.services.clock())}
