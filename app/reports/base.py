"""What every report shares: its result, its parameters, and reading the database into pandas.

A report is a module with ``KIND``, ``TITLE``, ``DESCRIPTION``, ``PARAMS`` and
``run(session, start, end, **filters) -> ReportResult``. ``start`` and ``end`` are naive UTC datetimes
(start inclusive, end exclusive); the filters are the report's ``PARAMS`` (ids of a customer, a service
type…). Money is read as whole cents (``cents()``: integers on every database, so sums are exact) and
shown with two decimals by ``format_cents``; no float ever reaches a money cell.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, Float, cast, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from ..core import formatting

CHUNK_ROWS = 50_000


@dataclass
class Param:
    """A filter a report takes: ``kind`` is ``customer``, ``reseller``, ``service_type``,
    ``service_location``, ``technician`` (ids of those rows), ``int`` or ``choice``."""

    name: str
    label: str
    kind: str = "int"
    required: bool = False
    choices: tuple[str, ...] = ()
    default: object = None


@dataclass
class Table:
    """One table of a report. ``money``: columns holding cents; ``pdf_rows``: rows shown in the PDF
    (the CSV always has every row)."""

    title: str
    frame: pd.DataFrame
    money: tuple[str, ...] = ()
    pdf_rows: int = 60
    note: str = ""
    slug: str = ""

    def display_frame(self, limit: int | None = None) -> pd.DataFrame:
        frame = self.frame if limit is None else self.frame.head(limit)
        frame = frame.copy()
        for column in self.money:
            if column in frame:
                frame[column] = frame[column].map(format_cents)
        return frame


@dataclass
class Chart:
    title: str
    svg: str  # an SVG document, embedded in the PDF and the dashboard as an image


@dataclass
class ReportResult:
    title: str
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    row_count: int = 0
    summary: list[tuple[str, str]] = field(default_factory=list)  # key figures: (label, value)
    period: str = ""
    files: list[dict] = field(default_factory=list)  # reports that write their own files (CSV exports)


# --- money and numbers ---------------------------------------------------------------------------------

def cents(column) -> ColumnElement:
    """A money column as whole cents (BIGINT): exact sums on SQLite and PostgreSQL alike."""
    return cast(func.round(column * 100), BigInteger)


def to_decimal(value_cents) -> Decimal:
    if value_cents is None or (isinstance(value_cents, float) and pd.isna(value_cents)):
        return Decimal("0.00")
    return (Decimal(int(value_cents)) / 100).quantize(Decimal("0.01"))


def format_cents(value_cents) -> str:
    if value_cents is None or (not isinstance(value_cents, (int, Decimal)) and pd.isna(value_cents)):
        return ""
    return formatting.number(to_decimal(value_cents), 2)  # 1,234.50 / 1.234,50: the reader's; CSV keeps plain_cents


def plain_cents(value_cents) -> str:
    """For CSV: ``1234.50`` (no thousands separator)."""
    if value_cents is None or (not isinstance(value_cents, (int, Decimal)) and pd.isna(value_cents)):
        return ""
    return f"{to_decimal(value_cents):.2f}"


def percent(part, whole) -> str:
    """``12.5 %`` / ``12,5 %``: the reader's decimal mark."""
    return f"{formatting.number(100 * part / whole, 1)} %" if whole else "–"


def one_decimal(value) -> str:
    """``1,234.5`` / ``1.234,5``."""
    return "–" if value is None or pd.isna(value) else formatting.number(value, 1)


def hours(value) -> str:
    """A duration in hours for a key figure: ``15.0 h`` / ``15,0 Std.``."""
    return _("%(hours)s h", hours=formatting.number(value, 1))


def days(value) -> str:
    """A duration in days for a key figure: ``7.1 days`` / ``7,1 Tage``."""
    return _("%(days)s days", days=formatting.number(value, 1))


# --- durations in SQL ----------------------------------------------------------------------------------

class seconds_between(FunctionElement):
    """``end - start`` in seconds, as a float, on SQLite and PostgreSQL."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_default(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)}))"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"((julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)})) * 86400.0)"


# --- reading -------------------------------------------------------------------------------------------

def read_frame(session, stmt, *, parse_dates: tuple[str, ...] = ()) -> pd.DataFrame:
    """``pandas.read_sql`` in chunks on the session's connection (bounded memory on big ranges)."""
    chunks = list(pd.read_sql(stmt, session.connection(), chunksize=CHUNK_ROWS))
    if not chunks:
        columns = [c.name for c in stmt.selected_columns]
        return pd.DataFrame(columns=columns)
    frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    for column in parse_dates:
        frame[column] = pd.to_datetime(frame[column])
    return frame


