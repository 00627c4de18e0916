"""Resellers' order volume and turnaround (unit received → work order completed)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..core import formatting
from ..models import Customer, WorkOrder
from .base import (
    Param,
    ReportResult,
    Table,
    days,
    filters_where,
    local_series,
    one_decimal,
    read_frame,
    time_bucket,
    weekly,
)
from .charts import bar_chart

KIND = "reseller_volume"
TITLE = _l("Reseller volume and turnaround")
DESCRIPTION = _l("Work orders of reseller accounts created in the period: how many, in which state, and the "
                 "days from receiving the unit to completing the order.")
DEFAULT_PERIOD = "last_month"
PARAMS = [Param("customer_id", _l("Reseller"), "reseller")]
OPEN = ("pending_confirmation", "confirmed", "received", "in_progress", "ready")


def run(session, start: dt.datetime, end: dt.datetime, *, zone, now: dt.datetime, **filters) -> ReportResult:
    stmt = (
        select(Customer.name.label("reseller"), WorkOrder.status, WorkOrder.created_at, WorkOrder.received_at,
               WorkOrder.completed_at)
        .join(Customer, Customer.id == WorkOrder.customer_id)
        .where(Customer.kind == "reseller", WorkOrder.created_at >= start, WorkOrder.created_at < end)
    )
    rows = read_frame(session, filters_where(stmt, {"customer_id": WorkOrder.customer_id}, filters),
                      parse_dates=("created_at", "received_at", "completed_at"))
    rows["turnaround"] = (rows["completed_at"] - rows["received_at"]).dt.total_seconds() / 86400
    label, rows["bucket"] = time_bucket(local_series(rows["created_at"], zone), start, end)

    def figures(group: pd.DataFrame) -> dict:
        done = group["turnaround"].dropna()
        return {"Orders": len(group), "Open": int(group["status"].isin(OPEN).sum()),
                "Completed": int((group["status"] == "completed").sum()),
                "Cancelled": int((group["status"] == "cancelled").sum()),
                "Median turnaround (days)": one_decimal(done.median()) if len(done) else "–",
                "Average turnaround (days)": one_decimal(done.mean()) if len(done) else "–"}

    columns = ["Orders", "Open", "Completed", "Cancelled", "Median turnaround (days)", "Average turnaround (days)"]
    by_reseller = pd.DataFrame([{"Reseller": name, **figures(group)} for name, group in rows.groupby("reseller")],
                               columns=["Reseller", *columns]).sort_values(["Orders", "Reseller"],
                                                                           ascending=[False, True])
    by_time = pd.DataFrame([{label: key, **figures(group)} for key, group in rows.groupby("bucket", sort=True)],
                           columns=[label, *columns])
    done = rows["turnaround"].dropna()
    summary = [(_("Reseller orders"), formatting.number(len(rows))),
               (_("Resellers"), formatting.number(len(by_reseller))),
               (_("Completed"), formatting.number(int((rows["status"] == "completed").sum()))),
               (_("Median turnaround"), days(done.median()) if len(done) else "–")]
    charts = []
    if len(rows):
        charts.append(bar_chart(_("Reseller orders by week") if weekly(label) else _("Reseller orders by month"),
                                list(by_time[label]),
                                {_("Orders"): list(by_time["Orders"]), _("Completed"): list(by_time["Completed"])}))
        top = by_reseller.head(10)
        charts.append(bar_chart(_("Largest resellers"), list(top["Reseller"]), {_("Orders"): list(top["Orders"])},
                                horizontal=True, size=(6.4, 3.0)))
    return ReportResult(
        title=str(TITLE),
        tables=[Table(_("By reseller"), by_reseller, pdf_rows=40, slug="by-reseller"),
                Table(_("By week") if weekly(label) else _("By month"), by_time, slug="by-period")],
        charts=charts, row_count=len(rows), summary=summary,
    )
