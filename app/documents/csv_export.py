"""CSV export of work orders: resellers their own (portal, API), staff any customer's (staff screen, scheduler).

``stream_orders_csv(actor, start=None, end=None, customer_id=None, bom=False)`` yields ``str`` chunks: a
header row, then one row per order, oldest first. Rows come through ``scope.scoped``: a customer gets only
their own account's orders, whatever ``customer_id`` says.

**What a row says.** Money is the invoice's when the order has one that was issued (``awaiting_authorization``,
``open`` or ``paid``; never a draft, never a void one; of several the latest issued): net, tax, gross, amount
paid, what credit notes took back, its number and status; labour / parts / other are the sums of its lines.
Without one, an order that is not cancelled and whose estimate the customer approved carries the estimate's
money, marked ``estimated`` ("Amounts code"): the labour lines the customer did not decline (``decision``
NULL or ``approved``) with their parts, tax at the estimate's rate rounded half up, as ``services.estimates``
computes it. Otherwise the money cells are empty. "Work items" and "Parts" list the invoice's lines when
there is an invoice, else the work order's items (each ``description (1.50 h @ 80.00 = 120.00)`` /
``part description x 1.00 @ 120.00 = 120.00``). "Repair notes" are the order's public notes and its public
messages, oldest first, one per line; internal notes and internal messages never appear. Status, kind and
invoice status come as words in the reader's language (Flask-Babel, the request's locale) with the codes in
their own columns.

**Machine-readable cells.** Times are ISO 8601 in the shop's zone (``2025-03-10T14:30:00+01:00``), amounts
plain numbers with two decimals and a dot (``141.31``), whatever the language. A cell a spreadsheet would read
as a formula (``= + - @``, tab, CR first) gets a leading ``'``. ``bom=True`` starts the file with a UTF-8 byte
order mark, which Excel needs to read umlauts (the portal's and staff's default); the API sends plain UTF-8.

**How it stays fast and flat.** Every cell is computed in SQL, and Python only hands rows to ``csv.writer``:
each order's lines and public messages are folded with ``aggregate_strings`` (``group_concat`` on SQLite,
``string_agg`` on PostgreSQL), money is integer cents (half to even per line like ``Decimal.quantize``, so
SQLite's floats never move a cent), times are a ``CASE`` over the zone's offset periods, formula cells get
their ``'`` there too. SQLite runs one statement per batch of ``BATCH`` orders, keyset-paged on
``(created_at, id)``; PostgreSQL one statement, fetched ``BATCH`` rows at a time from a server-side cursor
(batches would make it hash the invoice and line tables again for each). Either way Python holds one batch.
bench/README.md, "Documents", has the figures and the reasons.
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import os
import tempfile
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..core.errors import ValidationFailed
from ..core.fields import OUT_OF_CALENDAR, in_calendar
from ..core.scope import scoped
from ..core.settings import get_settings, shop_zone
from ..extensions import db
from ..models import (
    CreditNote,
    Customer,
    Estimate,
    Invoice,
    InvoiceLine,
    LabourLine,
    OrderMessage,
    PartLine,
    ServiceLocation,
    Shipment,
    ShippingMethod,
    Unit,
    WorkItem,
    WorkOrder,
)

BATCH = 2000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
UTC = dt.UTC
#: Per database: one statement per batch (keyset-paged), or one statement streamed from a server-side cursor.
BATCHED = {"sqlite": True, "postgresql": False}
#: Invoices that count: issued and not voided (a customer never sees drafts).
ISSUED = ("awaiting_authorization", "open", "paid")

#: Words for the codes, the portal's own labels (app/views/portal/page_helpers.STATUS_LABELS uses the same
#: msgids, so one catalogue entry serves both).
STATUS_WORDS = {
    "pending_confirmation": _l("Awaiting confirmation"), "confirmed": _l("Confirmed"), "received": _l("Received"),
    "in_progress": _l("In progress"), "ready": _l("Ready"), "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
}
KIND_WORDS = {"job": _l("Job"), "inspection": _l("Inspection"), "repair": _l("Repair")}
INVOICE_WORDS = {"awaiting_authorization": _l("Awaiting your authorization"), "open": _l("Open"),
                 "paid": _l("Paid")}
AMOUNTS_WORDS = {"invoiced": _l("Invoiced"), "estimated": _l("Estimated")}

#: Column key → header, in file order. ``STAFF_ONLY`` columns are left out of a customer's file.
HEADERS = {
    "number": _l("Order number"), "customer": _l("Customer"), "customer_reference": _l("Customer reference"),
    "internal_reference": _l("Internal reference"), "created": _l("Created"), "received": _l("Received"),
    "ready": _l("Ready"), "completed": _l("Completed"), "status": _l("Status"), "status_code": _l("Status code"),
    "kind": _l("Kind"), "kind_code": _l("Kind code"), "make": _l("Make"), "model": _l("Model"),
    "serial_number": _l("Serial number"), "imei": _l("IMEI"), "fault": _l("Fault"),
    "accessories": _l("Accessories"), "repair_notes": _l("Repair notes"), "work_items": _l("Work items"),
    "parts": _l("Parts"), "amounts": _l("Amounts"), "amounts_code": _l("Amounts code"),
    "invoice_number": _l("Invoice number"), "invoice_status": _l("Invoice status"),
    "invoice_status_code": _l("Invoice status code"), "currency": _l("Currency"),
    "labour_amount": _l("Labour amount"), "parts_amount": _l("Parts amount"), "other_amount": _l("Other amount"),
    "net": _l("Net"), "tax": _l("Tax"), "gross": _l("Gross"), "amount_paid": _l("Amount paid"),
    "credited": _l("Credited"), "tracking_number": _l("Tracking number"),
    "service_location": _l("Service location"), "shipping_method": _l("Shipping method"),
    "shipment": _l("Shipment"),
}
STAFF_ONLY = {"customer"}


# ------------------------------------------------------------------ input
def parse_date(value, field: str) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed({field: [f"{value[:40]!r} is not a date: use YYYY-MM-DD, e.g. 2025-03-31."]}) from None
    if not in_calendar(day):
        raise ValidationFailed({field: [OUT_OF_CALENDAR]})
    return day


def parse_range(start, end) -> tuple[dt.date | None, dt.date | None]:
    """Both optional, inclusive; ``ValidationFailed`` names the field that is wrong."""
    first, last = parse_date(start, "start"), parse_date(end, "end")
    if first and last and last < first:
        raise ValidationFailed({"end": ["The end date is before the start date."]})
    return first, last


#: The encodings a download offers: ``encoding=utf-8-sig`` ("UTF-8 with BOM for Excel") or ``utf-8``.
ENCODINGS = {"utf-8-sig": True, "excel": True, "utf-8": False}
YES, NO = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def wants_bom(args, default: bool) -> bool:
    """The byte-order-mark choice of a download's query (``encoding=`` or ``bom=``); ``default`` if neither."""
    encoding = (args.get("encoding") or "").strip().lower()
    if encoding:
        if encoding not in ENCODINGS:
            raise ValidationFailed({"encoding": ["Choose utf-8-sig (UTF-8 with BOM, for Excel) or utf-8."]})
        return ENCODINGS[encoding]
    bom = (args.get("bom") or "").strip().lower()
    if bom:
        if bom not in YES | NO:
            raise ValidationFailed({"bom": ["Give bom=1 (UTF-8 with BOM, for Excel) or bom=0."]})
        return bom in YES
    return default


