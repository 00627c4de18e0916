"""Invoices from ready or completed work orders, customer authorization, payments (SPEC §3, Invoice)."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from flask_babel import LazyString, force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate
from sqlalchemy import select

from ..core import formatting, languages
from ..core.actors import Actor
from ..core.errors import InvalidTransition, ValidationFailed
from ..core.fields import Day
from ..core.settings import get_settings, shop_today, shop_zone, tax_rows
from ..extensions import db
from ..models import (
    ZERO,
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    InvoiceNote,
    Payment,
    WorkOrder,
    utcnow,
)
from . import notify, numbering, payments
from .audit import record
from .common import edit_fields
from .params import Params, Paying, ReasonRequired, Text, reason_field, text_field
from .workflow import CREATE, Action, ActionTable, perform, register  # noqa: F401 (perform: the one door)

PAYMENT_METHODS = ("cash", "card", "transfer", "cheque", "online")
#: The methods' words ("Bank transfer" / "Überweisung"; the same msgids as the screens' VALUE_WORDS).
METHOD_WORDS = {"cash": _l("Cash"), "card": _l("Card"), "transfer": _l("Bank transfer"), "cheque": _l("Cheque"),
                "online": _l("Online")}


def _methods_said() -> str:
    return ", ".join(str(METHOD_WORDS[method]) for method in PAYMENT_METHODS)


def _choose_method() -> LazyString:
    return _l("Choose one of: %(methods)s.", methods=LazyString(_methods_said))


#: A payment's line in the invoice's history is stored as machine text, ``80.00 by transfer`` (the amount and the
#: method's key, as it always was), and read in the reader's language when shown (``read_payment_line``).
_PAYMENT_LINE = re.compile(r"(-?\d+(?:\.\d+)?) by (" + "|".join(PAYMENT_METHODS) + ")")


def payment_line(amount, method: str) -> str:
    return f"{amount} by {method}"


def read_payment_line(text) -> tuple[Decimal, str] | None:
    """``(amount, method)`` of a stored payment line, or None when ``text`` is something else."""
    found = _PAYMENT_LINE.fullmatch(str(text or "").strip())
    return (Decimal(found.group(1)), found.group(2)) if found else None



def _link(invoice: Invoice) -> str:
    return f"/portal/invoices/{invoice.id}"


def recompute(invoice: Invoice) -> None:
    invoice.subtotal = sum((line.amount for line in invoice.lines), ZERO)
    invoice.tax = sum((tax for _rate, _net, tax in tax_rows(invoice.lines, invoice.tax_rate or ZERO)), ZERO)
    invoice.total = invoice.subtotal + invoice.tax


ROUNDING_STEPS = {"exact": 0, "6": 6, "15": 15, "30": 30}


def billable_minutes(clocked: int, rounding: str, minimum: int = 0) -> tuple[int, str]:
    """Clocked minutes as billed under the shop's rule: rounded up to the step, at least the minimum charge;
    with the words the invoice line says after the hours ("clocked 0:46, rounded up to 15 min")."""
    step = ROUNDING_STEPS.get(rounding, 0)
    billed = -(-clocked // step) * step if step else clocked
    said = _("clocked %(time)s", time=f"{clocked // 60}:{clocked % 60:02d}")
    if minimum and billed < minimum:
        return minimum, _("%(clocked)s, minimum charge %(minutes)s min", clocked=said, minutes=minimum)
    if billed != clocked:
        said = _("%(clocked)s, rounded up to %(minutes)s min", clocked=said, minutes=step)
    return billed, said


def _labour_lines(order: WorkOrder) -> list[InvoiceLine]:
    """Labour from clocked time (rounded by the shop's billable-time rule, the raw minutes kept on the line)
    or from the approved hours, as the shop's setting says. A line the invoice words itself is written in
    the customer's language (it is stored and printed on their invoice), whoever makes the invoice."""
    with force_locale(languages.for_customer(order.customer)):
        return _labour_lines_worded(order)


def _labour_lines_worded(order: WorkOrder) -> list[InvoiceLine]:
    settings = get_settings()
    labour_items = [item for item in order.items if item.kind == "labour"]
    minutes = sum((entry.minutes for entry in order.time_entries if entry.ended_at), 0)
    billed, said = billable_minutes(minutes, settings.time_rounding, settings.minimum_charge_minutes or 0)
    clocked = (Decimal(billed) / Decimal(60)).quantize(Decimal("0.01"))
    if settings.invoice_labour_source == "time_entries" and minutes > 0:
        hours_quoted = sum((item.quantity for item in labour_items), Decimal("0"))
        if labour_items and hours_quoted > 0:
            rate = (sum((i.quantity * i.unit_price for i in labour_items), ZERO) / hours_quoted).quantize(
                Decimal("0.01"))
        else:
            rate = settings.labour_rate
        words = _("Labour (%(order)s): %(hours)s h (%(clocked)s)", order=order.number,
                  hours=formatting.number(clocked, 2), clocked=said)
        return [InvoiceLine(kind="labour", description=words,
                            quantity=clocked, unit_price=rate, clocked_minutes=minutes)]
    return [InvoiceLine(kind="labour", description=item.description, quantity=item.quantity,
                        unit_price=item.unit_price) for item in labour_items if item.quantity > 0]


def new_from_work_order(order: WorkOrder, actor: Actor) -> Invoice:
    """A draft invoice with labour and parts (the work order's ``invoice`` action); one live invoice each."""
    existing = db.session.scalar(select(Invoice).where(Invoice.work_order_id == order.id, Invoice.status != "void"))
    if existing is not None:
        raise ValidationFailed({"work_order": [_l("%(order)s already has invoice %(invoice)s.", order=order.number,
                                                  invoice=existing.number)]})
    invoice = Invoice(customer_id=order.customer_id, work_order_id=order.id, customer=order.customer)
    lines = _labour_lines(order) + [
        InvoiceLine(kind="part", part_number=item.part_number, description=item.description,
                    quantity=item.quantity, unit_price=item.unit_price)
        for item in order.items if item.kind == "part" and item.quantity > 0
    ]
    if not lines:
        raise ValidationFailed({"work_order": [_l("Nothing to invoice on %(order)s: it has no work items and "
                                                  "no clocked time.", order=order.number)]})
    for position, line in enumerate(lines):
        line.position = position
        invoice.lines.append(line)
    return prepare_new(invoice, actor)


def prepare_new(invoice: Invoice, actor: Actor) -> Invoice:
    if invoice.customer is not None and invoice.customer_id is None:
        invoice.customer_id = invoice.customer.id
    if invoice.customer_id is None:
        raise ValidationFailed({"customer": [_l("Choose the customer.")]})
    invoice.tax_rate = get_settings().tax_rate
    numbering.assign(invoice)
    db.session.add(invoice)
    recompute(invoice)
    TABLE.enter(invoice, "create", actor)
    return invoice


def service_period(invoice: Invoice) -> tuple[dt.date, dt.date]:
    """The date or period of service an invoice states (UStG §14): the shop-zone days of its work order's
    clocked time, else the day the order was completed, else the day of issue. Kept on the invoice."""
    zone = shop_zone()

    def day(moment: dt.datetime) -> dt.date:
        return moment.replace(tzinfo=dt.UTC).astimezone(zone).date()

    order = invoice.work_order
    days = sorted(day(entry.started_at) for entry in order.time_entries) if order is not None else []
    if days:
        return days[0], max([days[-1], *(day(e.ended_at) for e in order.time_entries if e.ended_at)])
    if order is not None and order.completed_at is not None:
        return day(order.completed_at), day(order.completed_at)
    today = day(invoice.issued_at) if invoice.issued_at else shop_today()
    return today, today


def submit(invoice: Invoice, actor: Actor):
    if not invoice.lines:
        raise ValidationFailed({"lines": [_l("An invoice needs at least one line.")]})
    recompute(invoice)
    invoice.issued_at = utcnow()
    invoice.due_date = shop_today() + dt.timedelta(days=get_settings().invoice_due_days)
    invoice.service_from, invoice.service_to = service_period(invoice)
    if invoice.status == "awaiting_authorization":
        title = _l("Invoice %(number)s needs your authorization", number=invoice.number)
    else:
        title = _l("Invoice %(number)s: %(total)s due %(due)s", number=invoice.number,
                   total=LazyString(formatting.money, invoice.total), due=LazyString(formatting.date, invoice.due_date))
    notify.to_customer(invoice.customer, f"invoice.{invoice.status}", title, link=_link(invoice), group="invoices")
    return invoice


def authorize(invoice: Invoice, actor: Actor):
    invoice.authorized_at = utcnow()
    invoice.authorized_by_id = actor.user_id
    notify.to_staff("invoice.authorized", _l("%(number)s authorized by the customer", number=invoice.number),
                    link=f"/invoiceview/show/{invoice.id}", customer_id=invoice.customer_id)
    return invoice


def record_payment(invoice: Invoice, actor: Actor, amount, method, reference=None, provider=None) -> Invoice:
    """A payment against an open invoice; when the payments reach the total the invoice is ``paid``."""
    errors = {}
    if amount <= 0:
        errors["amount"] = [_l("The amount must be more than zero.")]
    elif amount > invoice.balance:
        errors["amount"] = [_l("The amount is more than the balance of %(balance)s.",
                               balance=LazyString(formatting.money, invoice.balance))]
    if method not in PAYMENT_METHODS:
        errors["method"] = [_choose_method()]
    if errors:
        raise ValidationFailed(errors)
    payment = Payment(invoice=invoice, amount=amount, method=method, reference=(reference or "").strip() or None,
                      provider=provider, recorded_by_id=actor.user_id)
    db.session.add(payment)
    invoice.amount_paid = (invoice.amount_paid or ZERO) + amount
    record(invoice, "payment", invoice.status, invoice.status, actor, payment_line(amount, method))
    if invoice.amount_paid >= invoice.total:
        TABLE.move(invoice, "pay", actor)
        invoice.paid_at = utcnow()
        notify.to_customer(invoice.customer, "invoice.paid", _l("Thank you: invoice %(number)s is paid",
                                                                number=invoice.number),
                           link=_link(invoice), group="invoices")
    return invoice


def void(invoice: Invoice, actor: Actor, reason: str):
    invoice.void_reason = reason.strip()
    if invoice.issued_at:
        notify.to_customer(invoice.customer, "invoice.void", _l("Invoice %(number)s was voided", number=invoice.number),
                           invoice.void_reason, link=_link(invoice), group="invoices")
    return invoice


_PAYMENT_DETAILS = _l("Enter your payment details.")


def _known_method(value) -> None:
    if value not in PAYMENT_METHODS:
        raise ValidationError(str(_choose_method()))  # in the reader's language, when refused


class PaymentParams(Paying):
    method = fields.String(required=True, validate=_known_method)


def pay_online(invoice: Invoice, actor: Actor, token: str) -> Invoice:
    """The customer pays the balance through the payment provider; the payment is recorded at once."""
    db.session.refresh(invoice, with_for_update=True)  # lock the row for the charge, then look again
    if invoice.status != "open":
        raise InvalidTransition("invoice", invoice.status, "pay_online")
    amount = invoice.balance
    if amount <= 0:
        raise ValidationFailed({"amount": [_l("Nothing is left to pay on this invoice.")]})
    provider = payments.get_provider()
    try:
        reference = provider.charge(invoice, amount, token.strip())
    except payments.PaymentDeclined as declined:
        raise ValidationFailed({"token": [declined.message]}) from None
    notify.to_staff("invoice.payment", _l("%(number)s: online payment of %(amount)s", number=invoice.number,
                       amount=LazyString(formatting.money, amount)),
                    _l("%(provider)s reference %(reference)s",
                       provider=provider.name, reference=reference), link=f"/invoiceview/show/{invoice.id}",
                    customer_id=invoice.customer_id)
    payments.charged(invoice, reference, amount)
    return record_payment(invoice, actor.on_behalf_of_system("online payment"), amount=amount, method="online",
                          reference=reference, provider=provider.name)


class OnlinePayment(Params):
    token = text_field(_PAYMENT_DETAILS)


class InvoiceEdit(Params):
    due_date = Day(allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=10000))



