"""The manager dashboard's figures: this week so far against last week, day by day, from the database.

Each figure is one small query over the two weeks (indexed time columns), bucketed by local day in
Python: no pandas, no charts library, so the page stays fast at 100,000 orders. "vs" compares this week so
far with last week up to the same moment; the day-by-day bars show last week in full.
"""
from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..core import formatting
from ..models import Estimate, Invoice, Payment, ServiceRequest, TimeEntry, WorkOrder
from .base import cents, seconds_between, to_decimal

#: Monday to Sunday; ``day_name`` says them in the reader's language ("Mon" / "Mo.").
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
INVOICED = ("awaiting_authorization", "open", "paid")


@dataclass
class Figure:
    key: str
    label: str
    this_days: list[float] = field(default_factory=lambda: [0.0] * 7)
    last_days: list[float] = field(default_factory=lambda: [0.0] * 7)
    this_total: float = 0
    last_same_time: float = 0  # last week up to the same weekday and time
    kind: str = "count"  # count / money (cents) / hours
    note: str = ""

    def show(self, value) -> str:
        """The value in the reader's language: ``1.234,50 €`` / ``€1,234.50``, ``12,5 Std.`` / ``12.5 h``, ``1.234``."""
        if self.kind == "money":
            return formatting.money(to_decimal(int(value)))
        if self.kind == "hours":
            return _("%(hours)s h", hours=formatting.number(value, 1))
        return formatting.number(int(value))

    @property
    def this_text(self) -> str:
        return self.show(self.this_total)

    @property
    def last_text(self) -> str:
        return self.show(self.last_same_time)

    @property
    def change(self) -> str:
        if not self.last_same_time:
            return _("new") if self.this_total else "–"
        delta = 100 * (self.this_total - self.last_same_time) / self.last_same_time
        return ("+" if delta >= 0 else "-") + formatting.percent(abs(round(delta)))

    @property
    def trend(self) -> str:
        if self.this_total == self.last_same_time:
            return ""
        return "up" if self.this_total > self.last_same_time else "down"


@dataclass
class Dashboard:
    figures: list[Figure]
    snapshot: list[tuple[str, str]]
    week_label: str
    last_week_label: str
    today_index: int


def day_name(index: int) -> str:
    """The weekday ``index`` (0 = Monday) abbreviated in the reader's language."""
    return formatting.weekday(index, "abbreviated")


def _span(first: dt.date, last: dt.date, skeleton: str) -> str:
    """Two days as the reader writes a range: "7–13 Dec 2026" / "7.–13. Dez. 2026"."""
    return babel_dates.format_interval(first, last, skeleton, locale=formatting.locale_name())


def _utc(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)


class _Weeks:
    def __init__(self, zone: ZoneInfo, now: dt.datetime):
        self.zone, self.now = zone, now
        today = now.replace(tzinfo=dt.UTC).astimezone(zone).date()
        self.monday = today - dt.timedelta(days=today.weekday())
        self.last_monday = self.monday - dt.timedelta(days=7)
        self.start = _utc(self.last_monday, zone)
        self.this_start = _utc(self.monday, zone)
        self.same_time_last_week = _utc(today - dt.timedelta(days=7), zone) + (now - _utc(today, zone))
        self.today_index = today.weekday()

    def place(self, moment: dt.datetime) -> tuple[bool, int] | None:
        """(this week?, weekday) of a naive-UTC moment in the two weeks, or None outside them."""
        day = moment.replace(tzinfo=dt.UTC).astimezone(self.zone).date()
        offset = (day - self.last_monday).days
        if not 0 <= offset < 14:
            return None
        return offset >= 7, offset % 7


def _add(figure: Figure, weeks: _Weeks, moment: dt.datetime, value: float = 1) -> None:
    placed = weeks.place(moment)
    if placed is None:
        return
    this_week, weekday = placed
    if this_week:
        figure.this_days[weekday] += value
        figure.this_total += value
    else:
        figure.last_days[weekday] += value
        if moment <= weeks.same_time_last_week:
            figure.last_same_time += value


