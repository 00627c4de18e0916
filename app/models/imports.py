"""Customer and unit imports from CSV and Excel: a batch per uploaded file, its rows' outcomes, mapping templates."""
from __future__ import annotations

import datetime as dt

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import JSON, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model, TimestampMixin, VersionedMixin

IMPORT_KINDS = ("customers", "units")
IMPORT_STATUSES = ("uploaded", "checked", "queued", "running", "imported", "failed", "undone", "archived")


class ImportBatch(VersionedMixin, TimestampMixin, Model):
    """One uploaded file: kept as uploaded (the mapping can be changed and checked again), imported once."""

    __tablename__ = "import_batch"
    __table_args__ = (
        CheckConstraint("kind IN ('customers', 'units')", name="kind_valid"),
        CheckConstraint("status IN ('uploaded', 'checked', 'queued', 'running', 'imported', 'failed', 'undone',"
                        " 'archived')", name="status_valid"),
        CheckConstraint("file_format IN ('csv', 'xlsx')", name="format_valid"),
        Index("ix_import_batch_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(20), default="uploaded", nullable=False)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)  # as the user named it (display only)
    stored_name: Mapped[str] = mapped_column(String(80), nullable=False)  # random, under <upload dir>/imports/
    file_format: Mapped[str] = mapped_column(String(4), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    encoding: Mapped[str | None] = mapped_column(String(20))
    delimiter: Mapped[str | None] = mapped_column(String(1))
    headers: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    mapping: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)  # field -> header
    total_rows: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    valid_rows: Mapped[int | None] = mapped_column(Integer)
    error_rows: Mapped[int | None] = mapped_column(Integer)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    created_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    updated_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"))

    created_by = relationship(User)

    @property
    def display_number(self) -> str:
        return f"IMP-{self.id:06d}" if self.id else "IMP"

    def __str__(self) -> str:
        return f"{self.display_number} {self.filename}"


class ImportRow(Model):
    """What one row of a batch gave: a dry run's errors (``phase`` check) or an import's outcome (``run``).

    The ids are plain integers, not foreign keys: an undone import deletes the rows it created, and this
    record of what happened stays. ``before`` holds the values an update replaced (undo puts them back)."""

    __tablename__ = "import_row"
    __table_args__ = (
        CheckConstraint("phase IN ('check', 'run')", name="phase_valid"),
        CheckConstraint("outcome IN ('error', 'created', 'updated', 'skipped')", name="outcome_valid"),
        Index("ix_import_row_batch_phase", "batch_id", "phase", "row_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id", ondelete="CASCADE"), nullable=False)
    phase: Mapped[str] = mapped_column(String(5), nullable=False)
    row_number: Mapped[int] = mapped_column(Integer, nullable=False)  # as in the file (the header is row 1)
    outcome: Mapped[str] = mapped_column(String(10), nullable=False)
    errors: Mapped[dict | None] = mapped_column(JSON)  # field -> [message]
    customer_id: Mapped[int | None] = mapped_column(Integer)
    address_id: Mapped[int | None] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict | None] = mapped_column(JSON)


class ImportTemplate(TimestampMixin, Model):
    """A named column mapping, offered again for the next file of the same kind."""

    __tablename__ = "import_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    mapping: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)

    def __str__(self) -> str:
        return self.name
