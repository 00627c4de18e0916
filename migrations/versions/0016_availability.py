"""Booking from real availability: opening hours, closed days, slot length, durations, instant booking,
booking ends, reminders, calendar sequence numbers and private calendar feeds.

Revision ID: 0016_availability
Revises: 0015_credential_revocation
Create Date: 2026-12-02
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0016_availability"
down_revision = "0015_credential_revocation"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "opening_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_location_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens", sa.Time(), nullable=False),
        sa.Column("closes", sa.Time(), nullable=False),
        sa.CheckConstraint("weekday >= 0 AND weekday <= 6", name=op.f("ck_opening_hours_weekday_valid")),
        sa.CheckConstraint("opens < closes", name=op.f("ck_opening_hours_opens_before_closes")),
        sa.ForeignKeyConstraint(["service_location_id"], ["service_location.id"],
                                name=op.f("fk_opening_hours_service_location_id_service_location"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opening_hours")),
    )
    op.create_index(op.f("ix_opening_hours_service_location_id"), "opening_hours", ["service_location_id"])
    op.create_table(
        "closed_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_location_id", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(["service_location_id"], ["service_location.id"],
                                name=op.f("fk_closed_day_service_location_id_service_location"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_closed_day")),
        sa.UniqueConstraint("service_location_id", "day", name="uq_closed_day_location_day"),
    )
    op.create_index(op.f("ix_closed_day_service_location_id"), "closed_day", ["service_location_id"])
    op.create_index(op.f("ix_closed_day_day"), "closed_day", ["day"])
    op.create_table(
        "calendar_feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("service_location_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_read_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("(user_id IS NULL) <> (service_location_id IS NULL)", name=op.f("ck_calendar_feed_one_owner")),
        sa.ForeignKeyConstraint(["user_id"], ["ab_user.id"], name=op.f("fk_calendar_feed_user_id_ab_user"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["service_location_id"], ["service_location.id"],
                                name=op.f("fk_calendar_feed_service_location_id_service_location"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feed")),
        sa.UniqueConstraint("user_id", name=op.f("uq_calendar_feed_user_id")),
        sa.UniqueConstraint("service_location_id", name=op.f("uq_calendar_feed_service_location_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feed_token_hash")),
    )
    with op.batch_alter_table("service_location", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slot_minutes", sa.Integer(), nullable=False, server_default="60"))
        batch_op.create_check_constraint(op.f("ck_service_location_slot_divides_day"),
                                         "slot_minutes > 0 AND 1440 % slot_minutes = 0")
    with op.batch_alter_table("service_location", schema=None) as batch_op:
        batch_op.alter_column("slot_minutes", server_default=None)
    with op.batch_alter_table("service_type", schema=None) as batch_op:
        batch_op.add_column(sa.Column("booking_mode", sa.String(length=10), nullable=False, server_default="request"))
        batch_op.alter_column("duration_minutes", existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint(op.f("ck_service_type_duration_positive"),
                                         "duration_minutes IS NULL OR duration_minutes > 0")
        batch_op.create_check_constraint(op.f("ck_service_type_booking_mode_valid"),
                                         "booking_mode IN ('request', 'instant')")
    with op.batch_alter_table("service_type", schema=None) as batch_op:
        batch_op.alter_column("booking_mode", server_default=None)
    with op.batch_alter_table("settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminder_time", sa.Time(), nullable=True))
    with op.batch_alter_table("service_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scheduled_end", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("calendar_sequence", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("reminder_sent_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_service_request_scheduled", ["status", "scheduled_start"], unique=False)
    _backfill()


def _backfill():
    """Bookings made before this revision end after their service type's duration; reminders at 10:00."""
    bind = op.get_bind()
    settings = sa.table("settings", sa.column("reminder_time", sa.Time()))
    bind.execute(settings.update().values(reminder_time=dt.time(10, 0)))
    request = sa.table("service_request", sa.column("id", sa.Integer()), sa.column("service_type_id", sa.Integer()),
                       sa.column("scheduled_start", sa.DateTime()), sa.column("scheduled_end", sa.DateTime()))
    kind = sa.table("service_type", sa.column("id", sa.Integer()), sa.column("duration_minutes", sa.Integer()))
    rows = bind.execute(sa.select(request.c.id, request.c.scheduled_start, kind.c.duration_minutes)
                        .join(kind, kind.c.id == request.c.service_type_id)
                        .where(request.c.scheduled_start.is_not(None))).all()
    for ident, start, minutes in rows:
        bind.execute(request.update().where(request.c.id == ident)
                     .values(scheduled_end=start + dt.timedelta(minutes=minutes or 60)))


def downgrade():
    with op.batch_alter_table("service_request", schema=None) as batch_op:
        batch_op.drop_index("ix_service_request_scheduled")
        batch_op.drop_column("reminder_sent_at")
        batch_op.drop_column("calendar_sequence")
        batch_op.drop_column("scheduled_end")
    with op.batch_alter_table("settings", schema=None) as batch_op:
        batch_op.drop_column("reminder_time")
    op.execute("UPDATE service_type SET duration_minutes = 60 WHERE duration_minutes IS NULL")
    with op.batch_alter_table("service_type", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_service_type_booking_mode_valid"), type_="check")
        batch_op.drop_constraint(op.f("ck_service_type_duration_positive"), type_="check")
        batch_op.alter_column("duration_minutes", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("booking_mode")
    with op.batch_alter_table("service_location", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_service_location_slot_divides_day"), type_="check")
        batch_op.drop_column("slot_minutes")
    op.drop_table("calendar_feed")
    op.drop_table("closed_day")
    op.drop_table("opening_hours")