def utc_bounds(start: dt.date | None, end: dt.date | None, zone) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Shop-local whole days as naive-UTC ``[from, to)`` bounds."""

    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)

    return (midnight(start) if start else None, midnight(end + dt.timedelta(days=1)) if end else None)


# ------------------------------------------------------------------ times
@functools.lru_cache(maxsize=16)
def zone_periods(zone, horizon: dt.date) -> tuple[tuple[dt.datetime, int], ...]:
    """The periods of one UTC offset in ``zone`` from 1970 to ``horizon``, newest first: (naive-UTC start,
    offset in seconds). Checked day by day, each change found to the second; cached per zone and day."""

    def offset(seconds: int) -> int:
        return int(dt.datetime.fromtimestamp(seconds, UTC).astimezone(zone).utcoffset().total_seconds())

    day, moment = 86400, 0
    end = int(dt.datetime.combine(horizon, dt.time(), tzinfo=UTC).timestamp())
    periods = [(0, offset(0))]
    while moment < end:
        if offset(moment + day) != periods[-1][1]:
            low, high = moment, moment + day
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == periods[-1][1] else (low, middle)
            periods.append((high, offset(high)))
        moment += day
    return tuple((dt.datetime.fromtimestamp(start, UTC).replace(tzinfo=None), seconds)
                 for start, seconds in reversed(periods))


def _suffix(seconds: int) -> str:
    """An ISO 8601 offset: ``+01:00``, ``-05:00``, ``+05:45``."""
    sign, seconds = ("+" if seconds >= 0 else "-"), abs(seconds)
    text = f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
    return text + (f":{seconds % 60:02d}" if seconds % 60 else "")


# ------------------------------------------------------------------ SQL building blocks
class _Sql(FunctionElement):
    """A function compiled per database (below); each subclass states ``inherit_cache`` itself."""

    type = String()
    inherit_cache = True


class _Decimal2(_Sql):
    """A two-decimal number as text (``141.31``), exact for ``Numeric(…, 2)`` columns."""

    name = "decimal2"
    inherit_cache = True


class _CentsText(_Sql):
    """Integer cents as text with two decimals (``14131`` → ``141.31``)."""

    name = "cents_text"
    inherit_cache = True


class _LocalTime(_Sql):
    """(timestamp, offset seconds as a literal) → the shifted time as ``YYYY-MM-DDTHH:MM:SS`` text."""

    name = "local_time"
    inherit_cache = True


class _LineText(_Sql):
    """A line as text from (kind, part number, description, quantity, unit price, cents): labour
    ``Replace display (1.50 h @ 80.00 = 120.00)``, a part or other line ``LCD-42 Display x 1.00 @ 120.00 = 120.00``."""

    name = "line_text"
    inherit_cache = True


class _Hundredths(_Sql):
    """A two-decimal number as an exact integer of hundredths (``19.00`` → ``1900``)."""

    type = BigInteger()
    name = "hundredths"
    inherit_cache = True


class _Product(_Sql):
    """``a × b`` of two two-decimal numbers as an exact integer of ten-thousandths (``1.25 × 10.10`` → ``126250``)."""

    type = BigInteger()
    name = "product"
    inherit_cache = True


class _FirstCode(_Sql):
    """The code point of a text's first character (NULL for NULL)."""

    type = Integer()
    name = "first_code"
    inherit_cache = True


