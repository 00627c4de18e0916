"""Work orders by stage and technician, with the hours clocked against the hours estimated."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import func, select

from ..models import TimeEntry, User, WorkItem
from ..models import WorkOrder as WO
from .base import Param, ReportResult, Table, filters_where, one_decimal, percent, read_frame, seconds_between
from .charts import bar_chart

KIND = "work_orders"
TITLE = "Work orders by stage and technician"
DESCRIPTION = ("Work orders created in the period by their current stage and assigned technician, with the "
               "labour hours estimated on their work items and the hours clocked on them.")
DEFAULT_PERIOD = "last_30_days"
PARAMS = [
    Param("technician_id", "Technician", "technician"),
    Param("kind", "Kind", "choice", choices=("job", "inspection", "repair")),
    Param("service_location_id", "Service location", "service_location"),
    Param("customer_id", "Customer", "customer"),
]
STAGES = {"pending_confirmation": "Pending confirmation", "confirmed": "Confirmed", "received": "Received",
          "in_progress": "In progress", "ready": "Ready", "completed": "Completed", "cancelled": "Cancelled"}


def _orders(start, end, filters):
    stmt = select(WO.id).where(WO.created_at >= start, WO.created_at < end)
    return filters_where(stmt, {"technician_id": WO.technician_id, "kind": WO.kind,
                                "service_location_id": WO.service_location_id, "customer_id": WO.customer_id},
                         filters)


def run(session, start: dt.datetime, end: dt.datetime, *, zone, now: dt.datetime, **filters) -> ReportResult:
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
        return "Unassigned" if uid is None or pd.isna(uid) else names.get(int(uid), f"User {int(uid)}")

    for frame in (counts, estimated, clocked):
        frame["technician"] = frame["technician_id"].map(who) if len(frame) else pd.Series(dtype=str)
    stage_totals = counts.groupby("status")["orders"].sum() if len(counts) else pd.Series(dtype=int)
    by_stage = pd.DataFrame({"Stage": list(STAGES.values()),
                             "Work orders": [int(stage_totals.get(s, 0)) for s in STAGES]})

    pivot = (counts.pivot_table(index="technician", columns="status", values="orders", aggfunc="sum", fill_value=0)
             if len(counts) else pd.DataFrame())
    pivot = pivot.reindex(columns=list(STAGES), fill_value=0)
    hours_est = estimated.groupby("technician")["estimated"].sum().map(float) if len(estimated) else pd.Series()
    hours_clocked = clocked.groupby("technician")["seconds"].sum() / 3600 if len(clocked) else pd.Series()
    rows = []
    for technician in sorted(pivot.index, key=lambda t: (t == "Unassigned", t)):
        est, clk = float(hours_est.get(technician, 0.0)), float(hours_clocked.get(technician, 0.0))
        rows.append({"Technician": technician, "Work orders": int(pivot.loc[technician].sum()),
                     **{STAGES[s]: int(pivot.loc[technician, s]) for s in STAGES},
                     "Estimated (h)": one_decimal(est), "Clocked (h)": one_decimal(clk),
                     "Clocked of estimated": percent(clk, est), "_est": est, "_clk": clk})
    by_tech = pd.DataFrame(rows, columns=["Technician", "Work orders", *STAGES.values(), "Estimated (h)",
                                          "Clocked (h)", "Clocked of estimated", "_est", "_clk"])
    total_orders = int(by_stage["Work orders"].sum())
    total_est, total_clk = float(by_tech["_est"].sum()), float(by_tech["_clk"].sum())
    charts = [bar_chart("Work orders by stage", list(by_stage["Stage"]),
                        {"Work orders": list(by_stage["Work orders"])})]
    if len(by_tech):
        charts.append(bar_chart("Hours estimated and clocked by technician", list(by_tech["Technician"]),
                                {"Estimated": list(by_tech["_est"]), "Clocked": list(by_tech["_clk"])},
                                ylabel="hours"))
    open_orders = sum(int(stage_totals.get(s, 0)) for s in ("confirmed", "received", "in_progress", "ready"))
    summary = [("Work orders", str(total_orders)), ("Open", str(open_orders)),
               ("Completed", str(int(stage_totals.get("completed", 0)))),
               ("Hours estimated", one_decimal(total_est)), ("Hours clocked", one_decimal(total_clk)),
               ("Clocked of estimated", percent(total_clk, total_est))]
    return ReportResult(
        title=TITLE,
        tables=[Table("By stage", by_stage, slug="by-stage"),
                Table("By technician", by_tech.drop(columns=["_est", "_clk"]), slug="by-technician")],
        charts=charts, row_count=total_orders, summary=summary,
    )
