"""sites: the mairie's time zone, for the time its kiosks print on receipts

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every mairie printed metropolitan time until now: the existing ones keep it.
    op.add_column("sites", sa.Column("timezone", sa.String(length=64), server_default="Europe/Paris", nullable=False))


def downgrade() -> None:
    op.drop_column("sites", "timezone")
