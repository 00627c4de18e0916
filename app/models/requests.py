"""Service requests, the booking negotiation and uploaded files."""
from __future__ import annotations

import datetime as dt

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    Time,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model, NumberedMixin, TimestampMixin, VersionedMixin, restrict, utcnow

REQUEST_STATUSES = ("new", "time_proposed", "accepted", "rejected", "cancelled", "resolved")
SLOTS = ("morning", "afternoon", "evening", "custom")


class ServiceRequest(NumberedMixin, VersionedMixin, TimestampMixin, Model):
    __tablename__ = "service_request"
    __table_args__ = (
        CheckConstraint(
            "status IN ('new', 'time_proposed', 'accepted', 'rejected', 'cancelled', 'resolved')",
            name="status_valid",
        ),
        CheckConstraint("preferred_slot IN ('morning', 'afternoon', 'evening', 'custom')", name="slot_valid"),
        Index("ix_service_request_status_date", "status", "preferred_date"),
        Index("ix_service_request_customer_created", "customer_id", "created_at"),
        Index("ix_service_request_booking", "service_location_id", "scheduled_start"),
        Index("ix_service_request_scheduled", "status", "scheduled_start"),
    )
    NUMBER_PREFIX = "REQ"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    customer_id: Mapped[int] = mapped_column(restrict("customer.id"), nullable=False)
    service_type_id: Mapped[int] = mapped_column(restrict("service_type.id"), nullable=False, index=True)
    service_location_id: Mapped[int | None] = mapped_column(restrict("service_location.id"))
    address_id: Mapped[int | None] = mapped_column(restrict("address.id"))
    unit_id: Mapped[int | None] = mapped_column(restrict("unit.id"), index=True)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    summary: Mapped[str | None] = mapped_column(Text)
    preferred_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    preferred_slot: Mapped[str] = mapped_column(String(10), default="morning", nullable=False)
    preferred_time: Mapped[dt.time | None] = mapped_column(Time)
    estimate_required: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    status: Mapped[str] = mapped_column(String(20), default="new", nullable=False)
    scheduled_start: Mapped[dt.datetime | None] = mapped_column(DateTime)
    scheduled_slot: Mapped[str | None] = mapped_column(String(10))
    # the end of the booking: start + the service type's duration (capacity is taken in every slot between)
    scheduled_end: Mapped[dt.datetime | None] = mapped_column(DateTime)
    calendar_sequence: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # the .ics SEQUENCE
    reminder_sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    decline_reason: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(10), default="staff", nullable=False)  # public / portal / staff
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(255))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    created_by_id: Mapped[int | None] = mapped_column(restrict("ab_user.id"))

    customer = relationship("Customer")
    service_type = relationship("ServiceType")
    service_location = relationship("ServiceLocation")
    address = relationship("Address")
    unit = relationship("Unit")
    created_by = relationship(User)
    proposals = relationship(
        "TimeProposal", back_populates="service_request", order_by="TimeProposal.created_at",
        cascade="save-update, merge", passive_deletes="all",
    )
    attachments = relationship("Attachment", back_populates="service_request")


class TimeProposal(Model):
    """One step of the booking negotiation, shown to both sides."""

    __tablename__ = "time_proposal"
    __table_args__ = (CheckConstraint("proposed_by IN ('staff', 'customer')", name="side_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_request_id: Mapped[int] = mapped_column(
        restrict("service_request.id"), nullable=False, index=True
    )
    proposed_by: Mapped[str] = mapped_column(String(10), nullable=False)
    user_id: Mapped[int | None] = mapped_column(restrict("ab_user.id"))
    start: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    # open, then accepted (booked), superseded (a newer proposal or a booking) or withdrawn (declined, cancelled)
    outcome: Mapped[str] = mapped_column(String(12), default="open", nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    service_request = relationship(ServiceRequest, back_populates="proposals")
    user = relationship(User)

    def __str__(self) -> str:
        return f"{self.proposed_by} proposed {self.start:%Y-%m-%d %H:%M}"


class Attachment(Model):
    """A file a customer or staff member uploaded. Stored outside static/ under a random name."""

    __tablename__ = "attachment"
    __table_args__ = (
        CheckConstraint("size_bytes >= 0", name="size_positive"),
        CheckConstraint(
            "service_request_id IS NOT NULL OR work_order_id IS NOT NULL", name="has_owner"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(restrict("customer.id"), nullable=False, index=True)
    service_request_id: Mapped[int | None] = mapped_column(
        restrict("service_request.id"), index=True
    )
    work_order_id: Mapped[int | None] = mapped_column(restrict("work_order.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    stored_name: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    public: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(restrict("ab_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    service_request = relationship(ServiceRequest, back_populates="attachments")
    work_order = relationship("WorkOrder", back_populates="attachments")
    uploaded_by = relationship(User)

    def __str__(self) -> str:
        return self.filename
