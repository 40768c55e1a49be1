"""The kiosk's side of the wire protocol: enroll, fetch pré-demandes, upload packages, heartbeat.

One class over an ``httpx.Client`` so the sync worker, provisioning, the
pré-demande directory and the tests (with FastAPI's TestClient, which is an
``httpx.Client``) all speak through the same code.

Errors split the way the sync worker needs them: :class:`RetryableSyncError`
(network down, 5xx, timeouts: try again later) and
:class:`PermanentSyncError` (refused package, revoked device: needs a
person). A clock-skew refusal is not an error: the client adopts the
service's clock offset and retries once.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import httpx
from nacl.signing import SigningKey, VerifyKey

from kiosk.config import KioskConfig
from titres.errors import ConfigError, PermanentSyncError, RetryableSyncError
from titres.protocol import API, Package, ProtocolError, canonical, sign_manifest, sign_request, verify_ack


class CentralClient:
    def __init__(self, http: httpx.Client, device_id: str = "", key: SigningKey | None = None,
                 service_key: VerifyKey | None = None, clock: Callable[[], float] = time.time):
        self.http = http
        self.device_id = device_id
        self.key = key
        self.service_key = service_key
        self._clock = clock
        self.clock_offset = 0.0

    @classmethod
    def connect(cls, base_url: str, timeout_s: float = 10.0, **kw) -> "CentralClient":
        return cls(httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s), **kw)

    def close(self) -> None:
        self.http.close()

    # -- transport -------------------------------------------------------------------
    def _send(self, method: str, path: str, body: bytes = b"", signed: bool = True,
              content_type: str = "application/json") -> httpx.Response:
        for attempt in (1, 2):
            headers = {"Content-Type": content_type} if body else {}
            if signed:
                if self.key is None:
                    raise PermanentSyncError("this kiosk is not provisioned")
                stamp = int(self._clock() + self.clock_offset)
                headers.update(sign_request(self.key, self.device_id, method, path, body, stamp))
            try:
                response = self.http.request(method, path, content=body, headers=headers)
            except httpx.HTTPError as exc:
                raise RetryableSyncError(f"central service unreachable: {type(exc).__name__}: {exc}") from exc
            if response.status_code == 401 and attempt == 1 and self._skew(response):
                continue
            return response
        return response

    def _skew(self, response: httpx.Response) -> bool:
        """Adopt the service's clock after a clock-skew refusal (a Pi has no battery-backed clock)."""
        try:
            body = response.json()
        except ValueError:
            return False
        if body.get("error") != "clock_skew" or not isinstance(body.get("server_time"), int):
            return False
        self.clock_offset = body["server_time"] - self._clock()
        return True

    @staticmethod
    def _raise_for(response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        try:
            body = response.json()
            code, detail = str(body.get("error", "")), str(body.get("detail", ""))
        except ValueError:
            code, detail = "http_error", response.text[:200]
        if response.status_code >= 500 or response.status_code in (408, 425, 429):
            raise RetryableSyncError(f"central service answered {response.status_code} {code}: {detail}")
        error = PermanentSyncError(f"central service refused ({response.status_code} {code}): {detail}")
        error.status, error.code = response.status_code, code
        raise error

    def _json(self, method: str, path: str, payload: Any = None, signed: bool = True) -> Any:
        body = canonical(payload) if payload is not None else b""
        response = self._send(method, path, body, signed)
        self._raise_for(response)
        try:
            return response.json()
        except ValueError as exc:
            raise RetryableSyncError("central service answered something that is not JSON") from exc

    # -- calls ---------------------------------------------------------------------
    def service_info(self) -> dict[str, Any]:
        return self._json("GET", f"{API}/service", signed=False)

    def enroll(self, token: str, public_key_hex: str, hostname: str, software_version: str) -> dict[str, Any]:
        return self._json("POST", f"{API}/enroll", {"token": token, "public_key": public_key_hex,
                                                    "hostname": hostname, "software_version": software_version},
                          signed=False)

    def predemande(self, number: str) -> tuple[int, dict[str, Any] | None]:
        """(HTTP status, record): 200 usable, 404 unknown, 410 consumed or expired."""
        response = self._send("GET", f"{API}/predemandes/{number}")
        if response.status_code in (200, 410):
            return response.status_code, response.json()
        if response.status_code == 404:
            return 404, None
        self._raise_for(response)
        return response.status_code, None

    def heartbeat(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", f"{API}/heartbeat", payload)

    def help(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A citizen's call for help, raised, moved or closed (docs/protocol.md, "Help requests")."""
        return self._json("POST", f"{API}/help", payload)

    def upload(self, package: Package, progress: Callable[[], None] = lambda: None) -> dict[str, Any]:
        """Deliver a package, sending only the parts the service lacks; return its verified ack.

        ``progress`` is called after each request (the sync worker pings its watchdog there)."""
        if self.key is None or self.service_key is None:
            raise PermanentSyncError("this kiosk is not provisioned")
        manifest = package.manifest
        dossier_id = manifest["id"]
        signature = package.signature or sign_manifest(manifest, self.key)
        state = self._json("PUT", f"{API}/packages/{dossier_id}", {"manifest": manifest, "signature": signature})
        if not state.get("complete"):
            for index in state.get("missing", []):
                response = self._send("PUT", f"{API}/packages/{dossier_id}/parts/{index}", package.parts[index](),
                                      content_type="application/octet-stream")
                self._raise_for(response)
                progress()
            ack = self._json("POST", f"{API}/packages/{dossier_id}/commit")
        else:
            ack = state["ack"]
        try:
            verify_ack(ack, self.service_key, dossier_id, manifest["package_sha256"])
        except ProtocolError as exc:
            raise PermanentSyncError(f"acknowledgement refused: {exc}") from exc
        return ack


def load_device_key(config: KioskConfig) -> SigningKey:
    try:
        return SigningKey(bytes.fromhex(config.device_key_file.read_text().strip()))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"no device key at {config.device_key_file}: provision this kiosk") from exc


def central_client(config: KioskConfig, timeout_s: float | None = None) -> CentralClient:
    """A client signed as this device, for sync and for pré-demandes."""
    if not config.sync.provisioned:
        raise ConfigError("this kiosk is not provisioned: run `kiosk provision --central URL --token TOKEN`")
    return CentralClient.connect(config.directory.central_url, timeout_s=timeout_s or config.sync.timeout_s,
                                 device_id=config.sync.device_id, key=load_device_key(config),
                                 service_key=VerifyKey(bytes.fromhex(config.sync.service_verify_key)))
