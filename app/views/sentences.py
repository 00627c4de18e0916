"""What a staff screen says after an action: one whole sentence (issue 15, item 3).

"REQ-000014: we suggested Tue 8 Dec 10:00 to Jane Doe." instead of "REQ-000014: propose a time done; it is now
time proposed." Every staff adapter (generated screens, the booking and service boards, invoicing) flashes
``done(item, number, action, result)``. The sentences for the everyday actions are written out here. Any other
action says the state it left the record in ("WO-000003 is now cancelled."), or only that it was saved when
the state stays the same. Texts only: the rules stay in the services' action tables.
"""
from __future__ import annotations

from collections.abc import Callable

from ..core import formatting
from .filters import format_money, status_label
from .workflow import action_label


def when(moment) -> str:
    """A time in the shop's zone, the way people say it in their language: "Tue 8 Dec 10:00" /
    "Di., 8. Dez. 10:00"."""
    if moment is None:
        return "—"
    return f"{formatting.date(moment, 'weekday_day')} {formatting.time(moment)}"


def _customer(item) -> str:
    customer = getattr(item, "customer", None)
    return customer.name if customer is not None else (getattr(item, "contact_name", None) or "the customer")


def _proposed(req, number: str) -> str:
    open_ones = [p for p in req.proposals if p.outcome == "open"]
    latest = max(open_ones or req.proposals, key=lambda p: p.created_at, default=None)
    if latest is None:
        return f"{number}: a new time was suggested to {_customer(req)}."
    return f"{number}: we suggested {when(latest.start)} to {_customer(req)}."


def _booked(req, number: str) -> str:
    if req.scheduled_start is None:
        return f"{number} is confirmed."
    return f"{number} is booked for {when(req.scheduled_start)} with {_customer(req)}."


def _assigned(order, number: str) -> str:
    if order.technician is None:
        return f"{number} is no longer assigned to anyone."
    at = f" for {when(order.scheduled_start)}" if order.scheduled_start else ""
    return f"{number} is assigned to {order.technician}{at}."


def _issued(invoice, number: str) -> str:
    if invoice.status == "awaiting_authorization":
        return f"{number} is sent to {_customer(invoice)} for authorization ({format_money(invoice.total)})."
    due = formatting.date(invoice.due_date)
    return f"{number} is issued to {_customer(invoice)}: {format_money(invoice.total)}, due {due}."


SENTENCES: dict[tuple[str, str], Callable] = {
    ("service_request", "propose"): _proposed,
    ("service_request", "confirm"): _booked,
    ("service_request", "book"): _booked,
    ("service_request", "reschedule"): _booked,
    ("service_request", "decline"): lambda req, n: f"{n} is declined.",
    ("estimate", "submit"): lambda est, n: f"{n} is sent to {_customer(est)}.",
    ("work_order", "assign"): _assigned,
    ("work_order", "receive"): lambda order, n: f"{n} is received in the workshop.",
    ("work_order", "clock_on"): lambda order, n: f"{n}: you are clocked on.",
    ("work_order", "clock_off"): lambda order, n: f"{n}: you are clocked off.",
    ("work_order", "ready"): lambda order, n: f"{n} is ready.",
    ("work_order", "complete"): lambda order, n: f"{n} is completed.",
    ("invoice", "submit"): _issued,
    ("invoice", "void"): lambda invoice, n: f"{n} is void.",
}


def done(item, number: str, action: str, result=None, before: str | None = None) -> str:
    """The sentence for ``action`` just taken on ``item`` (shown as ``number``); ``result`` is what the action
    returned (a created estimate or work order is named), ``before`` the state it was in."""
    table = getattr(item, "__tablename__", "")
    created = result is not None and (type(result) is not type(item) or result.id != item.id)
    if created:
        return f"{number}: {result} is created."
    sentence = SENTENCES.get((table, action))
    if sentence is not None:
        return sentence(item, number)
    status = getattr(item, "status", None)
    if status is not None and status != before:
        return f"{number} is now {status_label(status).lower()}."
    return f"{number}: {action_label(action).lower()} is saved."