def _args(element, compiler, kw) -> list[str]:
    return [compiler.process(clause, **kw) for clause in element.clauses]


def _line_text(element, compiler, kw, function: str, labour: str, item: str, figures) -> str:
    kind, part, text, quantity, price, cents = _args(element, compiler, kw)
    shown = ", ".join(figures(quantity, price, cents))
    labour, item = compiler.post_process_text(labour), compiler.post_process_text(item)  # % → %% for psycopg
    return (f"CASE WHEN {kind} = 'labour' THEN {function}('{labour}', {text}, {shown}) "
            f"ELSE {function}('{item}', coalesce({part} || ' ', ''), {text}, {shown}) END")


# SQLite keeps Numeric as REAL or INTEGER. printf rounds the double to the nearest cent, which is the stored
# one; REAL × 10000 is not always whole (0.29 × 100 = 28.999…), so it is rounded before it becomes an integer.
# One printf per line is far cheaper there than concatenating three.
@compiles(_Decimal2, "sqlite")
def _decimal2_sqlite(element, compiler, **kw):
    return "printf('%.2f', {})".format(*_args(element, compiler, kw))


@compiles(_CentsText, "sqlite")
def _cents_sqlite(element, compiler, **kw):
    return "printf('%.2f', ({}) / 100.0)".format(*_args(element, compiler, kw))


@compiles(_LocalTime, "sqlite")
def _local_time_sqlite(element, compiler, **kw):
    column, seconds = _args(element, compiler, kw)
    return f"strftime('%Y-%m-%dT%H:%M:%S', {column}, '{int(seconds):+d} seconds')"


