"""CSV export of work orders: resellers their own (portal), staff any customer's (staff screen, scheduler).

``stream_orders_csv(actor, start=None, end=None, customer_id=None)`` yields ``str`` chunks: a header row,
then one row per order, oldest first. It reads with SQLAlchemy Core over a server-side cursor (``yield_per``)
and loads the work items of each batch of orders in one query, so memory stays flat however many orders
there are and the number of statements is ``1 + orders / BATCH``. Rows come through ``scope.scoped``: a
customer gets only their own account's orders, whatever ``customer_id`` says.

Cells: UTF-8, money with two decimals (``Decimal``, never float), times ISO 8601 in the shop's zone, and a
cell that a spreadsheet would read as a formula (``= + - @``, tab, CR first) gets a leading ``'``. Internal
fields (internal reference) are in staff exports only.

``csv.writer``, not pandas: pandas reads ``Numeric`` as float (``284.6`` instead of ``284.60``) and costs
more than the whole csv.writer export on its own (bench/README.md, "Documents").
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
from decimal import Decimal
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ..core.errors import ValidationFailed
from ..core.fields import OUT_OF_CALENDAR, in_calendar
from ..core.scope import scoped
from ..core.settings import shop_zone
from ..extensions import db
from ..models import Customer, ServiceLocation, Shipment, ShippingMethod, Unit, WorkItem, WorkOrder

BATCH = 2000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CENT = Decimal("0.01")
UTC = dt.UTC

_WO, _UNIT = WorkOrder.__table__.c, Unit.__table__.c
#: (header, column) in output order; ``None`` columns are computed from the work items.
COLUMNS = [
    ("Order number", _WO.number),
    ("Customer", Customer.__table__.c.name),
    ("Customer reference", _WO.customer_reference),
    ("Internal reference", _WO.internal_reference),
    ("Created", _WO.created_at),
    ("Received", _WO.received_at),
    ("Ready", _WO.ready_at),
    ("Completed", _WO.completed_at),
    ("Status", _WO.status),
    ("Kind", _WO.kind),
    ("Make", _UNIT.make),
    ("Model", _UNIT.model),
    ("Serial number", _UNIT.serial_number),
    ("IMEI", _UNIT.imei),
    ("Fault", _WO.fault),
    ("Accessories", _WO.accessories),
    ("Repair notes", _WO.public_notes),
    ("Work items", None),
    ("Parts", None),
    ("Labour amount", None),
    ("Parts amount", None),
    ("Total (net)", None),
    ("Tracking number", _WO.tracking_number),
    ("Service location", ServiceLocation.__table__.c.name),
    ("Shipping method", ShippingMethod.__table__.c.name),
    ("Shipment", Shipment.__table__.c.number),
]
STAFF_ONLY = {"Customer", "Internal reference"}
TIME_COLUMNS = {"Created", "Received", "Ready", "Completed"}


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


def utc_bounds(start: dt.date | None, end: dt.date | None, zone) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Shop-local whole days as naive-UTC ``[from, to)`` bounds."""

    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)

    return (midnight(start) if start else None, midnight(end + dt.timedelta(days=1)) if end else None)


# ------------------------------------------------------------------ cells
def safe(value) -> str:
    """Neutralise a cell a spreadsheet would run as a formula (None is an empty cell)."""
    if value is None:
        return ""
    value = value if isinstance(value, str) else str(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def local_iso(zone):
    """A formatter of naive-UTC times as ISO 8601 in ``zone`` (``2025-03-10T00:30:00+01:00``).

    The zone's offset is looked up once per UTC hour (rows come in time order, so a small cache hits
    nearly always); an hour in which the offset changes is converted exactly, time by time.
    """
    offsets: dict = {}
    hour_span = dt.timedelta(hours=1) - dt.timedelta(microseconds=1)

    def exact(value: dt.datetime) -> str:
        return value.replace(tzinfo=UTC).astimezone(zone).replace(microsecond=0).isoformat()

    def fmt(value: dt.datetime | None) -> str:
        if value is None:
            return ""
        hour = value.replace(minute=0, second=0, microsecond=0)
        found = offsets.get(hour)
        if found is None:
            if len(offsets) > 4096:
                offsets.clear()
            first = hour.replace(tzinfo=UTC).astimezone(zone)
            last = (hour + hour_span).replace(tzinfo=UTC).astimezone(zone)
            found = offsets[hour] = (first.utcoffset(), first.isoformat()[-6:]) \
                if first.utcoffset() == last.utcoffset() else False
        if found is False:
            return exact(value)
        return (value + found[0]).replace(microsecond=0).isoformat() + found[1]

    return fmt


def _amount(quantity, price) -> Decimal:
    return (Decimal(quantity) * Decimal(price)).quantize(CENT)


def _items_by_order(conn, ids: list[int]) -> dict[int, list]:
    rows = conn.execute(
        select(WorkItem.work_order_id, WorkItem.kind, WorkItem.part_number, WorkItem.description,
               WorkItem.quantity, WorkItem.unit_price)
        .where(WorkItem.work_order_id.in_(ids)).order_by(WorkItem.work_order_id, WorkItem.position, WorkItem.id)
    )
    grouped: dict[int, list] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row)
    return grouped


