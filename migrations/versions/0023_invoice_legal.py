"""What a German tax office asks of an invoice (issue 16): legal details, bank, service period, logo.

Revision ID: 0023_invoice_legal
Revises: 0022_search
Create Date: 2026-12-02
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0023_invoice_legal"
down_revision = "0022_search"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