@compiles(_LineText, "sqlite")
def _line_text_sqlite(element, compiler, **kw):
    return _line_text(element, compiler, kw, "printf", "%s (%.2f h @ %.2f = %.2f)", "%s%s x %.2f @ %.2f = %.2f",
                      lambda quantity, price, cents: (quantity, price, f"({cents}) / 100.0"))


@compiles(_Hundredths, "sqlite")
def _hundredths_sqlite(element, compiler, **kw):
    return "CAST(round({} * 100) AS INTEGER)".format(*_args(element, compiler, kw))


@compiles(_Product, "sqlite")
def _product_sqlite(element, compiler, **kw):
    return "CAST(round({} * {} * 10000) AS INTEGER)".format(*_args(element, compiler, kw))


@compiles(_FirstCode, "sqlite")
def _first_code_sqlite(element, compiler, **kw):
    return "unicode({})".format(*_args(element, compiler, kw))


# PostgreSQL: exact NUMERIC; a NUMERIC(…, 2) prints its two decimals as text (faster than to_char).
@compiles(_Decimal2)
def _decimal2_default(element, compiler, **kw):
    return "CAST(CAST({} AS NUMERIC(14, 2)) AS TEXT)".format(*_args(element, compiler, kw))


@compiles(_CentsText)
def _cents_default(element, compiler, **kw):
    return "CAST(CAST(({}) / 100.0 AS NUMERIC(14, 2)) AS TEXT)".format(*_args(element, compiler, kw))


@compiles(_LocalTime)
def _local_time_default(element, compiler, **kw):
    column, seconds = _args(element, compiler, kw)
    return f"to_char({column} + INTERVAL '{int(seconds)} seconds', 'YYYY-MM-DD\"T\"HH24:MI:SS')"


@compiles(_LineText)
def _line_text_default(element, compiler, **kw):
    return _line_text(element, compiler, kw, "format", "%s (%s h @ %s = %s)", "%s%s x %s @ %s = %s",
                      lambda quantity, price, cents: (f"CAST({quantity} AS TEXT)", f"CAST({price} AS TEXT)",
                                                      f"CAST(({cents}) / 100.0 AS NUMERIC(14, 2))"))


@compiles(_Hundredths)
def _hundredths_default(element, compiler, **kw):
    return "CAST({} * 100 AS BIGINT)".format(*_args(element, compiler, kw))


@compiles(_Product)
def _product_default(element, compiler, **kw):
    return "CAST({} * {} * 10000 AS BIGINT)".format(*_args(element, compiler, kw))


@compiles(_FirstCode)
def _first_code_default(element, compiler, **kw):
    return "ascii({})".format(*_args(element, compiler, kw))


def half_even_cents(product):
    """Ten-thousandths (``_Product``) in whole cents, rounded half to even like ``Decimal.quantize`` in the
    models: ``(n + 50) / 100`` rounds half up, and a remainder of exactly 50 over an even cent (``n % 200 ==
    50``) goes back down. Integer arithmetic: exact on every database."""
    return (product + 50) // 100 - case((product % 200 == 50, 1), else_=0)


def cents_sum(cents):
    """``SUM`` of integer cents, kept an integer: PostgreSQL sums BIGINT as NUMERIC, and integer division
    (``//``) of a NUMERIC would be a true division there."""
    return cast(func.sum(cents), BigInteger)


def line_cents(quantity, price):
    """``quantity × price`` in whole cents, rounded as the models round a line."""
    return half_even_cents(_Product(quantity, price))


FORMULA_CODES = [literal_column(str(ord(char))) for char in FORMULA_START]


def _safe_sql(expr):
    """A cell a spreadsheet would run as a formula (``FORMULA_START`` first) gets a leading ``'``."""
    return case((_FirstCode(expr).in_(FORMULA_CODES), literal("'", String) + expr), else_=expr)


