"""sites: the language kiosks greet citizens in

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The server default fills the existing mairies: every kiosk spoke French first until now.
    op.add_column("sites", sa.Column("default_language", sa.String(length=8), server_default="fr", nullable=False))


def downgrade() -> None:
    # A plain ALTER TABLE … DROP COLUMN (SQLite 3.35 and later): a batch copy of ``sites`` would have to
    # drop a table that users, devices and dossiers reference.
    op.drop_column("sites", "default_language")