class CreditParams(ReasonRequired):
    lines = fields.List(fields.Integer(), validate=validate.Length(min=1, max=500),
                        metadata={"description": "Ids of the invoice's lines to credit (default: every line "
                                                 "not credited yet)."})


def issue_credit_note(invoice: Invoice, actor: Actor, reason: str, lines=None) -> CreditNote:
    """Correct a paid invoice: a credit note ``CN-…`` takes back the chosen lines (each line once)."""
    credited = set(db.session.scalars(
        select(CreditNoteLine.invoice_line_id).join(CreditNote, CreditNote.id == CreditNoteLine.credit_note_id)
        .where(CreditNote.invoice_id == invoice.id)))
    by_id = {line.id: line for line in invoice.lines}
    if lines is None:
        chosen = [line for line in invoice.lines if line.id not in credited]
        if not chosen:
            raise ValidationFailed({"lines": [_l("Every line of %(invoice)s was credited already.",
                                                 invoice=invoice.number)]})
    else:
        if set(lines) - set(by_id):
            raise ValidationFailed({"lines": [_l("Choose lines of %(invoice)s.", invoice=invoice.number)]})
        again = [by_id[ident].description for ident in lines if ident in credited]
        if again:
            raise ValidationFailed({"lines": [_l("Already credited: %(lines)s.", lines=", ".join(again))]})
        chosen = sorted({by_id[ident] for ident in lines}, key=lambda line: line.position)
    note = CreditNote(invoice=invoice, customer_id=invoice.customer_id, reason=reason.strip(),
                      tax_rate=invoice.tax_rate or ZERO, created_by_id=actor.user_id)
    for position, line in enumerate(chosen):
        note.lines.append(CreditNoteLine(invoice_line_id=line.id, position=position, kind=line.kind,
                                         part_number=line.part_number, description=line.description,
                                         quantity=line.quantity, unit_price=-line.unit_price,
                                         tax_rate=line.tax_rate))
    note.subtotal = sum((line.amount for line in note.lines), ZERO)
    note.tax = sum((tax for _rate, _net, tax in tax_rows(note.lines, note.tax_rate)), ZERO)
    note.total = note.subtotal + note.tax
    numbering.assign(note)
    db.session.add(note)
    notify.to_customer(invoice.customer, "invoice.credited",
                       _l("Credit note %(note)s for invoice %(number)s: %(total)s",
                          note=note.number, number=invoice.number,
                          total=LazyString(formatting.money, -note.total)), link=_link(invoice), group="invoices")
    return note


