"""The ASGI application: the device API, the citizen's status, the agents' console, ``/healthz``.

``create_app`` takes the :class:`Services` it will use, so tests and the
``serve`` command build the same application from a configuration, and no
module holds a global. The application's lifespan runs the service's
housekeeping: the purge of stale uploads (``app.state.stale_upload_purge``),
the sender of citizens' mail (``app.state.mail_sender``) and the caller of
the agency (``app.state.agency_caller``) start with it and stop with it.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from central import __version__
from central.appointments import AgencyCaller
from central.context import Services
from central.db import UnstorableText
from central.ingest import StaleUploadPurge
from central.mail import MailSender
from central.requestlog import RefusalLog


def create_app(services: Services) -> FastAPI:
    from central import api, console, public
    from central.console.headers import PageHeaders

    purge = StaleUploadPurge(services)
    mail = MailSender(services)  # a mail server without a sender stops the application here
    calls = AgencyCaller(services)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        purge.start()
        mail.start()
        calls.start()
        try:
            yield
        finally:
            await run_in_threadpool(calls.stop)
            await run_in_threadpool(mail.stop)
            await run_in_threadpool(purge.stop)  # a pass in progress ends first

    app = FastAPI(title="Kiosque titres — service central", version=__version__, docs_url=None, redoc_url=None,
                  lifespan=lifespan)
    app.openapi = lambda: api.openapi(app)
    app.state.services = services
    app.state.stale_upload_purge = purge
    app.state.mail_sender = mail
    app.state.agency_caller = calls
    app.include_router(api.router)
    app.include_router(console.router)
    app.include_router(public.router)
    app.mount("/console/static", console.static_files(), name="console-static")
    for refusal, answer in console.REFUSALS.items():
        app.add_exception_handler(refusal, answer)
    app.add_middleware(PageHeaders, prefixes=(console.PREFIX, public.PREFIX))
    app.add_middleware(RefusalLog)  # around the routers and the pages' headers: every answer they give

    @app.exception_handler(RequestValidationError)
    async def _malformed(request: Request, exc: RequestValidationError):
        """Kiosks get the API's own error shape for a malformed path or query, like every other refusal; a page
        says where and what, never the value sent (it may be a file, or what a person typed)."""
        if request.url.path.startswith("/api/"):
            return api.refusal(request, "malformed", "malformed path or query")
        errors = [{"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]} for error in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(UnstorableText)
    async def _unstorable(request: Request, exc: UnstorableText):
        """Text no database stores, wherever a request carried it (``central.db``): kiosks get the API's
        refusal, people the console's page."""
        if request.url.path.startswith("/api/"):
            return api.refusal(request, "malformed", str(exc))
        return await console.REFUSALS[UnstorableText](request, exc)

    return app
