"""Report runs interrupted by a dead scheduler are marked failed and retried once (issue 18).

Revision ID: 0021_report_retry
Revises: 0020_privacy
Create Date: 2026-12-02
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0021_report_retry"
down_revision = "0020_privacy"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
