"""A staff user's language (issue 16, item 1): ``staff_preference`` (one row per staff user who chose one)
and the shop's default language in the settings.

Revision ID: 0027_staff_language
Revises: 0026_localized_names
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0027_staff_language"
down_revision = "0026_localized_names"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_preference",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("language", sa.String(5)),
    )
    with op.batch_alter_table("settings") as batch:
        batch.add_column(sa.Column("default_language", sa.String(5)))


def downgrade() -> None:
    with op.batch_alter_table("settings") as batch:
        batch.drop_column("default_language")
    op.drop_table("staff_preference")