def _local_iso(column, periods):
    """A naive-UTC timestamp as ISO 8601 in the shop's zone, to the second (``2025-03-10T00:30:00+01:00``):
    the offset of the period it falls in. The newest period is tried first (most times are recent), then a
    balanced tree of ``CASE``s over the older ones: about seven comparisons for any time since 1970, where a
    newest-first list took up to a hundred for old orders (a time beyond the periods' horizon, 400 days ahead,
    takes the newest period's offset; NULL stays NULL)."""

    def shown(seconds: int):
        return _LocalTime(column, literal_column(str(seconds))) + literal(_suffix(seconds), String)

    oldest_first = list(reversed(periods))

    def tree(low: int, high: int):  # the period among oldest_first[low..high] that holds the time
        if low == high:
            return shown(oldest_first[low][1])
        middle = (low + high + 1) // 2
        return case((column >= literal(oldest_first[middle][0], DateTime()), tree(middle, high)),
                    else_=tree(low, middle - 1))

    if len(oldest_first) == 1:
        return shown(oldest_first[0][1])
    newest_start, newest_offset = oldest_first[-1]
    return case((column >= literal(newest_start, DateTime()), shown(newest_offset)),
                else_=tree(0, len(oldest_first) - 2))


def _words(mapping: dict, column):
    return case({code: str(word) for code, word in mapping.items()}, value=column, else_=column)


def _folded(source, key: str, order_by: tuple[str, ...], ordered_aggregates: bool, build):
    """One row per ``key`` of ``source``: ``build(columns, join)`` returns the aggregates by name, where
    ``join(expr, separator)`` is ``aggregate_strings`` over the group's rows in ``order_by`` order.

    PostgreSQL (and SQLite from 3.44: ``ordered_aggregates``) order inside the aggregate. Older SQLite has
    no ORDER BY there: it gets an ordered subquery, which SQLite never flattens into an aggregate query so
    that ``group_concat`` sees its rows in that order (its GROUP BY sorter keeps ties in input order);
    ``tests/test_csv_export.py`` checks the order."""
    if not ordered_aggregates:
        source = select(source).order_by(*[source.c[name] for name in (key, *order_by)]).subquery()

    def join(expr, separator: str):
        joined = func.aggregate_strings(expr, separator)
        return joined.aggregate_order_by(*[source.c[name] for name in order_by]) if ordered_aggregates else joined

    columns = build(source.c, join)
    return select(source.c[key], *[agg.label(name) for name, agg in columns.items()]).group_by(source.c[key])


# ------------------------------------------------------------------ the statement
def _page(actor, customer_id, since, until, batched: bool):
    """The orders, each with the invoice that counts (``invoice_id``, NULL when none); ``batched``: only the
    first ``BATCH`` after the keyset ``(after_created, after_id)``.

    Batched, the invoice is a look-up per order on ``invoice.work_order_id`` (a correlated subquery); streamed,
    a join and a window over the invoices, which PostgreSQL hashes once (a subquery per order there may even
    become a bitmap scan of every invoice of that status, per order)."""
    wo, inv = WorkOrder.__table__, Invoice.__table__
    counts = and_(inv.c.status.in_(ISSUED), inv.c.issued_at.is_not(None))
    columns = [wo.c.id.label("order_id"), wo.c.created_at, wo.c.estimate_id, wo.c.status]
    if batched:
        latest = (select(inv.c.id).where(inv.c.work_order_id == wo.c.id, counts)
                  .order_by(inv.c.issued_at.desc(), inv.c.id.desc()).limit(1).correlate(wo).scalar_subquery())
        columns.append(latest.label("invoice_id"))
    stmt = scoped(select(*columns), WorkOrder, actor)
    if customer_id not in (None, "") and not actor.is_customer:  # a customer's export is always their own
        stmt = stmt.where(wo.c.customer_id == int(customer_id))
    if since is not None:
        stmt = stmt.where(wo.c.created_at >= since)
    if until is not None:
        stmt = stmt.where(wo.c.created_at < until)
    if batched:  # ``created_at >=`` seeks the created_at index; the row value settles ties by id
        after_created = bindparam("after_created", type_=DateTime())
        after_id = bindparam("after_id", type_=Integer())
        stmt = stmt.where(wo.c.created_at >= after_created,
                          tuple_(wo.c.created_at, wo.c.id) > tuple_(after_created, after_id))
        return stmt.order_by(wo.c.created_at, wo.c.id).limit(BATCH).cte("page")
    orders = stmt.cte("orders")
    ranked = (select(inv.c.work_order_id, inv.c.id, func.row_number().over(
        partition_by=inv.c.work_order_id, order_by=(inv.c.issued_at.desc(), inv.c.id.desc())).label("rank"))
              .join_from(orders, inv, inv.c.work_order_id == orders.c.order_id).where(counts)).subquery("issued")
    return (select(orders, ranked.c.id.label("invoice_id"))
            .outerjoin_from(orders, ranked, and_(ranked.c.work_order_id == orders.c.order_id, ranked.c.rank == 1))
            .cte("page"))


