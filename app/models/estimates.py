"""Estimates with labour lines, part lines under them, and the dispute log."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import ZERO, Model, Money, NumberedMixin, Quantity, TimestampMixin, VersionedMixin, restrict, utcnow

ESTIMATE_STATUSES = ("draft", "sent", "approved", "declined", "disputed", "superseded", "cancelled")


class Estimate(NumberedMixin, VersionedMixin, TimestampMixin, Model):
    __tablename__ = "estimate"
    __table_args__ = (
        UniqueConstraint("number", "revision", name="uq_estimate_number_revision"),
        CheckConstraint(
            "status IN ('draft', 'sent', 'approved', 'declined', 'disputed', 'superseded', 'cancelled')",
            name="status_valid",
        ),
        CheckConstraint("revision >= 1", name="revision_positive"),
        CheckConstraint("subtotal >= 0 AND tax >= 0 AND total >= 0", name="money_positive"),
        Index("ix_estimate_status_created", "status", "created_at"),
        Index("ix_estimate_customer_created", "customer_id", "created_at"),
    )
    NUMBER_PREFIX = "EST"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    revision: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    customer_id: Mapped[int] = mapped_column(restrict("customer.id"), nullable=False)
    service_request_id: Mapped[int | None] = mapped_column(restrict("service_request.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(restrict("unit.id"))
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("estimate.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", nullable=False)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0.00"), nullable=False)
    subtotal: Mapped[Decimal] = mapped_column(Money, default=ZERO, nullable=False)
    tax: Mapped[Decimal] = mapped_column(Money, default=ZERO, nullable=False)
    total: Mapped[Decimal] = mapped_column(Money, default=ZERO, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)  # shown to the customer
    decline_reason: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    created_by_id: Mapped[int | None] = mapped_column(restrict("ab_user.id"))

    customer = relationship("Customer")
    service_request = relationship("ServiceRequest")
    unit = relationship("Unit")
    previous = relationship("Estimate", remote_side=[id], back_populates="next_revision")
    next_revision = relationship("Estimate", back_populates="previous", uselist=False)
    created_by = relationship(User)
    labour_lines = relationship(
        "LabourLine", back_populates="estimate", order_by="LabourLine.position", cascade="all, delete-orphan"
    )

    @property
    def display_number(self) -> str:
        return self.number if self.revision == 1 else f"{self.number}-R{self.revision}"

    @property
    def part_lines(self) -> list[PartLine]:
        return [part for line in self.labour_lines for part in line.parts]

    def __str__(self) -> str:
        return self.display_number

    @property
    def approval(self) -> dict:
        """"approved 3 of 5 lines, 412.00 of 690.00": the labour lines (net, with their parts) the customer
        approved, once they answered line by line; before that every line counts as approved."""
        approved = [line for line in self.labour_lines if line.decision != "declined"]
        return {"lines": len(self.labour_lines), "approved": len(approved),
                "declined": len(self.labour_lines) - len(approved),
                "approved_net": sum((line.total_with_parts for line in approved), ZERO),
                "net": sum((line.total_with_parts for line in self.labour_lines), ZERO)}


class LabourLine(Model):
    __tablename__ = "labour_line"
    __table_args__ = (
        CheckConstraint("hours >= 0", name="hours_positive"),
        CheckConstraint("rate >= 0", name="rate_positive"),
        CheckConstraint("decision IS NULL OR decision IN ('approved', 'declined')", name="decision_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    estimate_id: Mapped[int] = mapped_column(ForeignKey("estimate.id", ondelete="CASCADE"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    description: Mapped[str] = mapped_column(String(255), nullable=False)
    hours: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    rate: Mapped[Decimal] = mapped_column(Money, nullable=False)
    disputed: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    dispute_note: Mapped[str | None] = mapped_column(Text)
    # the customer's answer when the estimate was approved: approved (goes to the work order) or declined
    decision: Mapped[str | None] = mapped_column(String(10))
    decline_reason: Mapped[str | None] = mapped_column(Text)

    estimate = relationship(Estimate, back_populates="labour_lines")
    parts = relationship(
        "PartLine", back_populates="labour_line", order_by="PartLine.position", cascade="all, delete-orphan"
    )

    @property
    def amount(self) -> Decimal:
        return (self.hours * self.rate).quantize(Decimal("0.01"))

    @property
    def total_with_parts(self) -> Decimal:
        """The line's labour and its parts, before tax (what approving or declining it is worth)."""
        return self.amount + sum((part.amount for part in self.parts), Decimal("0.00"))

    def __str__(self) -> str:
        return self.description


class PartLine(Model):
    """A part always belongs to a labour line."""

    __tablename__ = "part_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    labour_line_id: Mapped[int] = mapped_column(
        ForeignKey("labour_line.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    part_number: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(String(255), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Money, nullable=False)
    disputed: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    dispute_note: Mapped[str | None] = mapped_column(Text)

    labour_line = relationship(LabourLine, back_populates="parts")

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))

    def __str__(self) -> str:
        return f"{self.part_number or ''} {self.description}".strip()


class DisputeNote(Model):
    """One log per estimate number, across its revisions, visible to both sides."""

    __tablename__ = "dispute_note"
    __table_args__ = (CheckConstraint("side IN ('customer', 'staff')", name="side_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    estimate_number: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    estimate_id: Mapped[int] = mapped_column(restrict("estimate.id"), nullable=False, index=True)
    side: Mapped[str] = mapped_column(String(10), nullable=False)
    author_id: Mapped[int | None] = mapped_column(restrict("ab_user.id"))
    text: Mapped[str] = mapped_column(Text, nullable=False)
    line_ref: Mapped[str | None] = mapped_column(String(40))  # e.g. "labour:3" or "part:7"
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    estimate = relationship(Estimate)
    author = relationship(User)

    def __str__(self) -> str:
        return f"{self.side}: {self.text[:40]}"


def dispute_log(est: Estimate) -> list[DisputeNote]:
    """The dispute log of an estimate: one log per estimate number, across every revision, oldest first."""
    from sqlalchemy import select

    from ..extensions import db

    return list(db.session.scalars(
        select(DisputeNote).where(DisputeNote.estimate_number == est.number)
        .order_by(DisputeNote.created_at, DisputeNote.id)
    ))
