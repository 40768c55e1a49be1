"""status lookups: failed attempts per number; the supervisor's queue index

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_attempts",
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_index("dossiers_received", "dossiers", ["received_at"])


def downgrade() -> None:
    op.drop_index("dossiers_received", table_name="dossiers")
    op.drop_table("status_attempts")