def lines_changed(invoice: Invoice, actor: Actor) -> Invoice:
    """A draft's lines were added, changed or removed (the invoice-line screen): totals follow."""
    recompute(invoice)
    return invoice


# ---------------------------------------------------------------- queries (SPEC §8)
def _staff_link(invoice: Invoice) -> str:
    return f"/invoiceview/show/{invoice.id}"


class QueryParams(Params):
    reason = reason_field(required=True)
    lines = fields.List(fields.Integer(), validate=validate.Length(min=1, max=500),
                        metadata={"description": "Ids of the invoice's lines the query is about (optional)."})


def query(invoice: Invoice, actor: Actor, reason: str, lines=None) -> Invoice:
    """The customer queries an invoice awaiting their authorization or open: it keeps its state, flagged
    queried, on the staff list "Queried invoices" until staff answer (or void and re-issue it)."""
    by_id = {line.id: line for line in invoice.lines}
    if lines is not None and set(lines) - set(by_id):
        raise ValidationFailed({"lines": [_l("Choose lines of %(invoice)s.", invoice=invoice.number)]})
    invoice.queried_at = utcnow()
    chosen = [by_id[ident] for ident in (lines or [])]
    db.session.add(InvoiceNote(invoice=invoice, side="customer", kind="query", author_id=actor.user_id,
                               text=reason.strip(), line_ids=",".join(str(line.id) for line in chosen) or None))
    about = "; ".join(line.description for line in chosen)
    notify.to_staff("invoice.queried", _l("%(number)s queried by %(customer)s",
                                          number=invoice.number, customer=invoice.customer.name),
                    (_l("%(reason)s\nLines: %(lines)s", reason=reason.strip(), lines=about) if about
                     else reason.strip()),
                    link=_staff_link(invoice),
                    customer_id=invoice.customer_id)
    return invoice


