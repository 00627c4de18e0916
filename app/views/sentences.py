"""What a staff screen says after an action: one whole sentence (issue 15, item 3).

"REQ-000014: we suggested Tue 8 Dec 10:00 to Jane Doe." instead of "REQ-000014: propose a time done; it is now
time proposed." Every staff adapter (generated screens, the booking and service boards, invoicing) flashes
``done(item, number, action, result)``. The sentences for the everyday actions are written out here. Any other
action says the state it left the record in ("WO-000003 is now cancelled."), or only that it was saved when
the state stays the same. Texts only: the rules stay in the services' action tables.
"""
from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _

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
    return customer.name if customer is not None else (getattr(item, "contact_name", None) or _("the customer"))


def _proposed(req, number: str) -> str:
    open_ones = [p for p in req.proposals if p.outcome == "open"]
    latest = max(open_ones or req.proposals, key=lambda p: p.created_at, default=None)
    if latest is None:
        return _("%(number)s: a new time was suggested to %(customer)s.", number=number, customer=_customer(req))
    return _("%(number)s: we suggested %(time)s to %(customer)s.", number=number, time=when(latest.start),
             customer=_customer(req))


def _booked(req, number: str) -> str:
    if req.scheduled_start is None:
        return _("%(number)s is confirmed.", number=number)
    return _("%(number)s is booked for %(time)s with %(customer)s.", number=number, time=when(req.scheduled_start),
             customer=_customer(req))


def _assigned(order, number: str) -> str:
    if order.technician is None:
        return _("%(number)s is no longer assigned to anyone.", number=number)
    if order.scheduled_start:
        return _("%(number)s is assigned to %(technician)s for %(time)s.", number=number,
                 technician=order.technician, time=when(order.scheduled_start))
    return _("%(number)s is assigned to %(technician)s.", number=number, technician=order.technician)


def _issued(invoice, number: str) -> str:
    if invoice.status == "awaiting_authorization":
        return _("%(number)s is sent to %(customer)s for authorization (%(total)s).", number=number,
                 customer=_customer(invoice), total=format_money(invoice.total))
    return _("%(number)s is issued to %(customer)s: %(total)s, due %(due)s.", number=number,
             customer=_customer(invoice), total=format_money(invoice.total), due=formatting.date(invoice.due_date))


SENTENCES: dict[tuple[str, str], Callable] = {
    ("service_request", "propose"): _proposed,
    ("service_request", "confirm"): _booked,
    ("service_request", "book"): _booked,
    ("service_request", "reschedule"): _booked,
    ("service_request", "decline"): lambda req, n: _("%(number)s is declined.", number=n),
    ("estimate", "submit"): lambda est, n: _("%(number)s is sent to %(customer)s.", number=n, customer=_customer(est)),
    ("work_order", "assign"): _assigned,
    ("work_order", "receive"): lambda order, n: _("%(number)s is received in the workshop.", number=n),
    ("work_order", "clock_on"): lambda order, n: _("%(number)s: you are clocked on.", number=n),
    ("work_order", "clock_off"): lambda order, n: _("%(number)s: you are clocked off.", number=n),
    ("work_order", "ready"): lambda order, n: _("%(number)s is ready.", number=n),
    ("work_order", "complete"): lambda order, n: _("%(number)s is completed.", number=n),
    ("invoice", "submit"): _issued,
    ("invoice", "void"): lambda invoice, n: _("%(number)s is void.", number=n),
}


def done(item, number: str, action: str, result=None, before: str | None = None) -> str:
    """The sentence for ``action`` just taken on ``item`` (shown as ``number``); ``result`` is what the action
    returned (a created estimate or work order is named), ``before`` the state it was in."""
    table = getattr(item, "__tablename__", "")
    created = result is not None and (type(result) is not type(item) or result.id != item.id)
    if created:
        return _("%(number)s: %(created)s is created.", number=number, created=result)
    sentence = SENTENCES.get((table, action))
    if sentence is not None:
        return sentence(item, number)
    status = getattr(item, "status", None)
    if status is not None and status != before:
        return _("%(number)s is now %(state)s.", number=number, state=status_label(status).lower())
    return _("%(number)s: %(action)s is saved.", number=number, action=action_label(action).lower())