def _lines(page, ordered_aggregates: bool):
    """Per order: the invoice's lines if it has an invoice, else its work items, folded into text and cents."""
    il, wi = InvoiceLine.__table__, WorkItem.__table__
    fields = ("kind", "part_number", "description", "quantity", "unit_price", "position", "id")

    def arm(table):  # the product once per line, in its own arm: the levels above read it as a column
        return [*[table.c[name] for name in fields], _Product(table.c.quantity, table.c.unit_price).label("product")]

    billed = select(page.c.order_id, *arm(il)).join_from(page, il, il.c.invoice_id == page.c.invoice_id)
    planned = (select(page.c.order_id, *arm(wi)).join_from(page, wi, wi.c.work_order_id == page.c.order_id)
               .where(page.c.invoice_id.is_(None)))

    def build(line, join):
        cents = half_even_cents(line.product)
        text = _LineText(line.kind, line.part_number, line.description, line.quantity, line.unit_price, cents)
        is_labour, is_part = line.kind == "labour", line.kind == "part"
        return {"work": join(case((~is_part, text)), "; "),
                "parts": join(case((is_part, text)), "; "),
                "labour_c": cents_sum(case((is_labour, cents), else_=0)),
                "parts_c": cents_sum(case((is_part, cents), else_=0)),
                "other_c": cents_sum(case((or_(is_labour, is_part), 0), else_=cents))}

    lines = union_all(billed, planned).subquery("lines")
    return _folded(lines, "order_id", ("position", "id"), ordered_aggregates, build).subquery("line_totals")


def _estimated(page):
    """Per estimate of an uninvoiced order: labour and parts of the lines the customer did not decline."""
    ll, pl = LabourLine.__table__, PartLine.__table__
    wanted = and_(ll.c.estimate_id.in_(select(page.c.estimate_id).where(page.c.invoice_id.is_(None))),
                  or_(ll.c.decision.is_(None), ll.c.decision != "declined"))
    labour = select(ll.c.estimate_id, literal_column("1").label("is_labour"),
                    line_cents(ll.c.hours, ll.c.rate).label("cents")).where(wanted)
    parts = (select(ll.c.estimate_id, literal_column("0"), line_cents(pl.c.quantity, pl.c.unit_price))
             .join_from(pl, ll, pl.c.labour_line_id == ll.c.id).where(wanted))
    both = union_all(labour, parts).subquery("estimate_lines")
    return select(both.c.estimate_id,
                  cents_sum(case((both.c.is_labour == 1, both.c.cents), else_=0)).label("labour_c"),
                  cents_sum(case((both.c.is_labour == 0, both.c.cents), else_=0)).label("parts_c"),
                  ).group_by(both.c.estimate_id).subquery("estimate_totals")


def _messages(page, ordered_aggregates: bool):
    """Per order: its public messages (never the internal ones), oldest first, one per line."""
    om = OrderMessage.__table__
    public = (select(om.c.work_order_id, om.c.text, om.c.created_at, om.c.id)
              .join_from(page, om, om.c.work_order_id == page.c.order_id).where(om.c.public.is_(True))).subquery()
    return _folded(public, "work_order_id", ("created_at", "id"), ordered_aggregates,
                   lambda message, join: {"notes": join(message.text, "\n")}).subquery("messages")


def _credits(page):
    cn = CreditNote.__table__
    return (select(cn.c.invoice_id, func.sum(cn.c.total).label("total"))
            .join_from(page, cn, cn.c.invoice_id == page.c.invoice_id).group_by(cn.c.invoice_id).subquery("credits"))


