"""the agency (ANTS): what it last said of a pré-demande number, and when (agency_checks, central.agency); the
appointments declared to it and removed, as calls to make until it takes them (agency_calls, central.appointments)

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agency_checks",
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tried_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_table(
        "agency_calls",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dossier_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("meeting_point", sa.String(length=200), nullable=False),
        sa.Column("meeting_point_id", sa.String(length=64), nullable=False),
        sa.Column("appointment_date", sa.String(length=19), nullable=False),
        sa.Column("management_url", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossiers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dossier_id", "action", name="agency_calls_once"),
    )
    op.create_index("agency_calls_due", "agency_calls", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("agency_calls_due", table_name="agency_calls")
    op.drop_table("agency_calls")
    op.drop_table("agency_checks")
