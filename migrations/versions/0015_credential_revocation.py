"""Credential revocation: every session, JWT and API key of a user issued before a moment is void.

Revision ID: 0015_credential_revocation
Revises: 0014_credit_notes
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_credential_revocation"
down_revision = "0014_credit_notes"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "credential_revocation",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["ab_user.id"], name=op.f("fk_credential_revocation_user_id_ab_user"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_credential_revocation")),
    )


def downgrade():
    op.drop_table("credential_revocation")
