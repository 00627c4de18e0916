"""Invoices, their lines and the payments against them."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import JSON, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import ZERO, Model, Money, NumberedMixin, Quantity, TimestampMixin, VersionedMixin, restrict, utcnow

INVOICE_STATUSES = ("draft", "awaiting_authorization", "open", "paid", "void")


class Invoice(NumberedMixin, VersionedMixin, TimestampMixin, Model):
    __tablename__ = "invoice"
    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'awaiting_authorization', 'open', 'paid', 'void')", name="status_valid"
        ),
        CheckConstraint("subtotal >= 0 AND tax >= 0 AND total >= 0 AND amount_paid >= 0", name="money_positive"),
        Index("ix_invoice_status_due", "status", "due_date"),
        Index("ix_invoice_customer_created", "customer_id", "created_at"),
    )
    NUMBER_PREFIX = "INV"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    customer_id: Mapped[int] = mapped_column(restrict("customer.id"), nullable=False)
    work_order_id: Mapped[int | None] = mapped_column(restrict("work_order.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), default="draft", nullable=False)
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0.00"), nullable=False)
    subtotal: Mapped[Decimal] = mapped_column(Money, default=ZERO, nullable=False)
    tax: Mapped[Decimal] = mapped_column(Money, default=ZERO, nullable=False)
    total: Mapped[Decimal] = mapped_column(Money, default=ZERO, nullable=False)
    amount_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO, nullable=False)
    issued_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    authorized_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    authorized_by_id: Mapped[int | None] = mapped_column(restrict("ab_user.id"))
    paid_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    void_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    # the customer queried it (SPEC §8): it keeps its state, flagged, until staff answer
    queried_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    # what it replaces: a voided invoice re-issued after a query (NO ACTION, like an estimate's previous
    # revision: checked at the end of the statement, so a wipe of the whole table is one statement)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)
    # the recipient as issued (name, address lines, tax id), kept here when the customer is erased
    recipient: Mapped[dict | None] = mapped_column(JSON)
    # the date or period of service as issued (the work order's clocked days, else its completion)
    service_from: Mapped[dt.date | None] = mapped_column(Date)
    service_to: Mapped[dt.date | None] = mapped_column(Date)

    customer = relationship("Customer")
    work_order = relationship("WorkOrder")
    authorized_by = relationship(User)
    lines = relationship("InvoiceLine", back_populates="invoice", order_by="InvoiceLine.position",
                         cascade="all, delete-orphan")
    payments = relationship("Payment", back_populates="invoice", order_by="Payment.received_at",
                            cascade="save-update, merge", passive_deletes="all")
    credit_notes = relationship("CreditNote", back_populates="invoice", order_by="CreditNote.issued_at",
                                cascade="save-update, merge", passive_deletes="all")
    notes = relationship("InvoiceNote", back_populates="invoice", order_by="InvoiceNote.created_at",
                         cascade="save-update, merge", passive_deletes="all")
    replaces = relationship("Invoice", remote_side="Invoice.id", foreign_keys=[replaces_id])

    @property
    def balance(self) -> Decimal:
        return (self.total or ZERO) - (self.amount_paid or ZERO)

    @property
    def credited(self) -> Decimal:
        """What credit notes took back (a positive amount)."""
        return -sum((note.total for note in self.credit_notes), ZERO)


class BilledLineMixin:
    """What an invoice line and a credit note line share: a kind, a description, quantity × unit price."""

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    kind: Mapped[str] = mapped_column(String(10), default="labour", nullable=False)
    part_number: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(String(255), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Money, nullable=False)
    # the line's own tax rate (%), e.g. a reduced rate; None: the document's rate
    tax_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))

    def __str__(self) -> str:
        return self.description


class InvoiceNote(Model):
    """The query log of an invoice (the dispute log of estimates, for invoices): the customer's query, the
    shop's answer and what followed, visible to both sides."""

    __tablename__ = "invoice_note"
    __table_args__ = (
        CheckConstraint("side IN ('customer', 'staff')", name="side_valid"),
        CheckConstraint("kind IN ('query', 'answer', 'note')", name="kind_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(restrict("invoice.id"), nullable=False, index=True)
    side: Mapped[str] = mapped_column(String(10), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), default="note", nullable=False)
    author_id: Mapped[int | None] = mapped_column(restrict("ab_user.id"))
    text: Mapped[str] = mapped_column(Text, nullable=False)
    line_ids: Mapped[str | None] = mapped_column(String(200))  # the queried lines: "3,5"
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    invoice = relationship(Invoice, back_populates="notes")
    author = relationship(User)

    def __str__(self) -> str:
        return f"{self.side} {self.kind}: {self.text[:40]}"


class InvoiceLine(BilledLineMixin, Model):
    __tablename__ = "invoice_line"
    __table_args__ = (
        CheckConstraint("kind IN ('labour', 'part', 'other')", name="kind_valid"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="price_positive"),
    )

    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"), nullable=False, index=True)
    # labour from clocked time: the raw minutes clocked, before the shop's rounding rule
    clocked_minutes: Mapped[int | None] = mapped_column(Integer)

    invoice = relationship(Invoice, back_populates="lines")


class Payment(Model):
    __tablename__ = "payment"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(restrict("invoice.id"), nullable=False, index=True)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    method: Mapped[str] = mapped_column(String(20), nullable=False)  # cash, card, transfer, online, cheque
    reference: Mapped[str | None] = mapped_column(String(120))
    provider: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False, index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(restrict("ab_user.id"))

    invoice = relationship(Invoice, back_populates="payments")
    recorded_by = relationship(User)

    def __str__(self) -> str:
        return f"{self.amount} {self.method}"


class CreditNote(NumberedMixin, Model):
    """The correction of a paid invoice (``CN-000001``): negative lines, linked to the invoice it corrects.

    Issued when it is made and never changed afterwards (``models.guards``); the invoice keeps its number,
    lines and payments, and its PDF and the revenue report show what was credited."""

    __tablename__ = "credit_note"
    __table_args__ = (CheckConstraint("subtotal <= 0 AND tax <= 0 AND total <= 0", name="money_negative"),)
    NUMBER_PREFIX = "CN"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    invoice_id: Mapped[int] = mapped_column(restrict("invoice.id"), nullable=False, index=True)
    customer_id: Mapped[int] = mapped_column(restrict("customer.id"), nullable=False, index=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)
    subtotal: Mapped[Decimal] = mapped_column(Money, nullable=False)
    tax: Mapped[Decimal] = mapped_column(Money, nullable=False)
    total: Mapped[Decimal] = mapped_column(Money, nullable=False)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False, index=True)
    created_by_id: Mapped[int | None] = mapped_column(restrict("ab_user.id"))

    invoice = relationship(Invoice, back_populates="credit_notes")
    customer = relationship("Customer")
    created_by = relationship(User)
    lines = relationship("CreditNoteLine", back_populates="credit_note", order_by="CreditNoteLine.position",
                         cascade="all, delete-orphan")


class CreditNoteLine(BilledLineMixin, Model):
    """A credited line: the invoice line it takes back (if any), its quantity, a negative unit price."""

    __tablename__ = "credit_note_line"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),
                      CheckConstraint("unit_price <= 0", name="price_negative"))

    credit_note_id: Mapped[int] = mapped_column(ForeignKey("credit_note.id", ondelete="CASCADE"), nullable=False,
                                                index=True)
    invoice_line_id: Mapped[int | None] = mapped_column(restrict("invoice_line.id"), index=True)

    credit_note = relationship(CreditNote, back_populates="lines")