def _fill(session, figure: Figure, weeks: _Weeks, stmt) -> list:
    rows = session.execute(stmt).all()
    for row in rows:
        _add(figure, weeks, row[0], float(row[1]) if len(row) > 1 and row[1] is not None else 1)
    return rows


def build(session, zone: ZoneInfo, now: dt.datetime) -> Dashboard:
    weeks = _Weeks(zone, now)
    start, end = weeks.start, now

    def between(column):
        return (column >= start) & (column < end)

    requests = Figure("requests", _l("New service requests"))
    _fill(session, requests, weeks, select(ServiceRequest.created_at).where(between(ServiceRequest.created_at)))

    bookings = Figure("bookings", _l("Bookings confirmed"))
    rows = _fill(session, bookings, weeks, select(ServiceRequest.confirmed_at, 1, ServiceRequest.created_at)
                 .where(between(ServiceRequest.confirmed_at)))
    leads = [(c - s).total_seconds() / 3600 for c, _one, s in rows if c >= weeks.this_start]
    if leads:
        bookings.note = _("median lead time %(hours)s h", hours=formatting.number(statistics.median(leads), 1))

    approved = Figure("approved", _l("Estimates approved"))
    decided = session.execute(select(Estimate.decided_at, Estimate.status).where(
        between(Estimate.decided_at), Estimate.status.in_(("approved", "declined")))).all()
    for moment, status in decided:
        if status == "approved":
            _add(approved, weeks, moment)
    this_decided = [s for m, s in decided if m >= weeks.this_start]
    if this_decided:
        approved.note = _("%(share)s of decisions", share=formatting.percent(
            round(100 * this_decided.count("approved") / len(this_decided))))

    created = Figure("orders", _l("Work orders created"))
    _fill(session, created, weeks, select(WorkOrder.created_at).where(between(WorkOrder.created_at)))
    completed = Figure("completed", _l("Work orders completed"))
    _fill(session, completed, weeks, select(WorkOrder.completed_at).where(between(WorkOrder.completed_at)))

    hours = Figure("hours", _l("Hours clocked"), kind="hours")
    _fill(session, hours, weeks, select(TimeEntry.started_at,
                                        seconds_between(TimeEntry.started_at, func.coalesce(TimeEntry.ended_at, now))
                                        / 3600).where(between(TimeEntry.started_at)))

    invoiced = Figure("invoiced", _l("Invoiced"), kind="money")
    _fill(session, invoiced, weeks, select(Invoice.issued_at, cents(Invoice.total))
          .where(between(Invoice.issued_at), Invoice.status.in_(INVOICED)))
    collected = Figure("collected", _l("Collected"), kind="money")
    _fill(session, collected, weeks, select(Payment.received_at, cents(Payment.amount))
          .where(between(Payment.received_at)))

    today = now.replace(tzinfo=dt.UTC).astimezone(zone).date()
    open_requests = session.scalar(select(func.count(ServiceRequest.id)).where(
        ServiceRequest.status.in_(("new", "time_proposed"))))
    overdue_count, overdue_cents = session.execute(
        select(func.count(Invoice.id), func.coalesce(func.sum(cents(Invoice.total) - cents(Invoice.amount_paid)), 0))
        .where(Invoice.status.in_(("open", "awaiting_authorization")), Invoice.due_date < today,
               Invoice.total > Invoice.amount_paid)).one()
    in_workshop = session.scalar(select(func.count(WorkOrder.id)).where(
        WorkOrder.status.in_(("received", "in_progress", "ready"))))
    snapshot = [(_l("Requests waiting for a booking"), formatting.number(open_requests or 0)),
                (_l("Work orders in the workshop"), formatting.number(in_workshop or 0)),
                (_l("Invoices overdue"), formatting.number(overdue_count or 0)),
                (_l("Balance overdue"), formatting.money(to_decimal(int(overdue_cents or 0))))]
    sunday = weeks.monday + dt.timedelta(days=6)
    return Dashboard(
        figures=[requests, bookings, approved, created, completed, hours, invoiced, collected],
        snapshot=snapshot,
        week_label=_span(weeks.monday, sunday, "yMMMd"),
        last_week_label=_span(weeks.last_monday, weeks.last_monday + dt.timedelta(days=6), "MMMd"),
        today_index=weeks.today_index,
    )