def _item_cells(items: list) -> list[str]:
    work, parts = [], []
    labour_total = parts_total = Decimal("0.00")
    for _order_id, kind, part_number, description, quantity, price in items:
        amount = _amount(quantity, price)
        if kind == "part":
            parts_total += amount
            label = f"{part_number} {description}" if part_number else description
            parts.append(f"{label} x {quantity:.2f} @ {price:.2f} = {amount:.2f}")
        else:
            labour_total += amount
            work.append(f"{description} ({quantity:.2f} h @ {price:.2f} = {amount:.2f})")
    return ["; ".join(work), "; ".join(parts), f"{labour_total:.2f}", f"{parts_total:.2f}",
            f"{labour_total + parts_total:.2f}"]


# ------------------------------------------------------------------ export
def _columns(actor) -> list[tuple[str, object]]:
    staff = actor.is_staff or actor.system
    return [(name, col) for name, col in COLUMNS if staff or name not in STAFF_ONLY]


def _query(actor, columns, start, end, customer_id, zone):
    wo = WorkOrder.__table__
    joined = (wo.join(Customer.__table__, wo.c.customer_id == Customer.__table__.c.id)
              .outerjoin(Unit.__table__, wo.c.unit_id == _UNIT.id)
              .outerjoin(ServiceLocation.__table__, wo.c.service_location_id == ServiceLocation.__table__.c.id)
              .outerjoin(ShippingMethod.__table__, wo.c.shipping_method_id == ShippingMethod.__table__.c.id)
              .outerjoin(Shipment.__table__, wo.c.shipment_id == Shipment.__table__.c.id))
    stmt = select(wo.c.id, *[col for _name, col in columns if col is not None]).select_from(joined)
    stmt = scoped(stmt, WorkOrder, actor)
    if customer_id not in (None, "") and not actor.is_customer:  # a customer's export is always their own
        stmt = stmt.where(wo.c.customer_id == int(customer_id))
    since, until = utc_bounds(start, end, zone)
    if since is not None:
        stmt = stmt.where(wo.c.created_at >= since)
    if until is not None:
        stmt = stmt.where(wo.c.created_at < until)
    return stmt.order_by(wo.c.created_at, wo.c.id)


def stream_orders_csv(actor, start: dt.date | None = None, end: dt.date | None = None, customer_id=None):
    """Yield the CSV in chunks of ``BATCH`` orders (a header row first)."""
    zone = shop_zone()
    columns = _columns(actor)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([name for name, _col in columns])
    yield buffer.getvalue()
    sql_columns = [name for name, col in columns if col is not None]
    when = local_iso(zone)
    converters = [when if name in TIME_COLUMNS else safe for name in sql_columns]
    items_at = next(i for i, (_name, col) in enumerate(columns) if col is None)
    conn = db.session.connection()
    # Per statement, not ``conn.execution_options()``: that would change the session's connection in place
    # and make every later statement of the transaction a server-side cursor on PostgreSQL.
    result = conn.execute(_query(actor, columns, start, end, customer_id, zone),
                          execution_options={"yield_per": BATCH})
    for rows in result.partitions():
        buffer.seek(0)
        buffer.truncate()
        items = _items_by_order(conn, [row[0] for row in rows])
        for row in rows:
            cells = [convert(value) for convert, value in zip(converters, row[1:], strict=True)]
            cells[items_at:items_at] = _item_cells(items.get(row[0], ()))
            writer.writerow(cells)
        yield buffer.getvalue()


def export_dir() -> Path:
    return Path(current_app.config.get("PORTICO_EXPORT_DIR") or "exports")


def write_orders_csv(path, actor, start=None, end=None, customer_id=None) -> Path:
    """Write the export to ``path`` (relative paths under ``PORTICO_EXPORT_DIR``) atomically; return it."""
    target = Path(path)
    if not target.is_absolute():
        target = export_dir() / target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".csv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            for chunk in stream_orders_csv(actor, start=start, end=end, customer_id=customer_id):
                handle.write(chunk)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
