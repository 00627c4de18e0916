"""Work orders (jobs, inspections, repair orders), their work items, time entries and messages."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model, Money, NumberedMixin, Quantity, TimestampMixin, VersionedMixin, restrict, utcnow

WORK_ORDER_STATUSES = (
    "pending_confirmation", "confirmed", "received", "in_progress", "ready", "completed", "cancelled",
)
WORK_ORDER_KINDS = ("job", "inspection", "repair")
#: The portal's three tabs.
PORTAL_TABS = {
    "new": ("pending_confirmation", "confirmed"),
    "at_location": ("received", "in_progress", "ready"),
    "completed": ("completed", "cancelled"),
}


class WorkOrder(NumberedMixin, VersionedMixin, TimestampMixin, Model):
    __tablename__ = "work_order"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending_confirmation', 'confirmed', 'received', 'in_progress', 'ready', "
            "'completed', 'cancelled')",
            name="status_valid",
        ),
        CheckConstraint("kind IN ('job', 'inspection', 'repair')", name="kind_valid"),
        Index("ix_work_order_status_created", "status", "created_at"),
        Index("ix_work_order_customer_created", "customer_id", "created_at"),
        Index("ix_work_order_technician_status", "technician_id", "status"),
        Index("ix_work_order_shipping_group", "customer_id", "status", "service_location_id", "shipping_method_id"),
    )
    NUMBER_PREFIX = "WO"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(12), default="job", nullable=False)
    status: Mapped[str] = mapped_column(String(24), default="confirmed", nullable=False)
    customer_id: Mapped[int] = mapped_column(restrict("customer.id"), nullable=False)
    unit_id: Mapped[int | None] = mapped_column(restrict("unit.id"), index=True)
    service_request_id: Mapped[int | None] = mapped_column(restrict("service_request.id"), index=True)
    estimate_id: Mapped[int | None] = mapped_column(restrict("estimate.id"), index=True)
    service_location_id: Mapped[int | None] = mapped_column(restrict("service_location.id"))
    shipping_method_id: Mapped[int | None] = mapped_column(restrict("shipping_method.id"))
    shipment_id: Mapped[int | None] = mapped_column(restrict("shipment.id"), index=True)
    technician_id: Mapped[int | None] = mapped_column(restrict("ab_user.id"))
    fault: Mapped[str | None] = mapped_column(Text)
    accessories: Mapped[str | None] = mapped_column(Text)
    customer_reference: Mapped[str | None] = mapped_column(String(80), index=True)
    internal_reference: Mapped[str | None] = mapped_column(String(80), index=True)
    tracking_number: Mapped[str | None] = mapped_column(String(80), index=True)
    public_notes: Mapped[str | None] = mapped_column(Text)
    internal_notes: Mapped[str | None] = mapped_column(Text)
    scheduled_start: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    scheduled_end: Mapped[dt.datetime | None] = mapped_column(DateTime)
    received_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    ready_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(restrict("ab_user.id"))

    customer = relationship("Customer")
    unit = relationship("Unit")
    service_request = relationship("ServiceRequest")
    estimate = relationship("Estimate")
    service_location = relationship("ServiceLocation")
    shipping_method = relationship("ShippingMethod")
    shipment = relationship("Shipment", back_populates="work_orders")
    technician = relationship(User, foreign_keys=[technician_id])
    created_by = relationship(User, foreign_keys=[created_by_id])
    items = relationship("WorkItem", back_populates="work_order", order_by="WorkItem.position",
                         cascade="all, delete-orphan")
    time_entries = relationship("TimeEntry", back_populates="work_order", order_by="TimeEntry.started_at",
                                cascade="save-update, merge", passive_deletes="all")
    messages = relationship("OrderMessage", back_populates="work_order", order_by="OrderMessage.created_at",
                            cascade="save-update, merge", passive_deletes="all")
    attachments = relationship("Attachment", back_populates="work_order")


# Case-insensitive exact search (app.services.search, migration 0005).
for _column in ("customer_reference", "internal_reference", "tracking_number"):
    Index(f"ix_work_order_{_column}_lower", func.lower(getattr(WorkOrder, _column)))


class WorkItem(Model):
    """A task on the work order (from an approved labour line) or a part used under one."""

    __tablename__ = "work_item"
    __table_args__ = (
        CheckConstraint("kind IN ('labour', 'part')", name="kind_valid"),
        CheckConstraint("quantity >= 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_order.id", ondelete="CASCADE"), nullable=False, index=True
    )
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("work_item.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    kind: Mapped[str] = mapped_column(String(10), default="labour", nullable=False)
    part_number: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(String(255), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal("1.00"))  # hours for labour
    unit_price: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0.00"))
    done: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    labour_line_id: Mapped[int | None] = mapped_column(ForeignKey("labour_line.id", ondelete="SET NULL"))

    work_order = relationship(WorkOrder, back_populates="items")
    parent = relationship("WorkItem", remote_side=[id])

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))

    def __str__(self) -> str:
        return self.description


class TimeEntry(Model):
    """A technician's clocked time. At most one open entry per technician (partial unique index)."""

    __tablename__ = "time_entry"
    __table_args__ = (
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
        Index(
            "uq_time_entry_one_open_per_technician", "technician_id", unique=True,
            sqlite_where="ended_at IS NULL", postgresql_where="ended_at IS NULL",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(
        restrict("work_order.id"), nullable=False, index=True
    )
    technician_id: Mapped[int] = mapped_column(restrict("ab_user.id"), nullable=False)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False, index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(Text)

    work_order = relationship(WorkOrder, back_populates="time_entries")
    technician = relationship(User)

    @property
    def hours(self) -> Decimal:
        end = self.ended_at or utcnow()
        return (Decimal((end - self.started_at).total_seconds()) / Decimal(3600)).quantize(Decimal("0.01"))

    @property
    def minutes(self) -> int:
        """The raw clocked minutes (what billing rounds; staff see both)."""
        end = self.ended_at or utcnow()
        return int((end - self.started_at).total_seconds() // 60)

    def __str__(self) -> str:
        return f"{self.technician} {self.started_at:%Y-%m-%d %H:%M}"


class OrderMessage(Model):
    """Messages between customer and technicians (public) and internal notes (public = False)."""

    __tablename__ = "order_message"
    __table_args__ = (CheckConstraint("side IN ('customer', 'staff')", name="side_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(
        restrict("work_order.id"), nullable=False, index=True
    )
    author_id: Mapped[int | None] = mapped_column(restrict("ab_user.id"))
    side: Mapped[str] = mapped_column(String(10), nullable=False)
    public: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    work_order = relationship(WorkOrder, back_populates="messages")
    author = relationship(User)

    def __str__(self) -> str:
        return self.text[:60]
