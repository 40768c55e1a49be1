"""the console as a worklist: dossier versions and who holds one, return reasons per mairie,
temporary passwords, mail to citizens

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs (no batch copy: other tables reference dossiers, sites and users); the server
    # defaults fill the existing rows.
    op.add_column("dossiers", sa.Column("version", sa.Integer(), server_default="0", nullable=False))
    op.add_column("dossiers", sa.Column("holder_id", sa.Integer(), nullable=True))
    op.add_column("dossiers", sa.Column("held_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column("dossiers", sa.Column("held_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("dossiers", sa.Column("return_notice", sa.JSON(), nullable=True))
    op.add_column("sites", sa.Column("return_reasons", sa.JSON(), nullable=True))
    op.add_column("users", sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(),
                                     nullable=False))
    op.create_table(
        "outgoing_mail",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dossier_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossiers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dossier_id", "kind", name="outgoing_mail_once"),
    )
    op.create_index("outgoing_mail_due", "outgoing_mail", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("outgoing_mail_due", table_name="outgoing_mail")
    op.drop_table("outgoing_mail")
    op.drop_column("users", "must_change_password")
    op.drop_column("sites", "return_reasons")
    for column in ("return_notice", "held_seen_at", "held_since", "holder_id", "version"):
        op.drop_column("dossiers", column)
