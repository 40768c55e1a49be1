"""Engines, sessions and migrations, for SQLite (embedded default) and PostgreSQL (production).

SQLite gets WAL, ``synchronous=FULL`` and a busy timeout so that several
service processes (or the CLI beside a running server) share one file
safely; PostgreSQL gets a connection pool sized for a small API process.
Migrations are Alembic's, run at start-up (``serve``) or by ``kiosk-central
db upgrade``; on PostgreSQL an advisory lock makes concurrent starts safe.

Text neither engine can keep is refused before it reaches either
(:class:`UnstorableText`): PostgreSQL's text refuses NUL, and a lone
surrogate has no UTF-8 form for either. A request that carries such text,
in a path, a query, a header, a form or a JSON string, is answered 400 by
``central.app``, the same on both engines (so what the SQLite tests meet is
what PostgreSQL would), never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

_MIGRATION_LOCK = 74_221_001  # an arbitrary constant shared by every process of the service


class UnstorableText(ValueError):
    """A statement's text that no engine stores: a NUL character, or a lone surrogate. Says which, never the
    text (it may be personal)."""


def _unstorable(value: str) -> str | None:
    if "\x00" in value:
        return "text holds a NUL character"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "text holds a character with no UTF-8 form (a lone surrogate)"
    return None


def _refuse_unstorable(conn, cursor, statement: str, parameters: Any, context, executemany: bool) -> None:
    for row in parameters if executemany else (parameters,):
        for value in (row.values() if isinstance(row, Mapping) else row or ()):
            if isinstance(value, str) and (problem := _unstorable(value)) is not None:
                raise UnstorableText(problem)


def make_engine(url: str) -> Engine:
    engine = _engine(url)
    event.listen(engine, "before_cursor_execute", _refuse_unstorable)
    return engine


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # pysqlite's own transaction handling defers BEGIN; we want BEGIN IMMEDIATE-like
            # behaviour only where asked, so leave isolation to SQLAlchemy and set durability here.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # As many kept connections as a worker's thread pool (anyio: 40) can use: overflow connections are
    # closed on return, and under load that meant ~4 new PostgreSQL connections per dossier (bench_ingest).
    return create_engine(url, pool_size=40, max_overflow=10, pool_pre_ping=True)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration; safe when several processes start at once."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
            conn.commit()
        try:
            cfg = alembic_config(engine)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.commit()
        finally:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
                conn.commit()
