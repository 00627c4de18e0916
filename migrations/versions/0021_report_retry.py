"""Report runs interrupted by a dead scheduler are marked failed and retried once (issue 18).

``report_run.attempt`` counts the tries of one report run: 1 for a scheduled or "Run now" run, 2 for the
retry that the scheduler taking over the lease queues for a run its dead predecessor left "running". A retry
that is interrupted too is not retried again.

Revision ID: 0021_report_retry
Revises: 0020_privacy
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0021_report_retry"
down_revision = "0020_privacy"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("report_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"))


def downgrade():
    with op.batch_alter_table("report_run", schema=None) as batch_op:
        batch_op.drop_column("attempt")
