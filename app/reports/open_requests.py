"""Open service requests by age and status."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..core import formatting
from ..models import Customer, ServiceRequest, ServiceType
from .base import (
    Param,
    ReportResult,
    Table,
    age_bucket,
    age_labels,
    days,
    filters_where,
    local_series,
    one_decimal,
    read_frame,
    words,
)
from .charts import bar_chart

KIND = "open_requests"
TITLE = _l("Open requests by age and status")
DESCRIPTION = _l("Service requests created in the period that are still open (new, time proposed, or booked "
                 "and waiting for their estimate or work order), by how long they have been waiting.")
DEFAULT_PERIOD = "last_365_days"
PARAMS = [
    Param("service_type_id", _l("Service type"), "service_type"),
    Param("service_location_id", _l("Service location"), "service_location"),
    Param("customer_id", _l("Customer"), "customer"),
]
OPEN = ("new", "time_proposed", "accepted")
STATUS_LABELS = {"new": _l("New"), "time_proposed": _l("Time proposed"), "accepted": _l("Booked")}


def run(session, start: dt.datetime, end: dt.datetime, *, zone, now: dt.datetime, **filters) -> ReportResult:
    stmt = (
        select(ServiceRequest.number, ServiceRequest.status, ServiceRequest.created_at, ServiceRequest.subject,
               Customer.name.label("customer"), ServiceType.name.label("service_type"))
        .join(Customer, Customer.id == ServiceRequest.customer_id)
        .join(ServiceType, ServiceType.id == ServiceRequest.service_type_id)
        .where(ServiceRequest.status.in_(OPEN), ServiceRequest.created_at >= start,
               ServiceRequest.created_at < end)
        .order_by(ServiceRequest.created_at, ServiceRequest.id)
    )
    stmt = filters_where(stmt, {"service_type_id": ServiceRequest.service_type_id,
                                "service_location_id": ServiceRequest.service_location_id,
                                "customer_id": ServiceRequest.customer_id}, filters)
    rows = read_frame(session, stmt, parse_dates=("created_at",))
    rows["age_days"] = (pd.Timestamp(now) - rows["created_at"]).dt.total_seconds() / 86400
    rows["age"] = age_bucket(rows["age_days"])
    labels = words(STATUS_LABELS)
    rows["status_label"] = rows["status"].map(labels)

    pivot = pd.crosstab(rows["age"], rows["status_label"]).reindex(
        index=age_labels(), columns=list(labels.values()),
        fill_value=0)
    pivot["Total"] = pivot.sum(axis=1)
    by_age = pivot.reset_index().rename(columns={"age": "Waiting"})
    by_age.columns.name = None

    oldest = pd.DataFrame({
        "Number": rows["number"], "Customer": rows["customer"], "Status": rows["status_label"],
        "Service type": rows["service_type"],
        "Created": local_series(rows["created_at"], zone).dt.strftime("%Y-%m-%d %H:%M"),
        "Waiting (days)": rows["age_days"].map(one_decimal), "Subject": rows["subject"],
    })
    chart = bar_chart(_("Open requests by waiting time"), list(by_age["Waiting"]),
                      {label: list(by_age[label]) for label in labels.values()}, stacked=True,
                      horizontal=True)
    counts = rows["status"].value_counts()
    summary = [(_("Open requests"), formatting.number(len(rows)))]
    summary += [(labels[s], formatting.number(int(counts.get(s, 0)))) for s in OPEN]
    if len(rows):
        summary += [(_("Median wait"), days(rows["age_days"].median())),
                    (_("Longest wait"), days(rows["age_days"].max()))]
    return ReportResult(
        title=str(TITLE),
        tables=[Table(_("By waiting time and status"), by_age, slug="by-age"),
                Table(_("Oldest open requests"), oldest, pdf_rows=40, slug="requests",
                      note=_("Oldest first; the CSV lists every open request."))],
        charts=[chart], row_count=len(rows), summary=summary,
    )
