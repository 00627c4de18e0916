"""Addresses by country (issue 16, item 4): the shop's country in the settings, and every customer address
with its country (ISO 3166-1 alpha-2, NOT NULL). Existing addresses without one get the shop's country: the
country of the first service location that names one, else DE.

Revision ID: 0028_address_country
Revises: 0027_staff_language
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0028_address_country"
down_revision = "0027_staff_language"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("settings") as batch:
        batch.add_column(sa.Column("country", sa.String(2)))
    bind = op.get_bind()
    shop = bind.execute(sa.text("SELECT UPPER(country) FROM service_location WHERE country IS NOT NULL "
                                "AND LENGTH(TRIM(country)) = 2 ORDER BY id LIMIT 1")).scalar() or "DE"
    bind.execute(sa.text("UPDATE settings SET country = :c"), {"c": shop})
    bind.execute(sa.text("UPDATE address SET country = UPPER(TRIM(country)) WHERE country IS NOT NULL"))
    bind.execute(sa.text("UPDATE address SET country = :c WHERE country IS NULL OR TRIM(country) = ''"),
                 {"c": shop})
    with op.batch_alter_table("address") as batch:
        batch.alter_column("country", existing_type=sa.String(2), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("address") as batch:
        batch.alter_column("country", existing_type=sa.String(2), nullable=True)
    with op.batch_alter_table("settings") as batch:
        batch.drop_column("country")
