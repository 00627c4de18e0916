"""An index for the staff navbar's unread badge (issue 15, item 6): a staff user's unread notifications are
counted on every staff page, so the count reads (audience, read_at, user_id) from an index, not the table.

Revision ID: 0024_staff_unread
Revises: 0023_invoice_legal
Create Date: 2026-12-03
"""
from alembic import op

revision = "0024_staff_unread"
down_revision = "0023_invoice_legal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_notification_staff_unread", "notification", ["audience", "read_at", "user_id"])


def downgrade() -> None:
    op.drop_index("ix_notification_staff_unread", table_name="notification")
