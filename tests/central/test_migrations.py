"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from central.db import upgrade
from central.models import Base


def test_migrated_schema_matches_the_models(services):
    with services.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_upgrading_twice_is_harmless(services):
    upgrade(services.engine)
    upgrade(services.engine)
    with services.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == "0004"
