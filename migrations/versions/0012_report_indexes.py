"""Report indexes: the time columns the reports and the manager dashboard filter on.

Revision ID: 0012_report_indexes
Revises: 0005_order_search
Create Date: 2026-11-23

The dashboard reads two weeks of bookings, decisions, completions, clocked time, invoices and payments;
without these indexes each of those reads scans its whole table (bench/README.md, "Reports").
"""
from alembic import op

revision = "0012_report_indexes"
down_revision = "0005_order_search"
branch_labels = None
depends_on = None

INDEXES = [
    ("service_request", "confirmed_at"),
    ("estimate", "decided_at"),
    ("work_order", "completed_at"),
    ("time_entry", "started_at"),
    ("invoice", "issued_at"),
    ("payment", "received_at"),
]


def upgrade():
    for table, column in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_{column}", [column], unique=False)


def downgrade():
    for table, column in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_{column}")
