"""Shop-wide settings and the reference lists staff pick from."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Integer, LargeBinary, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Model, TimestampMixin


class Settings(TimestampMixin, Model):
    """One row: the shop's identity and the knobs of its workflow."""

    __tablename__ = "settings"
    __table_args__ = (
        CheckConstraint("tax_rate >= 0 AND tax_rate < 100", name="tax_rate_range"),
        CheckConstraint("magic_link_hours > 0", name="magic_link_positive"),
        CheckConstraint("photo_limit >= 0", name="photo_limit_positive"),
        CheckConstraint("slot_capacity > 0", name="slot_capacity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_name: Mapped[str] = mapped_column(String(120), default="Portico Service", nullable=False)
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(40))
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_content_type: Mapped[str | None] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3), default="EUR", nullable=False)
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("19.00"), nullable=False)
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin", nullable=False)
    base_url: Mapped[str | None] = mapped_column(String(255))
    mail_sender: Mapped[str | None] = mapped_column(String(255))
    staff_email: Mapped[str | None] = mapped_column(String(255))
    magic_link_hours: Mapped[int] = mapped_column(Integer, default=2, nullable=False)
    photo_limit: Mapped[int] = mapped_column(Integer, default=4, nullable=False)
    slot_capacity: Mapped[int] = mapped_column(Integer, default=4, nullable=False)
    request_stale_hours: Mapped[int] = mapped_column(Integer, default=24, nullable=False)
    labour_rate: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("95.00"), nullable=False)
    invoice_labour_source: Mapped[str] = mapped_column(String(20), default="time_entries", nullable=False)
    invoice_due_days: Mapped[int] = mapped_column(Integer, default=14, nullable=False)
    paper_size: Mapped[str] = mapped_column(String(10), default="A4", nullable=False)
    export_retention_days: Mapped[int] = mapped_column(Integer, default=90, nullable=False)

    def __str__(self) -> str:
        return self.shop_name


class ServiceType(Model):
    __tablename__ = "service_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)

    def __str__(self) -> str:
        return self.name


class ServiceLocation(Model):
    __tablename__ = "service_location"
    __table_args__ = (CheckConstraint("slot_capacity IS NULL OR slot_capacity > 0", name="capacity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True, nullable=False)
    line1: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(255))
    slot_capacity: Mapped[int | None] = mapped_column(Integer)  # None: the shop-wide setting
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)

    def __str__(self) -> str:
        return self.name

    @property
    def postal_address(self) -> str:
        parts = [self.name, self.line1, " ".join(p for p in (self.postal_code, self.city) if p), self.state]
        return "\n".join(p for p in parts if p)


class ShippingMethod(Model):
    __tablename__ = "shipping_method"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    carrier: Mapped[str | None] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)

    def __str__(self) -> str:
        return self.name
