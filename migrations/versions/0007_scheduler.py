"""Scheduler: APScheduler's job store table, the scheduler lease, one run per scheduled slot.

Revision ID: 0007_scheduler
Revises: 0001_initial
Create Date: 2026-11-23

``apscheduler_jobs`` is created here, column for column as APScheduler 3's ``SQLAlchemyJobStore`` defines
it (the job store finds it in place), so the migrations stay the only thing that creates tables.
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_scheduler"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apscheduler_jobs")),
    )
    with op.batch_alter_table("apscheduler_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_apscheduler_jobs_next_run_time"), ["next_run_time"], unique=False)

    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_lease")),
    )

    with op.batch_alter_table("report_run", schema=None) as batch_op:
        batch_op.create_index(
            "uq_report_run_scheduled_slot", ["definition_id", "scheduled_for"], unique=True,
            sqlite_where=sa.text("\"trigger\" = 'schedule'"), postgresql_where=sa.text("\"trigger\" = 'schedule'"),
        )
        batch_op.create_index("ix_report_run_status", ["status"], unique=False)


def downgrade():
    with op.batch_alter_table("report_run", schema=None) as batch_op:
        batch_op.drop_index("ix_report_run_status")
        batch_op.drop_index("uq_report_run_scheduled_slot")
    op.drop_table("scheduler_lease")
    with op.batch_alter_table("apscheduler_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apscheduler_jobs_next_run_time"))
    op.drop_table("apscheduler_jobs")
