"""The ASGI entry point for uvicorn workers: every worker builds its services from the environment."""

from __future__ import annotations

import logging
import os

from central.app import create_app
from central.config import load_config
from central.context import build_services
from central.datadir import set_umask


def app_from_env():
    from titres.logs import setup_logging

    set_umask()  # a worker started by another ASGI server than ``kiosk-central serve`` creates private files too
    config = load_config()
    setup_logging(config.log_level, name="")
    logging.getLogger("central").info("worker starting")
    return create_app(build_services(config, migrate=False))


def run(host: str, port: int, workers: int, trusted_proxies: tuple[str, ...] = ()) -> None:
    """Serve the central service (``kiosk-central serve``). ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are
    read from the ``trusted_proxies`` only (``central.clients``), and ignored when there are none."""
    run_app("central.server:app_from_env", host, port, workers, proxy_headers=bool(trusted_proxies),
            forwarded_allow_ips=",".join(trusted_proxies) or None)


def run_app(app: str, host: str, port: int, workers: int, **options) -> None:
    """``uvicorn.run`` for an app factory's import string, with ``TCP_NODELAY`` on every connection, telling
    systemd when it serves and pinging its watchdog from the loops that answer requests (``central.supervision``).

    uvicorn (0.54) binds the workers' shared socket with protocol 0; accepted
    connections inherit it and asyncio then skips ``TCP_NODELAY`` (it checks
    ``proto == IPPROTO_TCP``), so each response waits for the client's delayed
    ACK: about 40 ms per keep-alive request on Linux (uvicorn issue 3149,
    found by bench/bench_ingest.py). The socket is re-wrapped as TCP here.
    One worker is unaffected.
    """
    import shutil
    import socket
    import tempfile
    from pathlib import Path

    import uvicorn

    from central.supervision import HEARTBEATS, UNSUPERVISED_PERIOD_S, Heartbeats, NotifyingServer, Supervisor, beat
    from titres.sdnotify import Watchdog

    watchdog = Watchdog.take()  # this process alone speaks to systemd, never its workers
    status = f"serving on {host}:{port} with {workers} worker{'s' if workers > 1 else ''}"
    if workers > 1:
        beats = Path(tempfile.mkdtemp(prefix="kiosk-central-beats-"))
        os.environ[HEARTBEATS] = str(beats)  # the workers inherit it
        callback = beat
    else:
        async def callback() -> None:
            watchdog.ping()
    # log_config=None: uvicorn's lines go through the service's JSON handler (titres.logs), not its own format.
    # callback_notify is called from each server's event loop, at most every second (timeout_notify=0).
    config = uvicorn.Config(app, factory=True, host=host, port=port, workers=workers, log_level="warning",
                            log_config=None, access_log=False, callback_notify=callback, timeout_notify=0,
                            **options)
    if config.workers > 1:
        try:
            bound = config.bind_socket()
            sock = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
            period = watchdog.period_s if watchdog.enabled else UNSUPERVISED_PERIOD_S
            Supervisor(config, [sock], watchdog, Heartbeats(beats, period), status).run()
        finally:
            shutil.rmtree(beats, ignore_errors=True)
    else:
        NotifyingServer(config, watchdog, status).run()
