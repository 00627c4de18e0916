"""What a German tax office asks of an invoice (issue 16): legal details, bank, service period, logo.

Revision ID: 0023_invoice_legal
Revises: 0022_search
Create Date: 2026-12-02

The shop's legal identity, bank details, payment terms, small-business exemption and document footer live
on ``settings`` (the logo column exists since the first revision); the date or period of service is stored
on each invoice when it is issued, so a later time entry does not change an issued document; a billed
line may carry a tax rate of its own (net and tax are stated per rate).
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

#: Lines with a rate of their own (a reduced rate): None keeps the document's rate.
LINE_TABLES = ("invoice_line", "credit_note_line")


def upgrade():
    with op.batch_alter_table("settings") as batch:
        for name, type_ in SETTINGS_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.add_column(sa.Column("small_business", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("invoice") as batch:
        batch.add_column(sa.Column("service_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("service_to", sa.Date(), nullable=True))
    for table in LINE_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("tax_rate", sa.Numeric(5, 2), nullable=True))


def downgrade():
    for table in LINE_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("tax_rate")
    with op.batch_alter_table("invoice") as batch:
        batch.drop_column("service_to")
        batch.drop_column("service_from")
    with op.batch_alter_table("settings") as batch:
        batch.drop_column("small_business")
        for name, _type in reversed(SETTINGS_COLUMNS):
            batch.drop_column(name)
