"""Nothing lost: history refuses the deletion of what it refers to; customers, units and addresses archive.

Revision ID: 0013_nothing_lost
Revises: 0012_report_indexes
Create Date: 2026-12-02

Every foreign key from business history (requests, estimates, work orders, invoices, payments, shipments,
time entries, messages, proposals, dispute notes, attachments, audit events) to the rows it names
(customers, units, addresses, users, service types and locations, shipping methods, and the documents it
hangs off) becomes ``ON DELETE RESTRICT``: the database itself refuses a delete that would orphan history
(SQLite enforces it because every connection turns ``PRAGMA foreign_keys`` on). Customers, units and
addresses gain ``archived_at``: archived instead of deleted.

On SQLite each table is rebuilt (batch mode); ``env.py`` turns foreign keys off for the rebuild and checks
them afterwards.
"""
import warnings

import sqlalchemy as sa
from alembic import op

revision = "0013_nothing_lost"
down_revision = "0012_report_indexes"
branch_labels = None
depends_on = None

#: (table, column, referred table, ON DELETE before this revision)
RESTRICTED = [
    ("audit_event", "actor_id", "ab_user", "SET NULL"),
    ("audit_event", "customer_id", "customer", "SET NULL"),
    ("service_request", "customer_id", "customer", None),
    ("service_request", "service_type_id", "service_type", None),
    ("service_request", "service_location_id", "service_location", None),
    ("service_request", "address_id", "address", "SET NULL"),
    ("service_request", "unit_id", "unit", "SET NULL"),
    ("service_request", "created_by_id", "ab_user", "SET NULL"),
    ("estimate", "customer_id", "customer", None),
    ("estimate", "service_request_id", "service_request", None),
    ("estimate", "unit_id", "unit", "SET NULL"),
    ("estimate", "created_by_id", "ab_user", "SET NULL"),
    ("time_proposal", "service_request_id", "service_request", "CASCADE"),
    ("time_proposal", "user_id", "ab_user", "SET NULL"),
    ("dispute_note", "estimate_id", "estimate", "CASCADE"),
    ("dispute_note", "author_id", "ab_user", "SET NULL"),
    ("work_order", "customer_id", "customer", None),
    ("work_order", "unit_id", "unit", "SET NULL"),
    ("work_order", "service_request_id", "service_request", None),
    ("work_order", "estimate_id", "estimate", None),
    ("work_order", "service_location_id", "service_location", None),
    ("work_order", "shipping_method_id", "shipping_method", None),
    ("work_order", "shipment_id", "shipment", "SET NULL"),
    ("work_order", "technician_id", "ab_user", "SET NULL"),
    ("work_order", "created_by_id", "ab_user", "SET NULL"),
    ("attachment", "customer_id", "customer", "CASCADE"),
    ("attachment", "service_request_id", "service_request", "CASCADE"),
    ("attachment", "work_order_id", "work_order", "CASCADE"),
    ("attachment", "uploaded_by_id", "ab_user", "SET NULL"),
    ("invoice", "customer_id", "customer", None),
    ("invoice", "work_order_id", "work_order", None),
    ("invoice", "authorized_by_id", "ab_user", "SET NULL"),
    ("order_message", "work_order_id", "work_order", "CASCADE"),
    ("order_message", "author_id", "ab_user", "SET NULL"),
    ("time_entry", "work_order_id", "work_order", "CASCADE"),
    ("time_entry", "technician_id", "ab_user", None),
    ("payment", "invoice_id", "invoice", "CASCADE"),
    ("payment", "recorded_by_id", "ab_user", "SET NULL"),
    ("shipment", "customer_id", "customer", None),
    ("shipment", "service_location_id", "service_location", None),
    ("shipment", "shipping_method_id", "shipping_method", None),
]

ARCHIVABLE = ("customer", "unit", "address")

#: Expression indexes of 0005 on rebuilt tables: SQLite's batch rebuild cannot reflect them, so they are
#: made again after it (PostgreSQL alters in place and keeps them).
EXPRESSION_INDEXES = [
    ("ix_work_order_customer_reference_lower", "work_order", "customer_reference"),
    ("ix_work_order_internal_reference_lower", "work_order", "internal_reference"),
    ("ix_work_order_tracking_number_lower", "work_order", "tracking_number"),
]


def _tables():
    seen = []
    for table, *_ in RESTRICTED:
        if table not in seen:
            seen.append(table)
    return seen


def _rebuild(ondelete_of):
    with warnings.catch_warnings():  # SQLite's reflection skips the expression indexes, made again below
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")
        _rebuild_tables(ondelete_of)
    if op.get_bind().dialect.name == "sqlite":
        for name, table, column in EXPRESSION_INDEXES:
            op.create_index(name, table, [sa.text(f"lower({column})")], if_not_exists=True)


def _rebuild_tables(ondelete_of):
    for table in _tables():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for _, column, referred, before in (row for row in RESTRICTED if row[0] == table):
                constraint = f"fk_{table}_{column}_{referred}"
                batch_op.drop_constraint(constraint, type_="foreignkey")
                batch_op.create_foreign_key(constraint, referred, [column], ["id"],
                                            ondelete=ondelete_of(before))


def _default_address_keys():
    """0001 declared the customer's default-address keys ``use_alter`` and PostgreSQL never got them: add
    them where they are missing (SQLite has had them inline from the start)."""
    existing = {fk["name"] for fk in sa.inspect(op.get_bind()).get_foreign_keys("customer")}
    for column in ("default_service_address_id", "default_billing_address_id"):
        name = f"fk_customer_{column}_address"
        if name not in existing:
            op.create_foreign_key(name, "customer", "address", [column], ["id"], ondelete="SET NULL")


def upgrade():
    _default_address_keys()
    for table in ARCHIVABLE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("archived_at", sa.DateTime(), nullable=True))
            batch_op.create_index(f"ix_{table}_archived_at", ["archived_at"], unique=False)
    _rebuild(lambda before: "RESTRICT")


def downgrade():
    _rebuild(lambda before: before)
    for table in reversed(ARCHIVABLE):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_archived_at")
            batch_op.drop_column("archived_at")
