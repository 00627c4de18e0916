"""Revenue invoiced and collected, by week (or month) and by customer.

Invoiced: invoices issued in the period that were not voided (their total, tax included), less the credit
notes issued in it (``CN-…``, negative). Collected: payments received in the period. Money is summed as
whole cents in the database.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..core import formatting
from ..models import CreditNote, Customer, Invoice, Payment
from .base import (
    CUSTOMER_KINDS,
    Param,
    ReportResult,
    Table,
    cents,
    filters_where,
    format_cents,
    local_series,
    read_frame,
    time_bucket,
    weekly,
    words,
)
from .charts import bar_chart

KIND = "revenue"
TITLE = _l("Revenue invoiced and collected")
DESCRIPTION = _l("Invoices issued in the period (not voided, tax included, less credit notes) and payments "
                 "received in it, by week or month and by customer.")
DEFAULT_PERIOD = "last_month"
PARAMS = [
    Param("customer_id", _l("Customer"), "customer"),
    Param("customer_kind", _l("Customer kind"), "choice", choices=("individual", "business", "reseller")),
]
INVOICED = ("awaiting_authorization", "open", "paid")


def _where(stmt, filters, customer_id=Invoice.customer_id):
    return filters_where(stmt, {"customer_id": customer_id, "customer_kind": Customer.kind}, filters)


def _credit_notes(start, end, filters):
    return _where(select(CreditNote.issued_at.label("at"), cents(CreditNote.total).label("cents"))
                  .join(Customer, Customer.id == CreditNote.customer_id)
                  .where(CreditNote.issued_at >= start, CreditNote.issued_at < end), filters, CreditNote.customer_id)


def run(session, start: dt.datetime, end: dt.datetime, *, zone, now: dt.datetime, **filters) -> ReportResult:
    invoiced = read_frame(session, _where(
        select(Invoice.issued_at.label("at"), cents(Invoice.total).label("cents"))
        .join(Customer, Customer.id == Invoice.customer_id)
        .where(Invoice.status.in_(INVOICED), Invoice.issued_at >= start, Invoice.issued_at < end), filters))
    credited = read_frame(session, _credit_notes(start, end, filters))
    credited_total = -int(credited["cents"].astype("int64").sum()) if len(credited) else 0
    invoiced["invoice"] = 1
    if len(credited):  # credit notes lower what was invoiced in the period they were issued in
        invoiced = pd.concat([invoiced, credited.assign(invoice=0)], ignore_index=True)
    collected = read_frame(session, _where(
        select(Payment.received_at.label("at"), cents(Payment.amount).label("cents"))
        .join(Invoice, Invoice.id == Payment.invoice_id).join(Customer, Customer.id == Invoice.customer_id)
        .where(Payment.received_at >= start, Payment.received_at < end), filters))
    label = "Week of"
    for frame in (invoiced, collected):
        label, frame["bucket"] = time_bucket(local_series(frame["at"], zone), start, end)
        frame["cents"] = frame["cents"].astype("int64")
    series = pd.DataFrame({
        "Invoiced": invoiced.groupby("bucket")["cents"].sum(),
        "Invoices": invoiced.groupby("bucket")["invoice"].sum(),
        "Collected": collected.groupby("bucket")["cents"].sum(),
        "Payments": collected.groupby("bucket")["cents"].count(),
    }).fillna(0).astype("int64").sort_index()
    by_time = series.reset_index(names=label)[[label, "Invoices", "Invoiced", "Payments", "Collected"]]

    per_customer_invoiced = _where(
        select(Invoice.customer_id, func.count(Invoice.id).label("invoices"), func.sum(cents(Invoice.total))
               .label("invoiced")).join(Customer, Customer.id == Invoice.customer_id)
        .where(Invoice.status.in_(INVOICED), Invoice.issued_at >= start, Invoice.issued_at < end)
        .group_by(Invoice.customer_id), filters).subquery()
    per_customer_credited = _where(
        select(CreditNote.customer_id, func.sum(cents(CreditNote.total)).label("credited"))
        .join(Customer, Customer.id == CreditNote.customer_id)
        .where(CreditNote.issued_at >= start, CreditNote.issued_at < end).group_by(CreditNote.customer_id),
        filters, CreditNote.customer_id).subquery()
    per_customer_collected = _where(
        select(Invoice.customer_id, func.sum(cents(Payment.amount)).label("collected"))
        .join(Invoice, Invoice.id == Payment.invoice_id).join(Customer, Customer.id == Invoice.customer_id)
        .where(Payment.received_at >= start, Payment.received_at < end).group_by(Invoice.customer_id),
        filters).subquery()
    customer_ids = select(per_customer_invoiced.c.customer_id).union(
        select(per_customer_collected.c.customer_id), select(per_customer_credited.c.customer_id)).subquery()
    by_customer = read_frame(session, (
        select(Customer.name.label("Customer"), Customer.kind.label("Kind"),
               func.coalesce(per_customer_invoiced.c.invoices, 0).label("Invoices"),
               (func.coalesce(per_customer_invoiced.c.invoiced, 0)
                + func.coalesce(per_customer_credited.c.credited, 0)).label("Invoiced"),
               func.coalesce(per_customer_collected.c.collected, 0).label("Collected"))
        .join(customer_ids, customer_ids.c.customer_id == Customer.id)
        .outerjoin(per_customer_invoiced, per_customer_invoiced.c.customer_id == Customer.id)
        .outerjoin(per_customer_collected, per_customer_collected.c.customer_id == Customer.id)
        .outerjoin(per_customer_credited, per_customer_credited.c.customer_id == Customer.id)
    ))
    for column in ("Invoices", "Invoiced", "Collected"):
        by_customer[column] = by_customer[column].astype("int64")
    by_customer = by_customer.sort_values(["Invoiced", "Collected", "Customer"], ascending=[False, False, True])
    by_customer["Kind"] = by_customer["Kind"].map(lambda kind: words(CUSTOMER_KINDS).get(kind, kind))

    total_invoiced, total_collected = int(invoiced["cents"].sum()), int(collected["cents"].sum())
    charts = []
    if len(by_time):
        charts.append(bar_chart(_("Invoiced and collected by week") if weekly(label)
                                else _("Invoiced and collected by month"), list(by_time[label]),
                                {_("Invoiced"): list(by_time["Invoiced"] / 100),
                                 _("Collected"): list(by_time["Collected"] / 100)}, money=True))
    top = by_customer.head(10)
    if len(top):
        charts.append(bar_chart(_("Top customers by amount invoiced"), list(top["Customer"]),
                                {_("Invoiced"): list(top["Invoiced"] / 100),
                                 _("Collected"): list(top["Collected"] / 100)},
                                horizontal=True, size=(6.4, 3.2), money=True))
    summary = [(_("Invoiced"), format_cents(total_invoiced)),
               (_("Invoices"), formatting.number(int(invoiced["invoice"].sum()))),
               (_("Credited"), format_cents(credited_total)),
               (_("Collected"), format_cents(total_collected)), (_("Payments"), formatting.number(len(collected))),
               (_("Customers invoiced"), formatting.number(int((by_customer["Invoices"] > 0).sum())))]
    return ReportResult(
        title=str(TITLE),
        tables=[Table(_("By week") if weekly(label) else _("By month"), by_time, money=("Invoiced", "Collected"),
                      slug="by-period"),
                Table(_("By customer"), by_customer, money=("Invoiced", "Collected"), pdf_rows=30,
                      slug="by-customer",
                      note=_("Largest first; the CSV lists every customer."))],
        charts=charts, row_count=len(invoiced) + len(collected), summary=summary,
    )
