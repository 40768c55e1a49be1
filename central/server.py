"""The ASGI entry point for uvicorn workers: every worker builds its services from the environment."""

from __future__ import annotations

import logging

from central.app import create_app
from central.config import load_config
from central.context import build_services


def app_from_env():
    from kiosk.logs import setup_logging

    setup_logging("INFO")
    logging.getLogger("central").info("worker starting")
    return create_app(build_services(load_config(), migrate=False))