def answer(invoice: Invoice, actor: Actor, text: str) -> Invoice:
    """Staff answer the query and keep the invoice as it is: the flag is cleared, the customer told."""
    invoice.queried_at = None
    db.session.add(InvoiceNote(invoice=invoice, side="staff", kind="answer", author_id=actor.user_id,
                               text=text.strip()))
    notify.to_customer(invoice.customer, "invoice.answered", _l("Our answer about invoice %(number)s",
                                                                number=invoice.number),
                       text.strip(), link=_link(invoice), group="invoices")
    return invoice


def reissue(invoice: Invoice, actor: Actor, reason: str) -> Invoice:
    """Void the queried invoice and re-issue it: a new draft with the same lines (staff correct them and
    submit it), linked to the one it replaces. Returns the new draft."""
    if invoice.amount_paid:
        raise ValidationFailed({"reason": [_l("%(invoice)s has payments: record a credit note once it is paid "
                                              "instead.", invoice=invoice.number)]})
    void(invoice, actor, reason)
    invoice.queried_at = None
    db.session.add(InvoiceNote(invoice=invoice, side="staff", kind="answer", author_id=actor.user_id,
                               text=reason.strip()))
    again = Invoice(customer_id=invoice.customer_id, work_order_id=invoice.work_order_id, customer=invoice.customer,
                    replaces=invoice, note=invoice.note)
    for line in invoice.lines:
        again.lines.append(InvoiceLine(position=line.position, kind=line.kind, part_number=line.part_number,
                                       description=line.description, quantity=line.quantity,
                                       unit_price=line.unit_price, clocked_minutes=line.clocked_minutes,
                                       tax_rate=line.tax_rate))
    return prepare_new(again, actor)


