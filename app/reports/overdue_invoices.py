"""Overdue invoices: open or awaiting authorization, past their due date, with a balance left."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..core import formatting
from ..models import Customer, Invoice
from .base import Param, ReportResult, Table, as_of, cents, filters_where, format_cents, read_frame, words
from .charts import bar_chart

KIND = "overdue_invoices"
TITLE = _l("Overdue invoices")
DESCRIPTION = _l("Invoices due in the period that are still unpaid (open or awaiting authorization) after "
                 "their due date, as of the end of the period or today, by how long they are overdue.")
DEFAULT_PERIOD = "all_time"
PARAMS = [Param("customer_id", _l("Customer"), "customer")]
BUCKETS = [_l("1–30 days"), _l("31–60 days"), _l("61–90 days"), _l("over 90 days")]
STATUS = {"open": _l("Open"), "awaiting_authorization": _l("Awaiting authorization")}


def run(session, start: dt.datetime, end: dt.datetime, *, zone, now: dt.datetime, **filters) -> ReportResult:
    moment = as_of(end, now).replace(tzinfo=dt.UTC).astimezone(zone)
    buckets = [str(bucket) for bucket in BUCKETS]
    day = moment.date()  # due before this day and unpaid: overdue
    first_day = start.replace(tzinfo=dt.UTC).astimezone(zone).date()
    stmt = (
        select(Invoice.number, Customer.name.label("customer"), Invoice.status, Invoice.issued_at,
               Invoice.due_date, cents(Invoice.total).label("total"), cents(Invoice.amount_paid).label("paid"))
        .join(Customer, Customer.id == Invoice.customer_id)
        .where(Invoice.status.in_(tuple(STATUS)), Invoice.due_date < day, Invoice.due_date >= first_day,
               Invoice.total > Invoice.amount_paid)
        .order_by(Invoice.due_date, Invoice.number)
    )
    rows = read_frame(session, filters_where(stmt, {"customer_id": Invoice.customer_id}, filters))
    rows["total"] = rows["total"].astype("int64")
    rows["paid"] = rows["paid"].astype("int64")
    rows["balance"] = rows["total"] - rows["paid"]
    rows["days"] = [(day - due).days for due in pd.to_datetime(rows["due_date"]).dt.date] if len(rows) else []
    rows["bucket"] = pd.cut(rows["days"], bins=[0, 30, 60, 90, float("inf")], labels=buckets, right=True)

    listing = pd.DataFrame({
        "Invoice": rows["number"], "Customer": rows["customer"], "Status": rows["status"].map(words(STATUS)),
        "Due": pd.to_datetime(rows["due_date"]).dt.strftime("%Y-%m-%d"), "Days overdue": rows["days"],
        "Total": rows["total"], "Paid": rows["paid"], "Balance": rows["balance"],
    }).sort_values(["Days overdue", "Invoice"], ascending=[False, True])
    grouped = rows.groupby("bucket", observed=False)["balance"]
    aging = pd.DataFrame({"Overdue by": buckets, "Invoices": [int(grouped.count().get(b, 0)) for b in buckets],
                          "Balance": [int(grouped.sum().get(b, 0)) for b in buckets]})
    by_customer = (rows.groupby("customer").agg(Invoices=("balance", "size"), Balance=("balance", "sum"),
                                                Oldest=("days", "max"))
                   .reset_index(names="Customer").sort_values(["Balance", "Customer"], ascending=[False, True]))
    by_customer = by_customer.rename(columns={"Oldest": "Oldest (days)"})
    total = int(rows["balance"].sum())
    summary = [(_("As of"), formatting.datetime(moment)), (_("Overdue invoices"), formatting.number(len(rows))),
               (_("Balance overdue"), format_cents(total)), (_("Customers"), formatting.number(len(by_customer)))]
    charts = []
    if len(rows):
        charts.append(bar_chart(_("Balance overdue by age"), buckets, {_("Balance"): list(aging["Balance"] / 100)},
                                money=True))
    return ReportResult(
        title=str(TITLE),
        tables=[Table(_("By age"), aging, money=("Balance",), slug="by-age"),
                Table(_("By customer"), by_customer, money=("Balance",), pdf_rows=30, slug="by-customer"),
                Table(_("Invoices"), listing, money=("Total", "Paid", "Balance"), pdf_rows=50, slug="invoices",
                      note=_("Most overdue first; the CSV lists every invoice."))],
        charts=charts, row_count=len(rows), summary=summary,
    )
