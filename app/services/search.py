"""Find work orders by what people have at hand: the order number, a reference, a serial number or an IMEI.

``search_orders(stmt, term)`` narrows a ``select()`` (or FAB query) of ``WorkOrder`` to the orders where
the term is exactly one of: the order number (``WO-000123``, ``wo-123`` and ``123`` all find it), the
customer's reference, the shop's internal reference, the tracking number (case-insensitive), or the serial
number / IMEI of the order's unit (IMEI with or without spaces and dashes). Exact matches on indexed columns
(``lower(...)`` expression indexes for the case-insensitive ones, migration 0005) keep it to a few index
look-ups at any number of orders; no ``LIKE '%…%'`` table scan.

The staff work order list offers it as the first filter on "Number" (``install_order_search``,
``/workorderview/list/?_flt_0_number=<term>``); the portal's order
list calls it with ``internal=False`` so customers do not probe the shop's references.
"""
from __future__ import annotations

import re

from flask_appbuilder.models.filters import BaseFilter
from sqlalchemy import func, or_, select

from ..models import Unit, WorkOrder
from .numbering import PREFIXES, format_number

NUMBER = re.compile(rf"^(?:({'|'.join(PREFIXES)})-?)?0*(\d{{1,9}})$", re.IGNORECASE)
MAX_TERM = 80


def document_number(term: str, prefix: str) -> str | None:
    """``REQ-000123`` for ``req-123``, ``REQ123`` or ``123`` (``prefix`` ``REQ``); None if the term is no
    number or names another kind of document (``wo-123``)."""
    match = NUMBER.match(term.strip())
    if not match or (match.group(1) and match.group(1).upper() != prefix):
        return None
    return format_number(prefix, int(match.group(2)))


def order_number(term: str) -> str | None:
    """``WO-000123`` for ``wo-123``, ``WO123``, ``123``…; None if the term is no order number."""
    return document_number(term, "WO")


def conditions(term: str, internal: bool = True) -> list:
    term = (term or "").strip()[:MAX_TERM]
    if not term:
        return []
    lowered = term.lower()
    compact = re.sub(r"[\s\-./]", "", term)
    found = [WorkOrder.number == term.upper(),
             func.lower(WorkOrder.customer_reference) == lowered,
             func.lower(WorkOrder.tracking_number) == lowered]
    number = order_number(term)
    if number and number != term.upper():
        found.append(WorkOrder.number == number)
    if internal:
        found.append(func.lower(WorkOrder.internal_reference) == lowered)
    unit_match = [func.lower(Unit.serial_number) == lowered]
    if compact.isdecimal():
        unit_match.append(Unit.imei == compact)
    found.append(WorkOrder.unit_id.in_(select(Unit.id).where(or_(*unit_match)).scalar_subquery()))
    return found


def search_orders(stmt, term: str, *, internal: bool = True):
    """``stmt`` narrowed to the orders ``term`` identifies (unchanged for an empty term)."""
    found = conditions(term, internal)
    return stmt.where(or_(*found)) if found else stmt


class FilterOrderSearch(BaseFilter):
    """FAB list filter: "Number, reference, serial or IMEI" on the staff work order list."""

    name = "Number, reference, serial or IMEI"
    arg_name = "order_search"

    def apply(self, query, value):
        found = conditions(value)
        return query.filter(or_(*found)) if found else query


def install_order_search(view, column: str = "number") -> None:
    """Offer ``FilterOrderSearch`` first on ``view``'s ``column`` (a staff ``ModelView`` of ``WorkOrder``).

    FAB builds a ModelView's filters from its column types only. The filter goes first into both lists FAB
    reads (the search form's and the URL arguments'), so its index is 0 in both: ``?_flt_0_number=term``
    (FAB's URL pattern takes one digit, and a text column already has ten filters).
    """
    filters = view._filters
    for registry in (filters._search_filters, filters._all_filters):
        options = registry.setdefault(column, [])
        if not any(isinstance(f, FilterOrderSearch) for f in options):
            options.insert(0, FilterOrderSearch(column, view.datamodel))
