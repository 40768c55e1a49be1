"""the worklist's indexes: dossiers of one state in reception order, per mairie and for every mairie

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The worklist opens on the dossiers « À vérifier », oldest first: without the state in the index, that
    # walk would start at the oldest dossiers, decided long ago, and read past all of them.
    op.create_index("dossiers_site_state_received", "dossiers", ["site_id", "state", "received_at"])
    op.create_index("dossiers_state_received", "dossiers", ["state", "received_at"])


def downgrade() -> None:
    op.drop_index("dossiers_state_received", table_name="dossiers")
    op.drop_index("dossiers_site_state_received", table_name="dossiers")
