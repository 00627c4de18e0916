"""Privacy requests (issue 17): exports and erasure.

``customer.erased_at`` marks an erased account (its personal data anonymised); ``invoice.recipient`` keeps
the recipient's name and address as issued on an erased customer's issued invoices (their credit notes read
it too); ``settings.privacy_retention_years`` is how long the shop keeps invoices (shown when erasing).

Revision ID: 0020_privacy
Revises: 0019_imports
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0020_privacy"
down_revision = "0019_imports"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipient", sa.JSON(), nullable=True))
    with op.batch_alter_table("settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("privacy_retention_years", sa.Integer(), nullable=False, server_default="10"))


def downgrade():
    with op.batch_alter_table("settings", schema=None) as batch_op:
        batch_op.drop_column("privacy_retention_years")
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_column("recipient")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
