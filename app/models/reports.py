"""Scheduled report definitions and their runs."""
from __future__ import annotations

import datetime as dt

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import JSON, Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model, TimestampMixin


class ReportDefinition(TimestampMixin, Model):
    __tablename__ = "report_definition"
    __table_args__ = (CheckConstraint("format IN ('pdf', 'csv', 'both')", name="format_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    cron: Mapped[str] = mapped_column(String(100), nullable=False)
    format: Mapped[str] = mapped_column(String(4), default="pdf", nullable=False)
    recipients: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    params: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"))

    customer = relationship("Customer")
    created_by = relationship(User)
    runs = relationship("ReportRun", back_populates="definition", order_by="ReportRun.started_at.desc()",
                        cascade="all, delete-orphan")

    def __str__(self) -> str:
        return self.name


class ReportRun(Model):
    __tablename__ = "report_run"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name="status_valid"),
        Index("ix_report_run_definition_started", "definition_id", "started_at"),
        # A scheduled slot runs once, even if two scheduler processes fired it.
        Index("uq_report_run_scheduled_slot", "definition_id", "scheduled_for", unique=True,
              sqlite_where=text("\"trigger\" = 'schedule'"), postgresql_where=text("\"trigger\" = 'schedule'")),
        Index("ix_report_run_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(
        ForeignKey("report_definition.id", ondelete="CASCADE"), nullable=False
    )
    status: Mapped[str] = mapped_column(String(10), default="queued", nullable=False)
    trigger: Mapped[str] = mapped_column(String(10), default="schedule", nullable=False)  # schedule / manual
    scheduled_for: Mapped[dt.datetime | None] = mapped_column(DateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    row_count: Mapped[int | None] = mapped_column(Integer)
    files: Mapped[list | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(80))
    #: 1, or 2 for the one retry of a run interrupted by a dead scheduler (trigger "retry").
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1", nullable=False)

    definition = relationship(ReportDefinition, back_populates="runs")

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    def __str__(self) -> str:
        return f"{self.definition} {self.started_at:%Y-%m-%d %H:%M}" if self.started_at else str(self.definition)