def local_series(series: pd.Series, zone: ZoneInfo) -> pd.Series:
    """Naive-UTC timestamps as naive shop-local ones (for grouping by local day and week)."""
    series = pd.to_datetime(series)
    return series.dt.tz_localize("UTC").dt.tz_convert(zone).dt.tz_localize(None)


def week_of(series: pd.Series) -> pd.Series:
    """The Monday starting each timestamp's week, as a date."""
    return (series.dt.normalize() - pd.to_timedelta(series.dt.day_of_week, unit="D")).dt.date


AGE_LABELS = [_l("under 1 day"), _l("1–3 days"), _l("3–7 days"), _l("1–2 weeks"), _l("2–4 weeks"),
              _l("over 4 weeks")]


def age_labels() -> list[str]:
    """``AGE_LABELS`` in the reader's language."""
    return [str(label) for label in AGE_LABELS]


def age_bucket(values: pd.Series) -> pd.Series:
    bins = [-float("inf"), 1, 3, 7, 14, 30, float("inf")]
    return pd.cut(values, bins=bins, labels=age_labels(), right=False)


def as_of(end: dt.datetime, now: dt.datetime) -> dt.datetime:
    """Snapshots ("open", "overdue") are taken at the end of the range, or now if that is earlier."""
    return min(end, now)


def time_bucket(local: pd.Series, start: dt.datetime, end: dt.datetime) -> tuple[str, pd.Series]:
    """Weeks for ranges up to about half a year, months beyond: ``(column label, keys)``. The label is the
    column's key (``"Week of"`` or ``"Month"``); ``weekly(label)`` tells which, ``heading`` says it in words."""
    if (end - start).days <= 190:
        return "Week of", week_of(local).astype(str)
    return "Month", local.dt.strftime("%Y-%m")


def weekly(label: str) -> bool:
    return label == "Week of"


def words(mapping: dict) -> dict[str, str]:
    """A ``{value: lazy word}`` mapping in the reader's language (for ``Series.map``)."""
    return {key: str(word) for key, word in mapping.items()}


#: Customer kinds, work order states and kinds as the reports write them.
CUSTOMER_KINDS = {"individual": _l("Individual"), "business": _l("Business"), "reseller": _l("Reseller")}
ORDER_STATES = {"pending_confirmation": _l("Pending confirmation"), "confirmed": _l("Confirmed"),
                "received": _l("Received"), "in_progress": _l("In progress"), "ready": _l("Ready"),
                "completed": _l("Completed"), "cancelled": _l("Cancelled")}
ORDER_KINDS = {"job": _l("Job"), "inspection": _l("Inspection"), "repair": _l("Repair")}


def _by_msgid(*texts) -> dict:
    return {text._args[0]: text for text in texts}


#: The tables' column headings: the frames keep these English keys (what the code and the tests index), the
#: PDF and the CSV header show them in the reader's language (``heading``). Cells stay machine-readable.
HEADINGS = _by_msgid(
    _l("Invoice"), _l("Customer"), _l("Status"), _l("Due"), _l("Days overdue"), _l("Total"), _l("Paid"),
    _l("Balance"), _l("Overdue by"), _l("Invoices"), _l("Oldest (days)"), _l("Week of"), _l("Month"),
    _l("Invoiced"), _l("Payments"), _l("Collected"), _l("Kind"), _l("Bookings"), _l("Median (h)"),
    _l("Average (h)"), _l("90th percentile (h)"), _l("Service type"), _l("Submitted through"), _l("Work order"),
    _l("Created"), _l("Phone"), _l("Estimates"), _l("Approved"), _l("Declined"), _l("Disputed"),
    _l("Average revisions"), _l("Outcome"), _l("Share"), _l("Waiting"), _l("Number"), _l("Waiting (days)"),
    _l("Subject"), _l("Reseller"), _l("Orders"), _l("Open"), _l("Completed"), _l("Cancelled"),
    _l("Median turnaround (days)"), _l("Average turnaround (days)"), _l("Stage"), _l("Work orders"),
    _l("Technician"), _l("Estimated (h)"), _l("Clocked (h)"), _l("Clocked of estimated"),
)


def heading(column) -> str:
    """A column's heading in the reader's language (a key that is not a heading is shown as it is)."""
    text = HEADINGS.get(column) if isinstance(column, str) else None
    return str(text) if text is not None else str(column)


def filters_where(stmt, column_for: dict, filters: dict):
    """``WHERE column = value`` for every filter that is set (``column_for`` maps param name → column)."""
    for name, column in column_for.items():
        value = filters.get(name)
        if value not in (None, ""):
            stmt = stmt.where(column == value)
    return stmt


def frame_or_empty(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)
