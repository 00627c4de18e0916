"""Operations: the scheduler's heartbeat on its lease row, and the request id that queued a mail.

Revision ID: 0018_operations
Revises: 0017_documents
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0018_operations"
down_revision = "0017_documents"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("scheduler_lease", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("outbox_email", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_email", schema=None) as batch_op:
        batch_op.drop_column("request_id")
    with op.batch_alter_table("scheduler_lease", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
