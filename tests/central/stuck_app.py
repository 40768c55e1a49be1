"""An ASGI application whose ``/stuck`` blocks its event loop, as a blocking call in an ``async`` route would.

``tests/central/test_supervision.py`` serves it through ``central.server.run_app``, the function
``kiosk-central serve`` uses, to see what systemd and the supervisor do with a worker that has stopped
answering. Every other path answers the worker's process id.
"""

from __future__ import annotations

import os
import time


async def _app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == "/stuck":
        time.sleep(3600)  # the loop stops: no request answered, no heartbeat
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": str(os.getpid()).encode()})


def create():
    return _app
