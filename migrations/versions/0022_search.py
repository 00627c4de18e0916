"""Indexes for the staff search box (issue 15): customers by name prefix, e-mail and phone digits, units by
VIN and plate, shipments by tracking number.

Revision ID: 0022_search
Revises: 0021_report_retry
Create Date: 2026-12-02

``app.services.global_search`` compares ``lower(column)`` (a range for prefixes, ``=`` otherwise) and the
phone number without its separators; each expression here is written exactly as the service writes it, so
SQLite and PostgreSQL answer every branch from an index at any number of rows (the test reads SQLite's
query plan).
"""
import sqlalchemy as sa
from alembic import op

revision = "0022_search"
down_revision = "0021_report_retry"
branch_labels = None
depends_on = None

#: The characters people put between a phone number's digits (``global_search.PHONE_SEPARATORS``).
PHONE_SEPARATORS = (" ", "-", "(", ")", ".", "/", "+")


def phone_digits(column: str) -> str:
    expression = column
    for separator in PHONE_SEPARATORS:
        expression = f"replace({expression}, '{separator}', '')"
    return expression


INDEXES = [
    ("ix_customer_name_lower", "customer", "lower(name)"),
    ("ix_customer_email_lower", "customer", "lower(email)"),
    ("ix_customer_phone_digits", "customer", phone_digits("phone")),
    ("ix_unit_vin_lower", "unit", "lower(vin)"),
    ("ix_unit_unit_number_lower", "unit", "lower(unit_number)"),
    ("ix_shipment_tracking_number_lower", "shipment", "lower(tracking_number)"),
]


def upgrade():
    for name, table, expression in INDEXES:
        op.create_index(name, table, [sa.text(expression)])


def downgrade():
    for name, table, _expression in reversed(INDEXES):
        op.drop_index(name, table_name=table)
