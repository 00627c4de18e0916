"""Overdue invoices: open or awaiting authorization, past their due date, with a balance left."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select

from ..models import Customer, Invoice
from .base import Param, ReportResult, Table, as_of, cents, filters_where, format_cents, read_frame
from .charts import bar_chart

KIND = "overdue_invoices"
TITLE = "Overdue invoices"
DESCRIPTION = ("Invoices due in the period that are still unpaid (open or awaiting authorization) after "
               "their due date, as of the end of the period or today, by how long they are overdue.")
DEFAULT_PERIOD = "all_time"
PARAMS = [Param("customer_id", "Customer", "customer")]
BUCKETS = ["1–30 days", "31–60 days", "61–90 days", "over 90 days"]
STATUS = {"open": "Open", "awaiting_authorization": "Awaiting authorization"}


def run(session, start: dt.datetime, end: dt.datetime, *, zone, now: dt.datetime, **filters) -> ReportResult:
    moment = as_of(end, now).replace(tzinfo=dt.UTC).astimezone(zone)
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
    rows["bucket"] = pd.cut(rows["days"], bins=[0, 30, 60, 90, float("inf")], labels=BUCKETS, right=True)

    listing = pd.DataFrame({
        "Invoice": rows["number"], "Customer": rows["customer"], "Status": rows["status"].map(STATUS),
        "Due": pd.to_datetime(rows["due_date"]).dt.strftime("%Y-%m-%d"), "Days overdue": rows["days"],
        "Total": rows["total"], "Paid": rows["paid"], "Balance": rows["balance"],
    }).sort_values(["Days overdue", "Invoice"], ascending=[False, True])
    grouped = rows.groupby("bucket", observed=False)["balance"]
    aging = pd.DataFrame({"Overdue by": BUCKETS, "Invoices": [int(grouped.count().get(b, 0)) for b in BUCKETS],
                          "Balance": [int(grouped.sum().get(b, 0)) for b in BUCKETS]})
    by_customer = (rows.groupby("customer").agg(Invoices=("balance", "size"), Balance=("balance", "sum"),
                                                Oldest=("days", "max"))
                   .reset_index(names="Customer").sort_values(["Balance", "Customer"], ascending=[False, True]))
    by_customer = by_customer.rename(columns={"Oldest": "Oldest (days)"})
    total = int(rows["balance"].sum())
    summary = [("As of", f"{moment:%Y-%m-%d %H:%M}"), ("Overdue invoices", str(len(rows))),
               ("Balance overdue", format_cents(total)), ("Customers", str(len(by_customer)))]
    charts = []
    if len(rows):
        charts.append(bar_chart("Balance overdue by age", BUCKETS, {"Balance": list(aging["Balance"] / 100)}))
    return ReportResult(
        title=TITLE,
        tables=[Table("By age", aging, money=("Balance",), slug="by-age"),
                Table("By customer", by_customer, money=("Balance",), pdf_rows=30, slug="by-customer"),
                Table("Invoices", listing, money=("Total", "Paid", "Balance"), pdf_rows=50, slug="invoices",
                      note="Most overdue first; the CSV lists every invoice.")],
        charts=charts, row_count=len(rows), summary=summary,
    )
