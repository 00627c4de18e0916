"""Documents that add up: line decisions on estimates (partial approval), invoice queries and their log,
re-issued invoices, billable-time rounding with the raw clocked minutes on invoice lines, the label format.

Revision ID: 0017_documents
Revises: 0016_availability
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_documents"
down_revision = "0016_availability"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("labour_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("decline_reason", sa.Text(), nullable=True))
        batch_op.create_check_constraint(op.f("ck_labour_line_decision_valid"),
                                         "decision IS NULL OR decision IN ('approved', 'declined')")
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queried_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("replaces_id", sa.Integer(), nullable=True))
        batch_op.create_index(op.f("ix_invoice_queried_at"), ["queried_at"], unique=False)
        batch_op.create_index(op.f("ix_invoice_replaces_id"), ["replaces_id"], unique=False)
        batch_op.create_foreign_key(op.f("fk_invoice_replaces_id_invoice"), "invoice", ["replaces_id"], ["id"])
    with op.batch_alter_table("invoice_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clocked_minutes", sa.Integer(), nullable=True))
    op.create_table(
        "invoice_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("line_ids", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("side IN ('customer', 'staff')", name=op.f("ck_invoice_note_side_valid")),
        sa.CheckConstraint("kind IN ('query', 'answer', 'note')", name=op.f("ck_invoice_note_kind_valid")),
        sa.ForeignKeyConstraint(["author_id"], ["ab_user.id"], name=op.f("fk_invoice_note_author_id_ab_user"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"], name=op.f("fk_invoice_note_invoice_id_invoice"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_note")),
    )
    op.create_index(op.f("ix_invoice_note_invoice_id"), "invoice_note", ["invoice_id"], unique=False)
    with op.batch_alter_table("settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_rounding", sa.String(length=10), nullable=False, server_default="exact"))
        batch_op.add_column(sa.Column("minimum_charge_minutes", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("label_format", sa.String(length=10), nullable=False, server_default="a6"))
        batch_op.create_check_constraint(op.f("ck_settings_time_rounding_valid"),
                                         "time_rounding IN ('exact', '6', '15', '30')")
        batch_op.create_check_constraint(op.f("ck_settings_minimum_charge_positive"), "minimum_charge_minutes >= 0")
        batch_op.create_check_constraint(op.f("ck_settings_label_format_valid"),
                                         "label_format IN ('a6', '4x6', 'a4x4')")
    with op.batch_alter_table("settings", schema=None) as batch_op:
        for column in ("time_rounding", "minimum_charge_minutes", "label_format"):
            batch_op.alter_column(column, server_default=None)


def downgrade():
    with op.batch_alter_table("settings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_settings_label_format_valid"), type_="check")
        batch_op.drop_constraint(op.f("ck_settings_minimum_charge_positive"), type_="check")
        batch_op.drop_constraint(op.f("ck_settings_time_rounding_valid"), type_="check")
        batch_op.drop_column("label_format")
        batch_op.drop_column("minimum_charge_minutes")
        batch_op.drop_column("time_rounding")
    op.drop_index(op.f("ix_invoice_note_invoice_id"), table_name="invoice_note")
    op.drop_table("invoice_note")
    with op.batch_alter_table("invoice_line", schema=None) as batch_op:
        batch_op.drop_column("clocked_minutes")
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_invoice_replaces_id_invoice"), type_="foreignkey")
        batch_op.drop_index(op.f("ix_invoice_replaces_id"))
        batch_op.drop_index(op.f("ix_invoice_queried_at"))
        batch_op.drop_column("replaces_id")
        batch_op.drop_column("queried_at")
    with op.batch_alter_table("labour_line", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_labour_line_decision_valid"), type_="check")
        batch_op.drop_column("decline_reason")
        batch_op.drop_column("decision")