def add_note(invoice: Invoice, actor: Actor, text: str) -> InvoiceNote:
    """A note in the invoice's query log (either side)."""
    side = "customer" if actor.is_customer else "staff"
    note = InvoiceNote(invoice=invoice, side=side, kind="note", author_id=actor.user_id, text=text.strip())
    db.session.add(note)
    if side == "customer":
        notify.to_staff("invoice.note", _l("Note on %(number)s", number=invoice.number), text.strip(),
                        link=_staff_link(invoice),
                        customer_id=invoice.customer_id)
    else:
        notify.to_customer(invoice.customer, "invoice.note", _l("A note on invoice %(number)s",
                                                                number=invoice.number), text.strip(),
                           link=_link(invoice), group="invoices")
    return note


def _queried(invoice: Invoice) -> bool:
    return invoice.queried_at is not None


def query_log(invoice: Invoice) -> list[InvoiceNote]:
    return sorted(invoice.notes, key=lambda note: (note.created_at, note.id or 0))


def _needs_authorization(invoice: Invoice) -> bool:
    return bool(invoice.customer and invoice.customer.requires_invoice_authorization)


UNPAID = ("draft", "awaiting_authorization", "open")
#: What a customer may query (SPEC §8): an issued invoice not yet paid.
QUERYABLE = ("awaiting_authorization", "open")

TABLE = register(Invoice, ActionTable("invoice", [
    Action((CREATE,), "create", ("staff",), "draft"),
    Action(("draft",), "submit", ("staff",), "awaiting_authorization", submit, guard=_needs_authorization),
    Action(("draft",), "submit", ("staff",), "open", submit, guard=lambda inv: not _needs_authorization(inv)),
    Action(("awaiting_authorization",), "authorize", ("customer",), "open", authorize),
    Action(("open",), "payments", ("staff", "system"), None, record_payment, PaymentParams, audited=False),
    Action(("open",), "pay_online", ("customer",), None, pay_online, OnlinePayment, audited=False),
    Action(("open",), "pay", ("staff", "system"), "paid", internal=True),
    Action(UNPAID, "void", ("staff",), "void", void, ReasonRequired, reason_required=True),
    Action(("paid",), "credit", ("staff",), None, issue_credit_note, CreditParams, reason_required=True),
    Action(UNPAID, "edit", ("staff",), None, edit_fields, InvoiceEdit, audited=False),
    Action(("draft",), "lines", ("staff",), None, lines_changed),
    Action(QUERYABLE, "query", ("customer",), None, query, QueryParams),
    Action(QUERYABLE, "answer", ("staff",), None, answer, Text, guard=_queried),
    Action(QUERYABLE, "reissue", ("staff",), "void", reissue, ReasonRequired, reason_required=True, guard=_queried),
    Action((*QUERYABLE, "paid", "void"), "notes", ("customer", "staff"), None, add_note, Text),
]))
