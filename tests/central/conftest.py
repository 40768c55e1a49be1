"""Fixtures for the central service: every test that takes ``services`` runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``scripts/test``, which starts a throwaway server and
sets ``KIOSK_CENTRAL_TEST_PG`` (an admin URL). Each test gets a fresh
database cloned from a migrated template, so tests never see each other's
rows; on SQLite, a copy of a migrated file (migrating is test_migrations.py's
subject, and cost 0.12 s a test). Under CI a missing server is a failure, not
a skip. Every test's service has the run's keys (``service_keys``), so the
same capture seals the same way for each (``factory.Captures``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from central.app import create_app
from central.config import CentralConfig
from central.context import build_services
from central.db import make_engine, upgrade
from central.keys import load_keys
from central.models import Site
from factory import Clock, add_account

PG_ADMIN = os.environ.get("KIOSK_CENTRAL_TEST_PG", "")
TEMPLATE = "kiosk_central_template"


def _with_db(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def pg_template():
    if not PG_ADMIN:
        if os.environ.get("CI"):
            pytest.fail("KIOSK_CENTRAL_TEST_PG is not set: scripts/test starts PostgreSQL for CI")
        pytest.skip("no PostgreSQL (scripts/test starts one and sets KIOSK_CENTRAL_TEST_PG)")
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE}"))
        conn.execute(text(f"CREATE DATABASE {TEMPLATE}"))
    engine = make_engine(_with_db(PG_ADMIN, TEMPLATE))
    upgrade(engine)
    engine.dispose()
    yield admin
    admin.dispose()


def pytest_collection_modifyitems(config, items):
    """A test marked ``one_engine`` checks what no SQL decides: its PostgreSQL twin would repeat it, slower."""
    twins = [item for item in items if item.get_closest_marker("one_engine") is not None
             and getattr(item, "callspec", None) is not None and item.callspec.params.get("db_url") == "postgresql"]
    if twins:
        config.hook.pytest_deselected(items=twins)
        items[:] = [item for item in items if item not in twins]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite database, copied for each test."""
    path = tmp_path_factory.mktemp("sqlite-template") / "central.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def service_keys(tmp_path_factory) -> Path:
    """The keys folder every test's service starts with."""
    folder = tmp_path_factory.mktemp("service-keys") / "keys"
    load_keys(folder)
    return folder


class PgClones:
    """The tests' PostgreSQL databases, cloned from the migrated template ahead of the tests that take them and
    dropped after, on a thread of their own: a clone costs about 0.2 s that the suite's single-threaded tests
    leave the second core for. What the thread raises is raised in the test that takes the next clone (a
    failed clone) or at the next take (a failed drop), never lost."""

    AHEAD = 2

    def __init__(self, admin) -> None:
        self.admin = admin
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-clones")
        self.ready = deque(self.pool.submit(self._create) for _ in range(self.AHEAD))
        self.drops: list[Future] = []

    def _create(self) -> str:
        name = "t_" + uuid.uuid4().hex[:16]
        with self.admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
        return name

    def _drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    def _check_drops(self) -> None:
        done = [f for f in self.drops if f.done()]
        self.drops = [f for f in self.drops if not f.done()]
        for f in done:
            f.result()  # raises what the drop raised

    def take(self) -> str:
        self._check_drops()
        name = self.ready.popleft().result(timeout=300)  # minutes: a loaded machine
        self.ready.append(self.pool.submit(self._create))
        return name

    def give_back(self, name: str) -> None:
        self.drops.append(self.pool.submit(self._drop, name))

    def close(self) -> None:
        for clone in self.ready:
            self.give_back(clone.result(timeout=300))
        self.pool.shutdown(wait=True)
        self._check_drops()


@pytest.fixture(scope="session")
def pg_clones(pg_template):
    clones = PgClones(pg_template)
    yield clones
    clones.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield ""
        return
    clones = request.getfixturevalue("pg_clones")
    name = clones.take()
    yield _with_db(PG_ADMIN, name)
    clones.give_back(name)


@pytest.fixture
def services(tmp_path, db_url, service_keys, request):
    config = CentralConfig(data_dir=tmp_path / "central", db_url=db_url, secure_cookies=False)
    config.data_dir.mkdir(mode=0o700, parents=True)
    shutil.copytree(service_keys, config.keys_dir)
    if not db_url:  # PostgreSQL's database is already a copy of a migrated one
        template = request.getfixturevalue("sqlite_template")
        with sqlite3.connect(template) as source, sqlite3.connect(config.data_dir / "central.db") as copy:
            source.backup(copy)
    s = build_services(config, migrate=False)
    yield s
    s.close()


@pytest.fixture
def clock(services) -> Clock:
    """The service's clock, from now on moved by the test alone."""
    services.clock = clock = Clock()
    return clock


@pytest.fixture
def client(services):
    with TestClient(create_app(services), base_url="http://testserver") as c:
        yield c


@pytest.fixture
def run_cli(services, capsys):
    """``kiosk-central`` on the test's database: ``run_cli("user", "list")`` gives (exit status, stdout, stderr)."""
    from central.cli import main

    where = ["--data-dir", str(services.config.data_dir)] + (["--db", services.config.db_url]
                                                              if services.config.db_url else [])

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        umask = os.umask(0o077)  # the command sets the process's umask (central.datadir): given back after it
        try:
            code = main([*args, *where])
        finally:
            os.umask(umask)
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def people(services):
    """Two mairies, an agent in each, and one account of every other role (password :data:`factory.PASSWORD`)."""
    with services.db() as db, db.begin():
        db.add_all([Site(id="mairie-a", name="Mairie A"), Site(id="mairie-b", name="Mairie B")])
        db.flush()
        add_account(db, "agent.a", "agent", "mairie-a", "Camille A")
        add_account(db, "agent.b", "agent", "mairie-b", "Louis B")
        add_account(db, "nadia", "supervisor", None, "Nadia Superviseure")
        add_account(db, "hugo", "technician", None, "Hugo Technicien")
        add_account(db, "aline", "admin", None, "Aline Administratrice")
