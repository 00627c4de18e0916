"""Bulk export: one reseller's work orders of the period as CSV, e-mailed to the reseller.

The file is the documents' orders CSV (``app.documents.csv_export.write_orders_csv``), the same one the
reseller downloads from the portal, written straight into the run's folder under ``exports/``.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..core import formatting
from ..core.actors import Actor
from ..core.errors import ValidationFailed
from ..models import Customer, WorkOrder
from .base import Param, ReportResult

KIND = "reseller_orders_csv"
TITLE = _l("Reseller orders export (CSV)")
DESCRIPTION = _l("A reseller's work orders created in the period, as the portal's orders CSV, e-mailed to the "
                 "reseller's portal users (and to the recipients listed here).")
DEFAULT_PERIOD = "last_week"
PARAMS = [Param("customer_id", _l("Reseller"), "reseller", required=True)]
FORMATS = ("csv",)  # the export is a CSV file, never a PDF
EMAILS_CUSTOMER = True
WRITES_FILES = True


def run(session, start: dt.datetime, end: dt.datetime, *, zone, now: dt.datetime, output_dir: Path | None = None,
        customer_id=None, **filters) -> ReportResult:
    from ..documents.csv_export import write_orders_csv

    reseller = session.get(Customer, customer_id) if customer_id else None
    if reseller is None or reseller.kind != "reseller":
        raise ValidationFailed({"params": [_("Choose a reseller account for this export.")]})
    count = session.scalar(select(func.count(WorkOrder.id)).where(
        WorkOrder.customer_id == reseller.id, WorkOrder.created_at >= start, WorkOrder.created_at < end))
    local_start = start.replace(tzinfo=dt.UTC).astimezone(zone)
    local_end = end.replace(tzinfo=dt.UTC).astimezone(zone)
    name = f"orders-{_slug(reseller.name)}-{local_start:%Y%m%d}-{local_end:%Y%m%d}.csv"
    files = []
    if output_dir is not None:
        path = Path(output_dir) / name
        # The export takes shop-local dates, both included; the period's bounds are local midnights.
        write_orders_csv(path, actor=Actor.system_actor(f"scheduled export for {reseller.name}"),
                         customer_id=reseller.id, start=local_start.date(),
                         end=(local_end - dt.timedelta(days=1)).date())
        # The export streams with ``yield_per``; on PostgreSQL that option stays on the transaction's
        # connection (every later statement would become a server-side cursor, an UPDATE included): end
        # the transaction here so the run's own writes get a plain connection.
        session.commit()
        files.append({"name": name, "path": path, "content_type": "text/csv"})
    return ReportResult(
        title=_("%(report)s: %(reseller)s", report=TITLE, reseller=reseller.name), row_count=int(count or 0),
        files=files, summary=[(_("Reseller"), reseller.name), (_("Work orders"), formatting.number(int(count or 0)))],
    )


def _slug(text: str) -> str:
    keep = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    return "-".join(part for part in keep.split("-") if part)[:40] or "reseller"
