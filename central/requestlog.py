"""One log line for every refused request (ASGI middleware): who was refused what, and why, with nothing personal.

A refusal is any answer of 400 or more. The line holds its status, the
API's error code when there is one (``refusal_code`` puts it in the
request's scope), the method, the path, and the device the request names
(``X-Kiosk-Device``, as sent: an unknown one is logged as such). Never the
query string (a search holds a surname, a status check a birth date) nor a
body. An error the application did not answer (a 500) is uvicorn's to log,
with its traceback, in the same JSON format.
"""

from __future__ import annotations

import logging

from starlette.datastructures import Headers

from titres.protocol import H_DEVICE

log = logging.getLogger("central.requests")

_STATE = "refusal_code"


def refusal_code(scope, code: str) -> None:
    """Say why this request is refused, for its log line (the device API's error codes)."""
    scope.setdefault("state", {})[_STATE] = code


class RefusalLog:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def logged(message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                device = Headers(scope=scope).get(H_DEVICE, "")[:64]
                log.log(logging.ERROR if message["status"] >= 500 else logging.WARNING, "request refused",
                        extra={"status": message["status"], "code": scope.get("state", {}).get(_STATE, ""),
                               "method": scope.get("method", ""), "path": scope.get("path", "")[:200],
                               "device": device})
            await send(message)

        await self.app(scope, receive, logged)
