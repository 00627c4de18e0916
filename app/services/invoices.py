"""Invoices from ready or completed work orders, customer authorization, payments (SPEC §3, Invoice)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from ..core.actors import Actor
from ..core.errors import InvalidTransition, ValidationFailed
from ..core.settings import get_settings, money, tax_for
from ..extensions import db
from ..models import ZERO, Invoice, InvoiceLine, Payment, WorkOrder, utcnow
from . import notify, numbering
from .common import check_version, commit, dispatch
from .workflow import CREATE, StateMachine, Transition

PAYMENT_METHODS = ("cash", "card", "transfer", "cheque", "online")


def _needs_authorization(invoice: Invoice) -> bool:
    return bool(invoice.customer and invoice.customer.requires_invoice_authorization)


MACHINE = StateMachine("invoice", [
    Transition((CREATE,), "create", ("staff",), "draft"),
    Transition(("draft",), "submit", ("staff",), "awaiting_authorization", guard=_needs_authorization),
    Transition(("draft",), "submit", ("staff",), "open", guard=lambda inv: not _needs_authorization(inv)),
    Transition(("awaiting_authorization",), "authorize", ("customer",), "open"),
    Transition(("open",), "pay", ("staff", "system"), "paid"),
    Transition(("draft", "awaiting_authorization", "open"), "void", ("staff",), "void", reason_required=True),
])


def _link(invoice: Invoice) -> str:
    return f"/portal/invoices/{invoice.id}"


def recompute(invoice: Invoice) -> None:
    invoice.subtotal = sum((line.amount for line in invoice.lines), ZERO)
    invoice.tax = tax_for(invoice.subtotal, invoice.tax_rate or ZERO)
    invoice.total = invoice.subtotal + invoice.tax


def _labour_lines(order: WorkOrder) -> list[InvoiceLine]:
    """Labour from clocked time or from the approved hours, as the shop's setting says."""
    settings = get_settings()
    labour_items = [item for item in order.items if item.kind == "labour"]
    clocked = sum((entry.hours for entry in order.time_entries if entry.ended_at), Decimal("0"))
    if settings.invoice_labour_source == "time_entries" and clocked > 0:
        hours_quoted = sum((item.quantity for item in labour_items), Decimal("0"))
        if labour_items and hours_quoted > 0:
            rate = (sum((i.quantity * i.unit_price for i in labour_items), ZERO) / hours_quoted).quantize(
                Decimal("0.01"))
        else:
            rate = settings.labour_rate
        return [InvoiceLine(kind="labour", description=f"Labour ({order.number}, clocked time)",
                            quantity=clocked.quantize(Decimal("0.01")), unit_price=rate)]
    return [InvoiceLine(kind="labour", description=item.description, quantity=item.quantity,
                        unit_price=item.unit_price) for item in labour_items if item.quantity > 0]


def create_from_work_order(order: WorkOrder, actor: Actor) -> Invoice:
    """A draft invoice with labour and parts; one live invoice per work order."""
    if order.status not in ("ready", "completed"):
        raise InvalidTransition("work order", order.status, "invoice")
    existing = db.session.scalar(select(Invoice).where(Invoice.work_order_id == order.id, Invoice.status != "void"))
    if existing is not None:
        raise ValidationFailed({"work_order": [f"{order.number} already has invoice {existing.number}."]})
    invoice = Invoice(customer_id=order.customer_id, work_order_id=order.id, customer=order.customer)
    lines = _labour_lines(order) + [
        InvoiceLine(kind="part", part_number=item.part_number, description=item.description,
                    quantity=item.quantity, unit_price=item.unit_price)
        for item in order.items if item.kind == "part" and item.quantity > 0
    ]
    if not lines:
        raise ValidationFailed({"work_order": [f"Nothing to invoice on {order.number}: it has no work items and "
                                               "no clocked time."]})
    for position, line in enumerate(lines):
        line.position = position
        invoice.lines.append(line)
    prepare_new(invoice, actor)
    commit("invoice", invoice)
    return invoice


def prepare_new(invoice: Invoice, actor: Actor) -> Invoice:
    if invoice.customer is not None and invoice.customer_id is None:
        invoice.customer_id = invoice.customer.id
    if invoice.customer_id is None:
        raise ValidationFailed({"customer": ["Choose the customer."]})
    invoice.tax_rate = get_settings().tax_rate
    numbering.assign(invoice)
    db.session.add(invoice)
    recompute(invoice)
    MACHINE.enter(invoice, "create", actor)
    return invoice


