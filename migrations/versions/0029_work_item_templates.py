"""Work item templates (issue 16, item 3): standard jobs and parts with names per language, offered by the
estimate builder in the customer's language.

Revision ID: 0029_work_item_templates
Revises: 0028_address_country
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0029_work_item_templates"
down_revision = "0028_address_country"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "work_item_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("part_number", sa.String(80), nullable=True),
        sa.Column("quantity", sa.Numeric(10, 2), nullable=False),
        sa.Column("unit_price", sa.Numeric(12, 2), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("names", sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.CheckConstraint("kind IN ('labour', 'part')", name=op.f("ck_work_item_template_kind_valid")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_work_item_template_quantity_positive")),
        sa.CheckConstraint("unit_price IS NULL OR unit_price >= 0",
                           name=op.f("ck_work_item_template_price_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_item_template")),
        sa.UniqueConstraint("name", name=op.f("uq_work_item_template_name")),
    )


def downgrade() -> None:
    op.drop_table("work_item_template")
