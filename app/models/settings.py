"""Shop-wide settings and the reference lists staff pick from."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import LocalizedNameMixin, Model, TimestampMixin, utcnow

#: The slot grid of a location that says nothing else (SPEC §8: 60 minutes).
DEFAULT_SLOT_MINUTES = 60
#: Monday first, as ``date.weekday()`` counts.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BOOKING_MODES = ("request", "instant")


class Settings(TimestampMixin, Model):
    """One row: the shop's identity and the knobs of its workflow."""

    __tablename__ = "settings"
    __table_args__ = (
        CheckConstraint("tax_rate >= 0 AND tax_rate < 100", name="tax_rate_range"),
        CheckConstraint("magic_link_hours > 0", name="magic_link_positive"),
        CheckConstraint("photo_limit >= 0", name="photo_limit_positive"),
        CheckConstraint("slot_capacity > 0", name="slot_capacity_positive"),
        CheckConstraint("time_rounding IN ('exact', '6', '15', '30')", name="time_rounding_valid"),
        CheckConstraint("minimum_charge_minutes >= 0", name="minimum_charge_positive"),
        CheckConstraint("label_format IN ('a6', '4x6', 'a4x4')", name="label_format_valid"),
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
    # how long invoices (with the recipient as issued) are kept after a customer's erasure, in years
    privacy_retention_years: Mapped[int] = mapped_column(Integer, default=10, server_default="10", nullable=False)
    # billable time: clocked minutes rounded up to this step ("exact", "6", "15", "30"), at least the minimum
    time_rounding: Mapped[str] = mapped_column(String(10), default="exact", nullable=False)
    minimum_charge_minutes: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # shipping labels: "a6" (105 × 148 mm thermal), "4x6" (4 × 6 in thermal) or "a4x4" (four A6 on A4)
    label_format: Mapped[str] = mapped_column(String(10), default="a6", nullable=False)
    # the local time of day the booking reminders for the next day go out; None: no reminders
    reminder_time: Mapped[dt.time | None] = mapped_column(Time, default=dt.time(10, 0))
    # what a tax office asks of an invoice (UStG §14 as the example; nothing here is German-only)
    legal_name: Mapped[str | None] = mapped_column(String(200))  # None: the shop name
    vat_id: Mapped[str | None] = mapped_column(String(20))  # with its country prefix, e.g. DE123456788
    tax_number: Mapped[str | None] = mapped_column(String(40))
    registered_office: Mapped[str | None] = mapped_column(String(200))
    register_court: Mapped[str | None] = mapped_column(String(120))
    register_number: Mapped[str | None] = mapped_column(String(60))
    managing_directors: Mapped[str | None] = mapped_column(String(300))
    bank_name: Mapped[str | None] = mapped_column(String(120))
    iban: Mapped[str | None] = mapped_column(String(34))  # compact, without spaces
    bic: Mapped[str | None] = mapped_column(String(11))
    payment_terms: Mapped[str | None] = mapped_column(Text)
    # small-business exemption (e.g. §19 UStG): no tax charged, the text printed on invoices
    small_business: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0", nullable=False)
    small_business_text: Mapped[str | None] = mapped_column(Text)  # None: the default sentence
    document_footer: Mapped[str | None] = mapped_column(Text)
    # the language of a person who chose none and whose browser asks for none the shop speaks (None: config's)
    default_language: Mapped[str | None] = mapped_column(String(5))
    # the shop's country (ISO 3166-1 alpha-2): a new address's default, and no country line on its own addresses
    country: Mapped[str | None] = mapped_column(String(2), default="DE")

    def __str__(self) -> str:
        return self.shop_name

    @property
    def has_logo(self) -> str:
        return f"{self.logo_content_type}, {len(self.logo) // 1024} KB" if self.logo else "—"

    @property
    def upcoming_closed_days(self) -> str:
        from sqlalchemy import select
        from sqlalchemy.orm import object_session

        session = object_session(self)
        if session is None:
            return ""
        rows = session.scalars(select(ClosedDay).where(ClosedDay.service_location_id.is_(None),
                                                       ClosedDay.day >= dt.date.today()).order_by(ClosedDay.day))
        return ", ".join(str(row) for row in rows) or "—"


class ServiceType(LocalizedNameMixin, Model):
    __tablename__ = "service_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    # None: one slot of the location it is booked at
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    # "request": a chosen free slot is a wish the shop confirms; "instant": it is booked at once
    booking_mode: Mapped[str] = mapped_column(String(10), default="request", nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)

    __table_args__ = (
        CheckConstraint("duration_minutes IS NULL OR duration_minutes > 0", name="duration_positive"),
        CheckConstraint("booking_mode IN ('request', 'instant')", name="booking_mode_valid"),
    )

class ServiceLocation(LocalizedNameMixin, Model):
    __tablename__ = "service_location"
    __table_args__ = (
        CheckConstraint("slot_capacity IS NULL OR slot_capacity > 0", name="capacity_positive"),
        CheckConstraint("slot_minutes > 0 AND 1440 % slot_minutes = 0", name="slot_divides_day"),
    )

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
    slot_minutes: Mapped[int] = mapped_column(Integer, default=DEFAULT_SLOT_MINUTES, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)

    hours = relationship("OpeningHours", order_by="(OpeningHours.weekday, OpeningHours.opens)",
                         cascade="all, delete-orphan", back_populates="service_location")

    @property
    def opening_hours(self) -> str:
        """"Mon 08:00-12:00, 13:00-17:00 · Tue …" (what the show page says)."""
        days = []
        for weekday, name in enumerate(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")):
            windows = [f"{h.opens:%H:%M}-{h.closes:%H:%M}" for h in self.hours if h.weekday == weekday]
            if windows:
                days.append(f"{name} {', '.join(windows)}")
        return " · ".join(days) or "None: requests here keep a preferred day and time of day (no slots)."

    @property
    def upcoming_closed_days(self) -> str:
        from sqlalchemy import select
        from sqlalchemy.orm import object_session

        session = object_session(self)
        if session is None or self.id is None:
            return ""
        rows = session.scalars(select(ClosedDay).where(ClosedDay.service_location_id == self.id,
                                                       ClosedDay.day >= dt.date.today()).order_by(ClosedDay.day))
        return ", ".join(str(row) for row in rows) or "—"

    @property
    def postal_address(self) -> str:
        parts = [self.local_name, self.line1, " ".join(p for p in (self.postal_code, self.city) if p), self.state]
        return "\n".join(p for p in parts if p)


class ShippingMethod(LocalizedNameMixin, Model):
    __tablename__ = "shipping_method"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    carrier: Mapped[str | None] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)

class WorkItemTemplate(LocalizedNameMixin, Model):
    """A standard job or part the shop puts on estimates again and again ("Oil change", "Diagnosis",
    "Brake pads front"): its English ``name`` (the fallback), ``names`` per language, and what a line made from
    it starts with. The estimate builder offers them by the customer's language; a line made from one is a
    copy (changing the template later changes no estimate)."""

    __tablename__ = "work_item_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default="labour", nullable=False)
    name: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    part_number: Mapped[str | None] = mapped_column(String(80))
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("1.00"), nullable=False)
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)

    __table_args__ = (
        CheckConstraint("kind IN ('labour', 'part')", name="kind_valid"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price IS NULL OR unit_price >= 0", name="price_not_negative"),
    )


class OpeningHours(Model):
    """One opening window of a location on a weekday (a day may have several: 08:00–12:00, 13:00–17:00).

    A location without any is not bookable by slot: its requests keep a preferred day and time of day.
    """

    __tablename__ = "opening_hours"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_valid"),
        CheckConstraint("opens < closes", name="opens_before_closes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_location_id: Mapped[int] = mapped_column(
        ForeignKey("service_location.id", ondelete="CASCADE"), nullable=False, index=True)
    weekday: Mapped[int] = mapped_column(Integer, nullable=False)  # 0 = Monday
    opens: Mapped[dt.time] = mapped_column(Time, nullable=False)
    closes: Mapped[dt.time] = mapped_column(Time, nullable=False)

    service_location = relationship(ServiceLocation, back_populates="hours")

    def __str__(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.opens:%H:%M}–{self.closes:%H:%M}"


class ClosedDay(Model):
    """A day a location (or, without one, the whole shop) takes no bookings: a holiday, a stock-take."""

    __tablename__ = "closed_day"
    __table_args__ = (UniqueConstraint("service_location_id", "day", name="uq_closed_day_location_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_location_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_location.id", ondelete="CASCADE"), index=True)
    day: Mapped[dt.date] = mapped_column(Date, nullable=False, index=True)
    name: Mapped[str | None] = mapped_column(String(120))

    service_location = relationship(ServiceLocation)

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.name or ''}".strip()


class CalendarFeed(Model):
    """The private iCalendar feed of a technician or a location: only a hash of its token is kept."""

    __tablename__ = "calendar_feed"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (service_location_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), unique=True)
    service_location_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_location.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    last_read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user = relationship(User)
    service_location = relationship(ServiceLocation)
