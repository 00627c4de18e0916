"""Booking lead time: from a service request's submission to its confirmed booking."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select

from ..models import ServiceRequest, ServiceType
from .base import Param, ReportResult, Table, filters_where, local_series, one_decimal, read_frame, time_bucket
from .charts import line_chart

KIND = "booking_lead_time"
TITLE = "Booking lead time"
DESCRIPTION = ("Hours from a request's submission to its confirmed booking (staff confirmed it, or the "
               "customer accepted a proposed time), for bookings confirmed in the period.")
DEFAULT_PERIOD = "last_30_days"
PARAMS = [
    Param("service_type_id", "Service type", "service_type"),
    Param("service_location_id", "Service location", "service_location"),
]
SOURCES = {"public": "Public form", "portal": "Portal", "staff": "Staff"}


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
    rows["source"] = rows["source"].map(lambda s: SOURCES.get(s, s))

    by_time = _table(rows, "bucket", label)
    by_type = _table(rows, "service_type", "Service type")
    by_source = _table(rows, "source", "Submitted through")
    summary = [("Bookings", str(len(rows)))]
    charts = []
    if len(rows):
        lead = rows["lead_hours"]
        summary += [("Median lead time", f"{lead.median():.1f} h"), ("Average", f"{lead.mean():.1f} h"),
                    ("90th percentile", f"{lead.quantile(0.9):.1f} h")]
        weekly = rows.groupby("bucket")["lead_hours"]
        charts.append(line_chart(f"Lead time by {label.split()[0].lower()} (hours)", list(weekly.median().index),
                                 {"Median": list(weekly.median()), "90th percentile": list(weekly.quantile(0.9))}))
    return ReportResult(
        title=TITLE,
        tables=[Table(f"By {label.split()[0].lower()} of confirmation", by_time, slug="by-period"),
                Table("By service type", by_type, slug="by-service-type"),
                Table("By channel", by_source, slug="by-channel")],
        charts=charts, row_count=len(rows), summary=summary,
    )
