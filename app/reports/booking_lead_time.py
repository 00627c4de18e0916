"""Booking lead time: from a service request's submission to its confirmed booking."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..core import formatting
from ..models import ServiceRequest, ServiceType
from .base import (
    Param,
    ReportResult,
    Table,
    filters_where,
    hours,
    local_series,
    one_decimal,
    read_frame,
    time_bucket,
    weekly,
    words,
)
from .charts import line_chart

KIND = "booking_lead_time"
TITLE = _l("Booking lead time")
DESCRIPTION = _l("Hours from a request's submission to its confirmed booking (staff confirmed it, or the "
                 "customer accepted a proposed time), for bookings confirmed in the period.")
DEFAULT_PERIOD = "last_30_days"
PARAMS = [
    Param("service_type_id", _l("Service type"), "service_type"),
    Param("service_location_id", _l("Service location"), "service_location"),
]
SOURCES = {"public": _l("Public form"), "portal": _l("Portal"), "staff": _l("Staff")}


def _stats(group: pd.Series) -> dict:
    return {"Bookings": int(group.count()), "Median (h)": one_decimal(group.median()),
            "Average (h)": one_decimal(group.mean()), "90th percentile (h)": one_decimal(group.quantile(0.9))}


def _table(rows: pd.DataFrame, key: str, label: str) -> pd.DataFrame:
    if rows.empty:
        return pd.DataFrame(columns=[label, "Bookings", "Median (h)", "Average (h)", "90th percentile (h)"])
    stats = [{label: name, **_stats(group)} for name, group in rows.groupby(key, sort=True)["lead_hours"]]
    return pd.DataFrame(stats)


def run(session, start: dt.datetime, end: dt.datetime, *, zone, now: dt.datetime, **filters) -> ReportResult:
    stmt = (
        select(ServiceRequest.created_at, ServiceRequest.confirmed_at, ServiceRequest.source,
               ServiceType.name.label("service_type"))
        .join(ServiceType, ServiceType.id == ServiceRequest.service_type_id)
        .where(ServiceRequest.confirmed_at >= start, ServiceRequest.confirmed_at < end)
    )
    stmt = filters_where(stmt, {"service_type_id": ServiceRequest.service_type_id,
                                "service_location_id": ServiceRequest.service_location_id}, filters)
    rows = read_frame(session, stmt, parse_dates=("created_at", "confirmed_at"))
    rows["lead_hours"] = (rows["confirmed_at"] - rows["created_at"]).dt.total_seconds() / 3600
    label, rows["bucket"] = time_bucket(local_series(rows["confirmed_at"], zone), start, end)
    sources = words(SOURCES)
    rows["source"] = rows["source"].map(lambda s: sources.get(s, s))

    by_time = _table(rows, "bucket", label)
    by_type = _table(rows, "service_type", "Service type")
    by_source = _table(rows, "source", "Submitted through")
    summary = [(_("Bookings"), formatting.number(len(rows)))]
    charts = []
    if len(rows):
        lead = rows["lead_hours"]
        summary += [(_("Median lead time"), hours(lead.median())), (_("Average"), hours(lead.mean())),
                    (_("90th percentile"), hours(lead.quantile(0.9)))]
        by_bucket = rows.groupby("bucket")["lead_hours"]
        charts.append(line_chart(_("Lead time by week (hours)") if weekly(label) else _("Lead time by month (hours)"),
                                 list(by_bucket.median().index),
                                 {_("Median"): list(by_bucket.median()),
                                  _("90th percentile"): list(by_bucket.quantile(0.9))}))
    return ReportResult(
        title=str(TITLE),
        tables=[Table(_("By week of confirmation") if weekly(label) else _("By month of confirmation"), by_time,
                      slug="by-period"),
                Table(_("By service type"), by_type, slug="by-service-type"),
                Table(_("By channel"), by_source, slug="by-channel")],
        charts=charts, row_count=len(rows), summary=summary,
    )
