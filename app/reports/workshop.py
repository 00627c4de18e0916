"""Work orders by stage and technician, with the hours clocked against the hours estimated."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..core import formatting
from ..models import TimeEntry, User, WorkItem
from ..models import WorkOrder as WO
from .base import (
    ORDER_STATES,
    Param,
    ReportResult,
    Table,
    filters_where,
    one_decimal,
    percent,
    read_frame,
    seconds_between,
    words,
)
from .charts import bar_chart

KIND = "work_orders"
TITLE = _l("Work orders by stage and technician")
DESCRIPTION = _l("Work orders created in the period by their current stage and assigned technician, with the "
                 "labour hours estimated on their work items and the hours clocked on them.")
DEFAULT_PERIOD = "last_30_days"
PARAMS = [
    Param("technician_id", _l("Technician"), "technician"),
    Param("kind", _l("Kind"), "choice", choices=("job", "inspection", "repair")),
    Param("service_location_id", _l("Service location"), "service_location"),
    Param("customer_id", _l("Customer"), "customer"),
]
STAGES = ORDER_STATES


def _orders(start, end, filters):
    stmt = select(WO.id).where(WO.created_at >= start, WO.created_at < end)
    return filters_where(stmt, {"technician_id": WO.technician_id, "kind": WO.kind,
                                "service_location_id": WO.service_location_id, "customer_id": WO.customer_id},
                         filters)


def run(session, start: dt.datetime, end: dt.datetime, *, zone, now: dt.datetime, **filters) -> ReportResult:
    stages = words(STAGES)
    unassigned = _("Unassigned")
    orders = _orders(start, end, filters).subquery()
    counts = read_frame(session, (
        select(WO.technician_id, WO.status, func.count(WO.id).label("orders"))
        .where(WO.id.in_(select(orders.c.id))).group_by(WO.technician_id, WO.status)
    ))
    estimated = read_frame(session, (
        select(WO.technician_id, func.sum(WorkItem.quantity).label("estimated"))
        .join(WorkItem, WorkItem.work_order_id == WO.id)
        .where(WO.id.in_(select(orders.c.id)), WorkItem.kind == "labour").group_by(WO.technician_id)
    ))
    clocked = read_frame(session, (
        select(WO.technician_id,
               func.sum(seconds_between(TimeEntry.started_at, func.coalesce(TimeEntry.ended_at, now)))
               .label("seconds"))
        .join(TimeEntry, TimeEntry.work_order_id == WO.id)
        .where(WO.id.in_(select(orders.c.id))).group_by(WO.technician_id)
    ))
    names = {uid: f"{first} {last}".strip() or username for uid, first, last, username in session.execute(
        select(User.id, User.first_name, User.last_name, User.username)
        .where(User.id.in_(select(WO.technician_id).where(WO.id.in_(select(orders.c.id)))))
    )}

    def who(uid) -> str:
        return unassigned if uid is None or pd.isna(uid) else names.get(int(uid), _("User %(id)s", id=int(uid)))

    for frame in (counts, estimated, clocked):
        frame["technician"] = frame["technician_id"].map(who) if len(frame) else pd.Series(dtype=str)
    stage_totals = counts.groupby("status")["orders"].sum() if len(counts) else pd.Series(dtype=int)
    by_stage = pd.DataFrame({"Stage": list(stages.values()),
                             "Work orders": [int(stage_totals.get(s, 0)) for s in STAGES]})

    pivot = (counts.pivot_table(index="technician", columns="status", values="orders", aggfunc="sum", fill_value=0)
             if len(counts) else pd.DataFrame())
    pivot = pivot.reindex(columns=list(STAGES), fill_value=0)
    hours_est = estimated.groupby("technician")["estimated"].sum().map(float) if len(estimated) else pd.Series()
    hours_clocked = clocked.groupby("technician")["seconds"].sum() / 3600 if len(clocked) else pd.Series()
    rows = []
    for technician in sorted(pivot.index, key=lambda t: (t == unassigned, t)):
        est, clk = float(hours_est.get(technician, 0.0)), float(hours_clocked.get(technician, 0.0))
        rows.append({"Technician": technician, "Work orders": int(pivot.loc[technician].sum()),
                     **{stages[s]: int(pivot.loc[technician, s]) for s in STAGES},
                     "Estimated (h)": one_decimal(est), "Clocked (h)": one_decimal(clk),
                     "Clocked of estimated": percent(clk, est), "_est": est, "_clk": clk})
    by_tech = pd.DataFrame(rows, columns=["Technician", "Work orders", *stages.values(), "Estimated (h)",
                                          "Clocked (h)", "Clocked of estimated", "_est", "_clk"])
    total_orders = int(by_stage["Work orders"].sum())
    total_est, total_clk = float(by_tech["_est"].sum()), float(by_tech["_clk"].sum())
    charts = [bar_chart(_("Work orders by stage"), list(by_stage["Stage"]),
                        {_("Work orders"): list(by_stage["Work orders"])})]
    if len(by_tech):
        charts.append(bar_chart(_("Hours estimated and clocked by technician"), list(by_tech["Technician"]),
                                {_("Estimated"): list(by_tech["_est"]), _("Clocked"): list(by_tech["_clk"])},
                                ylabel=_("hours")))
    open_orders = sum(int(stage_totals.get(s, 0)) for s in ("confirmed", "received", "in_progress", "ready"))
    summary = [(_("Work orders"), formatting.number(total_orders)), (_("Open"), formatting.number(open_orders)),
               (_("Completed"), formatting.number(int(stage_totals.get("completed", 0)))),
               (_("Hours estimated"), one_decimal(total_est)), (_("Hours clocked"), one_decimal(total_clk)),
               (_("Clocked of estimated"), percent(total_clk, total_est))]
    return ReportResult(
        title=str(TITLE),
        tables=[Table(_("By stage"), by_stage, slug="by-stage"),
                Table(_("By technician"), by_tech.drop(columns=["_est", "_clk"]), slug="by-technician")],
        charts=charts, row_count=total_orders, summary=summary,
    )
