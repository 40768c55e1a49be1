"""Headless Chromium for the console's browser tests (Debian's ``chromium``, driven by Playwright), and the
service they drive: ``seeded`` (two mairies, their people, dossiers delivered by simulated kiosks through the
real API) and ``server`` (``kiosk-central serve`` in its own process on that data), one of each per module."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from central.app import create_app
from central.keys import load_keys

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browsing import ARGS, CHROMIUM, SHOTS, login, seed_people, service  # noqa: E402
from factory import deliver_dossier, enroll_kiosk  # noqa: E402  (browsing puts tests/central on the path)

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.chain import free_port  # noqa: E402
from tests.smtp_inbox import running_inbox  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
    yield context.new_page()
    context.close()


@pytest.fixture
def make_page(browser, server):
    """``make_page(width, height, user=None, javascript=True)``: a page in a browser context of its own, at that
    size, logged in as ``user`` if given; every context it made is closed when the test ends, failed or not."""
    contexts = []

    def make(width: int, height: int, user: str | None = None, javascript: bool = True):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR",
                                      java_script_enabled=javascript)
        contexts.append(context)
        made = context.new_page()
        if user is not None:
            login(made, server, user)
        return made

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def service_keys(tmp_path_factory) -> Path:
    """One set of service keys for the modules' services: the kiosks seal to the same key in each, so a module's
    captures repeat another's and are replayed (``factory.Captures``) instead of made again."""
    folder = tmp_path_factory.mktemp("service-keys") / "keys"
    load_keys(folder)
    return folder


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, service_keys):
    """Two mairies with their agents, a supervisor, a technician, and dossiers delivered by two kiosks."""
    data = tmp_path_factory.mktemp("central")
    shutil.copytree(service_keys, data / "keys")
    with service(data) as services:
        seed_people(services, [("agent.a", "agent", "mairie-a", "Camille Durand"),
                               ("agent.b", "agent", "mairie-b", "Louis Bernard"),
                               ("hugo", "technician", None, "Hugo Technicien"),
                               ("nadia", "supervisor", None, "Nadia Superviseure")])
        with TestClient(create_app(services)) as http:
            kiosk_a = enroll_kiosk(services, http, data / "kiosk-a", "mairie-a")
            older = deliver_dossier(services, http, data / "kiosk-a", kiosk=kiosk_a)
            flagged = deliver_dossier(services, http, data / "kiosk-a", scenario="failed-fingerprint", kiosk=kiosk_a)
            other = deliver_dossier(services, http, data / "kiosk-b", site="mairie-b")
            # One dossier of mairie A for each test that works on one (tests/browser/test_console_dossier.py).
            work = [deliver_dossier(services, http, data / "kiosk-a", kiosk=kiosk_a) for _ in range(4)]
    return {"data": data, "flagged": flagged, "older": older, "other": other, "kiosk_a": kiosk_a, "work": work}


@pytest.fixture(scope="module")
def inbox():
    """The mail server the service tells citizens through: a real SMTP server on loopback (aiosmtpd)."""
    with running_inbox() as box:
        yield box


@pytest.fixture(scope="module")
def server(seeded, inbox):
    """``kiosk-central serve`` on the seeded data, mailing citizens through ``inbox``. Its output goes to a
    file (a pipe nobody reads would fill and stop it), shown if it does not start."""
    port = free_port()
    command = Path(sys.executable).parent / "kiosk-central"
    env = {**os.environ, "KIOSK_CENTRAL_SECURE_COOKIES": "0", "KIOSK_CENTRAL_SMTP_URL": f"smtp://127.0.0.1:{inbox.port}",
           "KIOSK_CENTRAL_MAIL_FROM": "ne-pas-repondre@mairie-trebes.fr",
           "KIOSK_CENTRAL_PUBLIC_URL": "https://titres.mairie-trebes.fr"}
    log = seeded["data"].parent / f"serve-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(command), "serve", "--port", str(port), "--data-dir", str(seeded["data"])],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            pytest.fail("the server did not start:\n" + log.read_text(errors="replace"))
        time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
