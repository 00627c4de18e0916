"""Credit notes: a paid invoice is corrected by CN-000001 with negative lines, linked to the invoice.

Revision ID: 0014_credit_notes
Revises: 0013_nothing_lost
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_credit_notes"
down_revision = "0013_nothing_lost"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "credit_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("tax_rate", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("subtotal", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("tax", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("subtotal <= 0 AND tax <= 0 AND total <= 0", name=op.f("ck_credit_note_money_negative")),
        sa.ForeignKeyConstraint(["created_by_id"], ["ab_user.id"], name=op.f("fk_credit_note_created_by_id_ab_user"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_credit_note_customer_id_customer"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"], name=op.f("fk_credit_note_invoice_id_invoice"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_note")),
        sa.UniqueConstraint("number", name=op.f("uq_credit_note_number")),
    )
    op.create_index(op.f("ix_credit_note_invoice_id"), "credit_note", ["invoice_id"], unique=False)
    op.create_index(op.f("ix_credit_note_customer_id"), "credit_note", ["customer_id"], unique=False)
    op.create_index(op.f("ix_credit_note_issued_at"), "credit_note", ["issued_at"], unique=False)
    op.create_table(
        "credit_note_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credit_note_id", sa.Integer(), nullable=False),
        sa.Column("invoice_line_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("part_number", sa.String(length=80), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_credit_note_line_quantity_positive")),
        sa.CheckConstraint("unit_price <= 0", name=op.f("ck_credit_note_line_price_negative")),
        sa.ForeignKeyConstraint(["credit_note_id"], ["credit_note.id"],
                                name=op.f("fk_credit_note_line_credit_note_id_credit_note"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["invoice_line_id"], ["invoice_line.id"],
                                name=op.f("fk_credit_note_line_invoice_line_id_invoice_line"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_note_line")),
    )
    op.create_index(op.f("ix_credit_note_line_credit_note_id"), "credit_note_line", ["credit_note_id"], unique=False)
    op.create_index(op.f("ix_credit_note_line_invoice_line_id"), "credit_note_line", ["invoice_line_id"],
                    unique=False)
    sequences = sa.table("document_sequence", sa.column("name", sa.String), sa.column("value", sa.Integer))
    op.bulk_insert(sequences, [{"name": "CN", "value": 0}])


def downgrade():
    op.execute("DELETE FROM document_sequence WHERE name = 'CN'")
    op.drop_table("credit_note_line")
    op.drop_table("credit_note")
