"""Report periods: named ranges ("last_week") turned into UTC bounds in the shop's time zone.

A scheduled report names a period instead of fixed dates, so the Monday run of a weekly report covers
the week before it. Bounds are local midnights converted to naive UTC (start inclusive, end exclusive),
so a week across a daylight-saving change is still seven local days.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

PERIODS = {
    "yesterday": _l("Yesterday"),
    "last_7_days": _l("The last 7 days"),
    "last_week": _l("Last week (Monday to Sunday)"),
    "week_to_date": _l("This week so far"),
    "last_30_days": _l("The last 30 days"),
    "last_month": _l("Last month"),
    "month_to_date": _l("This month so far"),
    "last_quarter": _l("Last quarter"),
    "year_to_date": _l("This year so far"),
    "last_365_days": _l("The last 365 days"),
    "all_time": _l("All time"),
}
EPOCH = dt.date(2000, 1, 1)


def _utc(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)


def local_dates(period: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """First day and the day after the last day of ``period``, seen on ``today``."""
    tomorrow = today + dt.timedelta(days=1)
    monday = today - dt.timedelta(days=today.weekday())
    first_of_month = today.replace(day=1)
    if period == "yesterday":
        return today - dt.timedelta(days=1), today
    if period == "last_7_days":
        return today - dt.timedelta(days=7), today
    if period == "last_week":
        return monday - dt.timedelta(days=7), monday
    if period == "week_to_date":
        return monday, tomorrow
    if period == "last_30_days":
        return today - dt.timedelta(days=30), today
    if period == "last_month":
        return (first_of_month - dt.timedelta(days=1)).replace(day=1), first_of_month
    if period == "month_to_date":
        return first_of_month, tomorrow
    if period == "last_quarter":
        quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        previous = (quarter_start - dt.timedelta(days=1)).replace(day=1)
        return dt.date(previous.year, 3 * ((previous.month - 1) // 3) + 1, 1), quarter_start
    if period == "year_to_date":
        return today.replace(month=1, day=1), tomorrow
    if period == "last_365_days":
        return today - dt.timedelta(days=365), today
    if period == "all_time":
        return EPOCH, tomorrow
    raise ValueError(f"Unknown period {period!r}")


def period_bounds(period: str, zone: ZoneInfo, now_utc: dt.datetime) -> tuple[dt.datetime, dt.datetime, str]:
    """``(start, end, label)``: naive-UTC bounds and a readable label such as ``2026-11-16 – 2026-11-22``."""
    today = now_utc.replace(tzinfo=dt.UTC).astimezone(zone).date()
    first, after = local_dates(period, today)
    return _utc(first, zone), _utc(after, zone), date_label(first, after)


def date_bounds(first: dt.date, last: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime, str]:
    """An explicit range of local dates, both included."""
    after = last + dt.timedelta(days=1)
    return _utc(first, zone), _utc(after, zone), date_label(first, after)


def date_label(first: dt.date, after: dt.date) -> str:
    last = after - dt.timedelta(days=1)
    if first == EPOCH:
        return _("up to %(day)s", day=f"{last:%Y-%m-%d}")
    return f"{first:%Y-%m-%d}" if first == last else f"{first:%Y-%m-%d} – {last:%Y-%m-%d}"
