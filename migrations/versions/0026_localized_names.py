"""Per-language names for the reference lists a customer reads (issue 16, item 3): service types, service
locations and shipping methods keep their English ``name`` and gain ``names``, the other languages' names
as JSON ({"de": "Inspektion"}); an empty object means English everywhere.

Revision ID: 0026_localized_names
Revises: 0024_staff_unread
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0026_localized_names"
down_revision = "0024_staff_unread"
branch_labels = None
depends_on = None

TABLES = ("service_type", "service_location", "shipping_method")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("names", sa.JSON(), server_default=sa.text("'{}'"), nullable=False))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("names")
