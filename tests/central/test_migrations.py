"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

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
        assert MigrationContext.configure(conn).get_current_revision() == "0009"


def test_the_help_requests_table_is_there_with_its_columns(services):
    columns = {c["name"] for c in inspect(services.engine).get_columns("help_requests")}
    assert columns == {"id", "device_id", "site_id", "screen", "raised_at", "screen_since", "state",
                       "acknowledged_at", "acknowledged_by", "closed_at", "updated_at"}
