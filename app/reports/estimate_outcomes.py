"""Estimate outcomes: approval, decline and dispute rates, and how many revisions an estimate takes.

An estimate and its revisions (``EST-000042``, ``EST-000042-R2``…) count once, by their number, in the
period in which the first revision was sent. Its outcome is the state of its latest revision; it counts
as disputed when the customer disputed any revision.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select

from ..core import formatting
from ..models import DisputeNote, Estimate
from .base import (
    Param,
    ReportResult,
    Table,
    filters_where,
    local_series,
    percent,
    read_frame,
    time_bucket,
    weekly,
    words,
)
from .charts import bar_chart

KIND = "estimate_outcomes"
TITLE = _l("Estimate approvals, declines and disputes")
DESCRIPTION = _l("Estimates first sent in the period: the share approved, declined and disputed, and the "
                 "average number of revisions.")
DEFAULT_PERIOD = "last_30_days"
PARAMS = [Param("customer_id", _l("Customer"), "customer")]
OUTCOMES = {"approved": _l("Approved"), "declined": _l("Declined"), "sent": _l("Awaiting decision"),
            "disputed": _l("Disputed, open"), "draft": _l("Being revised"), "cancelled": _l("Cancelled")}


def _rates(group: pd.DataFrame) -> dict:
    total = len(group)
    return {
        "Estimates": total,
        "Approved": percent((group["outcome"] == "approved").sum(), total),
        "Declined": percent((group["outcome"] == "declined").sum(), total),
        "Disputed": percent(group["disputed"].sum(), total),
        "Average revisions": formatting.number(group["revisions"].mean(), 2) if total else "–",
    }


def run(session, start: dt.datetime, end: dt.datetime, *, zone, now: dt.datetime, **filters) -> ReportResult:
    first_sent = (
        select(Estimate.number).where(Estimate.sent_at.is_not(None)).group_by(Estimate.number)
        .having(and_(func.min(Estimate.sent_at) >= start, func.min(Estimate.sent_at) < end))
    )
    first_sent = filters_where(first_sent, {"customer_id": Estimate.customer_id}, filters)
    disputed = select(DisputeNote.estimate_number).where(DisputeNote.side == "customer").distinct().subquery()
    stmt = (
        select(Estimate.number, Estimate.revision, Estimate.status, Estimate.sent_at,
               (disputed.c.estimate_number.is_not(None)).label("disputed"))
        .outerjoin(disputed, disputed.c.estimate_number == Estimate.number)
        .where(Estimate.number.in_(first_sent))
    )
    rows = read_frame(session, stmt, parse_dates=("sent_at",))
    rows["disputed"] = rows["disputed"].astype(bool) | (rows["status"] == "disputed")
    rows = rows.sort_values(["number", "revision"])
    grouped = rows.groupby("number", sort=False)
    numbers = pd.DataFrame({
        "first_sent": grouped["sent_at"].min(),
        "revisions": grouped["revision"].max(),
        "outcome": grouped["status"].last(),
        "disputed": grouped["disputed"].any(),
    }).reset_index()
    label, numbers["bucket"] = time_bucket(local_series(numbers["first_sent"], zone), start, end)

    by_time = pd.DataFrame([{label: key, **_rates(group)} for key, group in numbers.groupby("bucket", sort=True)],
                           columns=[label, "Estimates", "Approved", "Declined", "Disputed", "Average revisions"])
    counts = numbers["outcome"].value_counts()
    outcomes = words(OUTCOMES)
    by_outcome = pd.DataFrame([
        {"Outcome": text, "Estimates": int(counts.get(state, 0)), "Share": percent(counts.get(state, 0), len(numbers))}
        for state, text in outcomes.items()
    ])
    overall = _rates(numbers)
    summary = [(_("Estimates sent"), formatting.number(len(numbers))), (_("Approval rate"), overall["Approved"]),
               (_("Decline rate"), overall["Declined"]), (_("Dispute rate"), overall["Disputed"]),
               (_("Average revisions"), overall["Average revisions"])]
    charts = []
    if len(numbers):
        table = pd.crosstab(numbers["bucket"], numbers["outcome"]).sort_index()
        shown = [s for s in ("approved", "declined", "sent", "disputed", "draft", "cancelled") if s in table]
        charts.append(bar_chart(_("Estimates by outcome and week first sent") if weekly(label)
                                else _("Estimates by outcome and month first sent"),
                                list(table.index), {outcomes[s]: list(table[s]) for s in shown}, stacked=True))
    return ReportResult(
        title=str(TITLE),
        tables=[Table(_("Outcomes"), by_outcome, slug="outcomes"),
                Table(_("By week first sent") if weekly(label) else _("By month first sent"), by_time,
                      slug="by-period")],
        charts=charts, row_count=len(numbers), summary=summary,
    )
