"""Customer and unit import (issue 17): batches, rows, mapping templates.

``import_batch`` is one uploaded file (kept as uploaded under ``<upload dir>/imports/``) with its mapping and
counts; ``import_row`` what each row gave in a dry run (``check``) or an import (``run``), with the ids it
created or updated and the values an update replaced (for undo); ``import_template`` a named mapping.
``customer.external_ref`` and ``unit.external_ref`` hold the shop's old numbers: a re-import matches on them.

Revision ID: 0019_imports
Revises: 0018_operations
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_imports"
down_revision = "0018_operations"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("stored_name", sa.String(length=80), nullable=False),
        sa.Column("file_format", sa.String(length=4), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("encoding", sa.String(length=20), nullable=True),
        sa.Column("delimiter", sa.String(length=1), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("valid_rows", sa.Integer(), nullable=True),
        sa.Column("error_rows", sa.Integer(), nullable=True),
        sa.Column("processed_rows", sa.Integer(), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("updated_count", sa.Integer(), nullable=False),
        sa.Column("skipped_count", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('customers', 'units')", name=op.f("ck_import_batch_kind_valid")),
        sa.CheckConstraint("status IN ('uploaded', 'checked', 'queued', 'running', 'imported', 'failed', 'undone',"
                           " 'archived')", name=op.f("ck_import_batch_status_valid")),
        sa.CheckConstraint("file_format IN ('csv', 'xlsx')", name=op.f("ck_import_batch_format_valid")),
        sa.ForeignKeyConstraint(["created_by_id"], ["ab_user.id"], name=op.f("fk_import_batch_created_by_id_ab_user"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batch")),
    )
    op.create_index("ix_import_batch_status", "import_batch", ["status"])
    op.create_index(op.f("ix_import_batch_created_at"), "import_batch", ["created_at"])
    op.create_table(
        "import_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=5), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("address_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.CheckConstraint("phase IN ('check', 'run')", name=op.f("ck_import_row_phase_valid")),
        sa.CheckConstraint("outcome IN ('error', 'created', 'updated', 'skipped')",
                           name=op.f("ck_import_row_outcome_valid")),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batch.id"], name=op.f("fk_import_row_batch_id_import_batch"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_row")),
    )
    op.create_index("ix_import_row_batch_phase", "import_row", ["batch_id", "phase", "row_number"])
    op.create_table(
        "import_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_template")),
        sa.UniqueConstraint("name", name=op.f("uq_import_template_name")),
    )
    op.create_index(op.f("ix_import_template_created_at"), "import_template", ["created_at"])
    for table in ("customer", "unit"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("external_ref", sa.String(length=80), nullable=True))
            batch_op.create_index(f"ix_{table}_external_ref", ["external_ref"])


def downgrade():
    for table in ("unit", "customer"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_external_ref")
            batch_op.drop_column("external_ref")
    op.drop_index(op.f("ix_import_template_created_at"), table_name="import_template")
    op.drop_table("import_template")
    op.drop_index("ix_import_row_batch_phase", table_name="import_row")
    op.drop_table("import_row")
    op.drop_index(op.f("ix_import_batch_created_at"), table_name="import_batch")
    op.drop_index("ix_import_batch_status", table_name="import_batch")
    op.drop_table("import_batch")
