"""Order search: case-insensitive exact look-ups by reference, tracking number and serial number.

Revision ID: 0005_order_search
Revises: 0010_portal_auth
Create Date: 2026-11-23

``app.services.search.search_orders`` compares ``lower(column) = lower(term)``; these expression indexes
keep each branch of its OR an index look-up at any number of orders (SQLite and PostgreSQL alike).
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_order_search"
down_revision = "0010_portal_auth"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_work_order_customer_reference_lower", "work_order", "customer_reference"),
    ("ix_work_order_internal_reference_lower", "work_order", "internal_reference"),
    ("ix_work_order_tracking_number_lower", "work_order", "tracking_number"),
    ("ix_unit_serial_number_lower", "unit", "serial_number"),
]


def upgrade():
    for name, table, column in INDEXES:
        op.create_index(name, table, [sa.text(f"lower({column})")])


def downgrade():
    for name, table, _column in reversed(INDEXES):
        op.drop_index(name, table_name=table)