def submit(invoice: Invoice, actor: Actor, expected_version=None, **_ignored):
    check_version(invoice, expected_version, "invoice")
    MACHINE.find(invoice.status, "submit", actor, invoice)
    if not invoice.lines:
        raise ValidationFailed({"lines": ["An invoice needs at least one line."]})
    recompute(invoice)
    MACHINE.apply(invoice, "submit", actor)
    invoice.issued_at = utcnow()
    invoice.due_date = dt.date.today() + dt.timedelta(days=get_settings().invoice_due_days)
    if invoice.status == "awaiting_authorization":
        title = f"Invoice {invoice.number} needs your authorization"
    else:
        title = f"Invoice {invoice.number}: {invoice.total} {get_settings().currency} due {invoice.due_date}"
    notify.to_customer(invoice.customer, f"invoice.{invoice.status}", title, link=_link(invoice), group="invoices")
    commit("invoice", invoice)
    return invoice


def authorize(invoice: Invoice, actor: Actor, expected_version=None, **_ignored):
    check_version(invoice, expected_version, "invoice")
    MACHINE.apply(invoice, "authorize", actor)
    invoice.authorized_at = utcnow()
    invoice.authorized_by_id = actor.user_id
    notify.to_staff("invoice.authorized", f"{invoice.number} authorized by the customer",
                    link=f"/invoiceview/show/{invoice.id}", customer_id=invoice.customer_id)
    commit("invoice", invoice)
    return invoice


def record_payment(invoice: Invoice, actor: Actor, amount=None, method=None, reference=None, provider=None,
                   expected_version=None, **_ignored) -> Invoice:
    """A payment against an open invoice; when the payments reach the total the invoice is ``paid``."""
    check_version(invoice, expected_version, "invoice")
    if not (actor.is_staff or actor.system):
        MACHINE.find(invoice.status, "pay", actor, invoice)  # raises 409/403 with the right message
    if invoice.status != "open":
        raise InvalidTransition("invoice", invoice.status, "pay")
    errors = {}
    try:
        value = money(amount)
        if value <= 0:
            errors["amount"] = ["The amount must be more than zero."]
        elif value > invoice.balance:
            errors["amount"] = [f"The amount is more than the balance of {invoice.balance}."]
    except (TypeError, ValueError):
        errors["amount"] = ["Enter an amount such as 120.50."]
    if method not in PAYMENT_METHODS:
        errors["method"] = [f"Choose one of: {', '.join(PAYMENT_METHODS)}."]
    if errors:
        raise ValidationFailed(errors)
    payment = Payment(invoice=invoice, amount=value, method=method, reference=(reference or "").strip() or None,
                      provider=provider, recorded_by_id=actor.user_id)
    db.session.add(payment)
    invoice.amount_paid = (invoice.amount_paid or ZERO) + value
    from .audit import record

    record(invoice, "payment", invoice.status, invoice.status, actor, f"{value} by {method}")
    if invoice.amount_paid >= invoice.total:
        MACHINE.apply(invoice, "pay", actor)
        invoice.paid_at = utcnow()
        notify.to_customer(invoice.customer, "invoice.paid", f"Thank you: invoice {invoice.number} is paid",
                           link=_link(invoice), group="invoices")
    commit("invoice", invoice)
    return invoice


def void(invoice: Invoice, actor: Actor, reason=None, expected_version=None, **_ignored):
    check_version(invoice, expected_version, "invoice")
    MACHINE.apply(invoice, "void", actor, reason=reason)
    invoice.void_reason = reason.strip()
    if invoice.issued_at:
        notify.to_customer(invoice.customer, "invoice.void", f"Invoice {invoice.number} was voided",
                           invoice.void_reason, link=_link(invoice), group="invoices")
    commit("invoice", invoice)
    return invoice


ACTIONS = {
    "submit": submit,
    "authorize": authorize,
    "payments": record_payment,
    "void": void,
}


def perform(invoice: Invoice, action: str, actor: Actor, **params):
    return dispatch(ACTIONS, invoice, action, actor, MACHINE, **params)
