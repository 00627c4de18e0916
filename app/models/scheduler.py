"""The scheduler process's tables: its lease (one process runs jobs at a time) and APScheduler's job store.

``apscheduler_jobs`` is APScheduler 3's ``SQLAlchemyJobStore`` table, declared here column for column so
that the migrations create it (and Alembic's autogenerate sees it as known); the job store finds it in
place and never creates it itself.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, DateTime, Float, LargeBinary, String, Table, Unicode
from sqlalchemy.orm import Mapped, mapped_column

from .base import Model

APSCHEDULER_TABLE = "apscheduler_jobs"

apscheduler_jobs = Table(
    APSCHEDULER_TABLE,
    Model.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


class SchedulerLease(Model):
    """Held by the one scheduler process that runs jobs; renewed while it lives, taken over once expired."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120), nullable=False)
    acquired_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    #: Written by the holder at every renewal (every lease/3 seconds): a stale one means no scheduler runs.
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder} until {self.expires_at:%Y-%m-%d %H:%M:%S}"
