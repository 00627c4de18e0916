"""A reseller's shipment of confirmed work orders to one service location."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model, NumberedMixin, TimestampMixin, VersionedMixin, restrict

SHIPMENT_STATUSES = ("draft", "confirmed", "received")


class Shipment(NumberedMixin, VersionedMixin, TimestampMixin, Model):
    __tablename__ = "shipment"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'confirmed', 'received')", name="status_valid"),
        Index("ix_shipment_customer_created", "customer_id", "created_at"),
        Index("ix_shipment_status", "status"),
    )
    NUMBER_PREFIX = "SHP"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    customer_id: Mapped[int] = mapped_column(restrict("customer.id"), nullable=False)
    service_location_id: Mapped[int] = mapped_column(restrict("service_location.id"), nullable=False)
    shipping_method_id: Mapped[int] = mapped_column(restrict("shipping_method.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(12), default="draft", nullable=False)
    tracking_number: Mapped[str | None] = mapped_column(String(80))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    received_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    customer = relationship("Customer")
    service_location = relationship("ServiceLocation")
    shipping_method = relationship("ShippingMethod")
    work_orders = relationship("WorkOrder", back_populates="shipment")