def _statement(actor, dialect, customer_id, since, until, currency: str, batched: bool, periods):
    """The rows: the columns of ``_columns(actor)``, then (``batched``) ``created_at`` and ``id`` for the next
    page. ``periods``: the shop zone's (``zone_periods``)."""
    ordered = dialect.name != "sqlite" or (dialect.server_version_info or (0,)) >= (3, 44)
    wo, cu, un = WorkOrder.__table__, Customer.__table__, Unit.__table__
    sl, sm, sh = ServiceLocation.__table__, ShippingMethod.__table__, Shipment.__table__
    inv, est = Invoice.__table__, Estimate.__table__
    page = _page(actor, customer_id, since, until, batched)
    lines, estimated = _lines(page, ordered), _estimated(page)
    messages, credits = _messages(page, ordered), _credits(page)
    joined = (page.join(wo, wo.c.id == page.c.order_id)
              .join(cu, cu.c.id == wo.c.customer_id)
              .outerjoin(un, un.c.id == wo.c.unit_id)
              .outerjoin(sl, sl.c.id == wo.c.service_location_id)
              .outerjoin(sm, sm.c.id == wo.c.shipping_method_id)
              .outerjoin(sh, sh.c.id == wo.c.shipment_id)
              .outerjoin(inv, inv.c.id == page.c.invoice_id)
              .outerjoin(est, and_(est.c.id == page.c.estimate_id, page.c.invoice_id.is_(None),
                                   page.c.status != "cancelled", est.c.status == "approved",
                                   est.c.sent_at.is_not(None)))
              .outerjoin(lines, lines.c.order_id == page.c.order_id)
              .outerjoin(estimated, estimated.c.estimate_id == est.c.id)
              .outerjoin(messages, messages.c.work_order_id == page.c.order_id)
              .outerjoin(credits, credits.c.invoice_id == inv.c.id))

    invoiced, on_estimate = inv.c.id.is_not(None), est.c.id.is_not(None)
    est_labour, est_parts = func.coalesce(estimated.c.labour_c, 0), func.coalesce(estimated.c.parts_c, 0)
    est_net = est_labour + est_parts
    est_tax = (est_net * _Hundredths(est.c.tax_rate) + 5000) // 10000  # half up, as core.settings.tax_for

    def amount(from_invoice, from_estimate):
        return case((invoiced, from_invoice), (on_estimate, from_estimate))

    public_notes = func.nullif(wo.c.public_notes, "", type_=Text)
    notes = case((and_(public_notes.is_not(None), messages.c.notes.is_not(None)),
                  public_notes + "\n" + messages.c.notes), else_=func.coalesce(public_notes, messages.c.notes))
    basis = case((invoiced, "invoiced"), (on_estimate, "estimated"))
    cells = {
        "number": wo.c.number, "customer": _safe_sql(cu.c.name),
        "customer_reference": _safe_sql(wo.c.customer_reference),
        "internal_reference": _safe_sql(wo.c.internal_reference),
        "created": _local_iso(wo.c.created_at, periods), "received": _local_iso(wo.c.received_at, periods),
        "ready": _local_iso(wo.c.ready_at, periods), "completed": _local_iso(wo.c.completed_at, periods),
        "status": _words(STATUS_WORDS, wo.c.status), "status_code": wo.c.status,
        "kind": _words(KIND_WORDS, wo.c.kind), "kind_code": wo.c.kind,
        "make": _safe_sql(un.c.make), "model": _safe_sql(un.c.model),
        "serial_number": _safe_sql(un.c.serial_number), "imei": _safe_sql(un.c.imei),
        "fault": _safe_sql(wo.c.fault), "accessories": _safe_sql(wo.c.accessories),
        "repair_notes": _safe_sql(notes), "work_items": _safe_sql(lines.c.work), "parts": _safe_sql(lines.c.parts),
        "amounts": _words(AMOUNTS_WORDS, basis), "amounts_code": basis,
        "invoice_number": inv.c.number, "invoice_status": _words(INVOICE_WORDS, inv.c.status),
        "invoice_status_code": inv.c.status,
        "currency": case((or_(invoiced, on_estimate), literal(currency, String))),
        "labour_amount": amount(_CentsText(func.coalesce(lines.c.labour_c, 0)), _CentsText(est_labour)),
        "parts_amount": amount(_CentsText(func.coalesce(lines.c.parts_c, 0)), _CentsText(est_parts)),
        "other_amount": amount(_CentsText(func.coalesce(lines.c.other_c, 0)), _CentsText(literal(0))),
        "net": amount(_Decimal2(inv.c.subtotal), _CentsText(est_net)),
        "tax": amount(_Decimal2(inv.c.tax), _CentsText(est_tax)),
        "gross": amount(_Decimal2(inv.c.total), _CentsText(est_net + est_tax)),
        "amount_paid": case((invoiced, _Decimal2(inv.c.amount_paid))),
        "credited": case((invoiced, _Decimal2(0 - func.coalesce(credits.c.total, 0)))),
        "tracking_number": _safe_sql(wo.c.tracking_number), "service_location": _safe_sql(sl.c.name),
        "shipping_method": _safe_sql(sm.c.name), "shipment": sh.c.number,
    }
    columns = [cells[key].label(key) for key in _columns(actor)]
    if not batched:
        return select(*columns).select_from(joined).order_by(page.c.created_at, page.c.order_id)
    # Ordered by the page's own columns: the database walks the batch, not the whole work_order index.
    return (select(*columns, page.c.created_at, page.c.order_id).select_from(joined)
            .order_by(page.c.created_at, page.c.order_id))


