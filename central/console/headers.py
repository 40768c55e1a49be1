"""The security headers of the service's pages, and the size limit of their forms (ASGI middleware)."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import Headers, MutableHeaders

from central.console.pages import error_page

MAX_FORM_BYTES = 32 * 1024
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; "
                           "base-uri 'none'")


class PageHeaders:
    """For the responses under ``prefixes`` only (the console's and the status page's; the device API is left alone).

    Pages show personal data: never cached, never framed, no referrer sent
    with a link, scripts and styles only from this origin. A POST must say
    its length and stay under :data:`MAX_FORM_BYTES`, so a huge form is
    refused before it is read.
    """

    def __init__(self, app, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(self.prefixes):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "no-referrer"
                headers["X-Content-Type-Options"] = "nosniff"
                # An image whose address names its content says itself how long a browser keeps it.
                if not path.startswith("/console/static/") and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        if scope["method"] == "POST":
            length = Headers(scope=scope).get("content-length", "")
            if not length.isdigit() or int(length) > MAX_FORM_BYTES:
                response = error_page(Request(scope), 413 if length.isdigit() else 411, "Formulaire refusé",
                                      "Ce formulaire dépasse la taille permise.")
                await response(scope, receive, send_with_headers)
                return
        await self.app(scope, receive, send_with_headers)
