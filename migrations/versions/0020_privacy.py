"""Privacy requests (issue 17): exports and erasure.

Revision ID: 0020_privacy
Revises: 0019_imports
Create Date: 2026-12-02
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0020_privacy"
down_revision = "0019_imports"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
