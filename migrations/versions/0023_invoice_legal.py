"""What a German tax office asks of an invoice (issue 16): legal details, bank, service period, logo.

Revision ID: 0023_invoice_legal
Revises: 0022_search
Create Date: 2026-12-02

The shop's legal identity, bank details, payment terms, small-business exemption and document footer live
on ``settings`` (the logo column exists since the first revision); the date or period of service is stored
on each invoice when it is issued, so a later time entry does not change an issued document.
"""
import sqlalchemy as sa
from alembic import op

revision = "0023_invoice_legal"
down_revision = "0022_search"
branch_labels = None
depends_on = None

SETTINGS_COLUMNS = [
    ("legal_name", sa.String(200)),
    ("vat_id", sa.String(20)),
    ("tax_number", sa.String(40)),
    ("registered_office", sa.String(200)),
    ("register_court", sa.String(120)),
    ("register_number", sa.String(60)),
    ("managing_directors", sa.String(300)),
    ("bank_name", sa.String(120)),
    ("iban", sa.String(34)),
    ("bic", sa.String(11)),
    ("payment_terms", sa.Text()),
    ("small_business_text", sa.Text()),
    ("document_footer", sa.Text()),
]


def upgrade():
    with op.batch_alter_table("settings") as batch:
        for name, type_ in SETTINGS_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.add_column(sa.Column("small_business", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("invoice") as batch:
        batch.add_column(sa.Column("service_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("service_to", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("invoice") as batch:
        batch.drop_column("service_to")
        batch.drop_column("service_from")
    with op.batch_alter_table("settings") as batch:
        batch.drop_column("small_business")
        for name, _type in reversed(SETTINGS_COLUMNS):
            batch.drop_column(name)
