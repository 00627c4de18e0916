"""Customer accounts, their portal users, addresses and units."""
from __future__ import annotations

import datetime as dt

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import ArchivableMixin, Model, TimestampMixin

CUSTOMER_KINDS = ("individual", "business", "reseller")
UNIT_KINDS = ("vehicle", "device", "equipment")

#: Event groups a customer can opt out of by e-mail (portal notifications always appear).
NOTIFICATION_GROUPS = ("requests", "estimates", "work_orders", "invoices", "shipments", "messages")


def default_preferences() -> dict:
    return {group: True for group in NOTIFICATION_GROUPS}


class Customer(ArchivableMixin, TimestampMixin, Model):
    __tablename__ = "customer"
    __table_args__ = (
        CheckConstraint("kind IN ('individual', 'business', 'reseller')", name="kind_valid"),
        Index("ix_customer_name", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), default="individual", nullable=False, index=True)
    email: Mapped[str | None] = mapped_column(String(255), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    tax_id: Mapped[str | None] = mapped_column(String(40))
    requires_invoice_authorization: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    locked: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    preferences: Mapped[dict] = mapped_column(JSON, default=default_preferences, nullable=False)
    language: Mapped[str | None] = mapped_column(String(5))
    notes: Mapped[str | None] = mapped_column(Text)  # internal, never shown to the customer
    default_service_address_id: Mapped[int | None] = mapped_column(
        ForeignKey("address.id", use_alter=True, ondelete="SET NULL")
    )
    default_billing_address_id: Mapped[int | None] = mapped_column(
        ForeignKey("address.id", use_alter=True, ondelete="SET NULL")
    )
    erased_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # personal data anonymised (privacy erasure)
    external_ref: Mapped[str | None] = mapped_column(String(80), index=True)  # the shop's old number (imports)

    default_service_address = relationship("Address", foreign_keys=[default_service_address_id], post_update=True)
    default_billing_address = relationship("Address", foreign_keys=[default_billing_address_id], post_update=True)
    addresses = relationship(
        "Address", foreign_keys="Address.customer_id", back_populates="customer", cascade="all, delete-orphan"
    )
    units = relationship("Unit", back_populates="customer", cascade="all, delete-orphan")
    portal_users = relationship("PortalUser", back_populates="customer", cascade="all, delete-orphan")

    @property
    def shut_out(self) -> bool:
        """Locked or archived: its portal users cannot log in, its data stays."""
        return bool(self.locked) or self.archived_at is not None

    @property
    def is_reseller(self) -> bool:
        return self.kind == "reseller"

    def wants_email(self, group: str) -> bool:
        return bool((self.preferences or {}).get(group, True))

    def __str__(self) -> str:
        return self.name


class PortalUser(TimestampMixin, Model):
    """Links a Flask-AppBuilder user to the customer account they act for."""

    __tablename__ = "portal_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), unique=True, nullable=False)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), nullable=False, index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    picture: Mapped[str | None] = mapped_column(String(255))  # stored upload name
    language: Mapped[str | None] = mapped_column(String(5))

    user = relationship(User)
    customer = relationship(Customer, back_populates="portal_users")

    @property
    def login_state(self) -> str:
        return "Active" if self.user is not None and self.user.active else "Archived"

    def __str__(self) -> str:
        return f"{self.user.username if self.user else self.user_id} @ {self.customer}"


def _shop_country(context) -> str:
    """An address inserted without a country (imports, seeds, the shop's add form) is in the shop's country."""
    query = text("SELECT country FROM settings ORDER BY id LIMIT 1")
    if context is None:  # FAB's forms ask for the default outside an insert
        from ..extensions import db

        row = db.session.execute(query).scalar()
    else:
        row = context.connection.execute(query).scalar()
    return (row or "DE").upper()


class Address(ArchivableMixin, TimestampMixin, Model):
    __tablename__ = "address"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), nullable=False, index=True)
    label: Mapped[str | None] = mapped_column(String(80))
    line1: Mapped[str] = mapped_column(String(200), nullable=False)
    line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100), nullable=False)
    state: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str] = mapped_column(String(20), nullable=False)
    # ISO 3166-1 alpha-2, upper case; app/core/addresses.py checks it. Not given: the shop's country.
    country: Mapped[str] = mapped_column(String(2), nullable=False, default=_shop_country)

    customer = relationship(Customer, foreign_keys=[customer_id], back_populates="addresses")

    def one_line(self) -> str:
        return ", ".join(p for p in (self.line1, self.line2, f"{self.postal_code} {self.city}", self.state) if p)

    def __str__(self) -> str:
        return f"{self.label}: {self.one_line()}" if self.label else self.one_line()


class Unit(ArchivableMixin, TimestampMixin, Model):
    """The customer's asset: a vehicle, a device or a piece of equipment."""

    __tablename__ = "unit"
    __table_args__ = (
        CheckConstraint("kind IN ('vehicle', 'device', 'equipment')", name="kind_valid"),
        UniqueConstraint("customer_id", "unit_number", name="uq_unit_customer_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(20), default="device", nullable=False)
    unit_number: Mapped[str | None] = mapped_column(String(40))
    make: Mapped[str | None] = mapped_column(String(80))
    model: Mapped[str | None] = mapped_column(String(80))
    serial_number: Mapped[str | None] = mapped_column(String(80), index=True)
    imei: Mapped[str | None] = mapped_column(String(20), index=True)
    vin: Mapped[str | None] = mapped_column(String(17), index=True)
    year: Mapped[int | None]
    notes: Mapped[str | None] = mapped_column(Text)
    external_ref: Mapped[str | None] = mapped_column(String(80), index=True)  # the shop's old number (imports)

    customer = relationship(Customer, back_populates="units")

    def __str__(self) -> str:
        name = " ".join(p for p in (self.make, self.model) if p) or self.kind
        ident = self.unit_number or self.serial_number or self.imei or self.vin
        return f"{name} ({ident})" if ident else name


Index("ix_unit_serial_number_lower", func.lower(Unit.serial_number))  # order search (migration 0005)
