"""Data quality: work orders without a unit, customers the shop cannot e-mail."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, or_, select

from ..core import formatting
from ..models import Customer, PortalUser, User, WorkOrder
from .base import (
    CUSTOMER_KINDS,
    ORDER_KINDS,
    ORDER_STATES,
    Param,
    ReportResult,
    Table,
    filters_where,
    local_series,
    read_frame,
    words,
)

KIND = "data_quality"
TITLE = _l("Data quality")
DESCRIPTION = _l("Records created in the period that need fixing: work orders without a unit (not cancelled) "
                 "and customers with no e-mail address, neither on the account nor on an active portal user.")
DEFAULT_PERIOD = "all_time"
PARAMS = [Param("customer_id", _l("Customer"), "customer")]
KINDS = CUSTOMER_KINDS


def _blank(column):
    return or_(column.is_(None), func.trim(column) == "")


def run(session, start: dt.datetime, end: dt.datetime, *, zone, now: dt.datetime, **filters) -> ReportResult:
    orders = read_frame(session, filters_where(
        select(WorkOrder.number, Customer.name.label("customer"), WorkOrder.status, WorkOrder.kind,
               WorkOrder.created_at)
        .join(Customer, Customer.id == WorkOrder.customer_id)
        .where(WorkOrder.unit_id.is_(None), WorkOrder.status != "cancelled", WorkOrder.created_at >= start,
               WorkOrder.created_at < end)
        .order_by(WorkOrder.created_at.desc()), {"customer_id": WorkOrder.customer_id}, filters),
        parse_dates=("created_at",))
    portal_email = exists().where(
        PortalUser.customer_id == Customer.id,
        and_(User.id == PortalUser.user_id, User.active.is_(True), ~_blank(User.email)),
    )
    customers = read_frame(session, filters_where(
        select(Customer.name, Customer.kind, Customer.phone, Customer.created_at)
        .where(_blank(Customer.email), ~portal_email, Customer.created_at >= start, Customer.created_at < end)
        .order_by(Customer.name), {"customer_id": Customer.id}, filters), parse_dates=("created_at",))

    order_table = pd.DataFrame({
        "Work order": orders["number"], "Customer": orders["customer"],
        "Status": orders["status"].map(lambda state: words(ORDER_STATES).get(state, state)),
        "Kind": orders["kind"].map(lambda kind: words(ORDER_KINDS).get(kind, kind)),
        "Created": local_series(orders["created_at"], zone).dt.strftime("%Y-%m-%d"),
    })
    customer_table = pd.DataFrame({
        "Customer": customers["name"], "Kind": customers["kind"].map(words(KINDS)),
        "Phone": customers["phone"].fillna(""),
        "Created": local_series(customers["created_at"], zone).dt.strftime("%Y-%m-%d"),
    })
    summary = [(_("Work orders without a unit"), formatting.number(len(orders))),
               (_("Customers without e-mail"), formatting.number(len(customers)))]
    return ReportResult(
        title=str(TITLE),
        tables=[Table(_("Work orders without a unit"), order_table, pdf_rows=100, slug="orders-without-unit",
                      note=_("Newest first; not counting cancelled orders.")),
                Table(_("Customers without e-mail"), customer_table, pdf_rows=100, slug="customers-without-email",
                      note=_("No address on the account and no active portal user with one."))],
        row_count=len(orders) + len(customers), summary=summary,
    )