def _columns(actor) -> list[str]:
    staff = actor.is_staff or actor.system
    return [key for key in HEADERS if staff or key not in STAFF_ONLY]


# ------------------------------------------------------------------ export
def stream_orders_csv(actor, start: dt.date | None = None, end: dt.date | None = None, customer_id=None,
                      bom: bool = False):
    """Yield the CSV in chunks of ``BATCH`` orders (a header row first, after the BOM if ``bom``)."""
    zone = shop_zone()
    keys = _columns(actor)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([str(HEADERS[key]) for key in keys])
    yield ("\ufeff" if bom else "") + buffer.getvalue()
    conn = db.session.connection()
    since, until = utc_bounds(start, end, zone)
    batched = BATCHED.get(conn.dialect.name, True)
    periods = zone_periods(zone, dt.date.today() + dt.timedelta(days=400))
    stmt = _statement(actor, conn.dialect, customer_id, since, until, get_settings().currency, batched, periods)
    if conn.dialect.name == "postgresql":
        # JIT compiling this statement costs more than running it (~0.2 s); for this transaction only.
        conn.exec_driver_sql("SET LOCAL jit = off")
    width = len(keys)
    for rows in (_batches(conn, stmt) if batched else _streamed(conn, stmt)):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([row[:width] for row in rows] if batched else rows)
        yield buffer.getvalue()


def _batches(conn, stmt):
    """One statement per batch, each starting after the last row of the one before."""
    after = {"after_created": dt.datetime.min, "after_id": 0}
    while True:
        rows = conn.execute(stmt, after).all()
        if rows:
            yield rows
        if len(rows) < BATCH:
            return
        after = {"after_created": rows[-1][-2], "after_id": rows[-1][-1]}


def _streamed(conn, stmt):
    """One statement, fetched ``BATCH`` rows at a time from a server-side cursor. ``yield_per`` is set on the
    statement, not the connection, so later statements of the transaction are plain ones."""
    yield from conn.execute(stmt, execution_options={"yield_per": BATCH}).partitions()


def export_dir() -> Path:
    return Path(current_app.config.get("PORTICO_EXPORT_DIR") or "exports")


def write_orders_csv(path, actor, start=None, end=None, customer_id=None, bom: bool = False) -> Path:
    """Write the export to ``path`` (relative paths under ``PORTICO_EXPORT_DIR``) atomically; return it."""
    target = Path(path)
    if not target.is_absolute():
        target = export_dir() / target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".csv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            for chunk in stream_orders_csv(actor, start=start, end=end, customer_id=customer_id, bom=bom):
                handle.write(chunk)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
