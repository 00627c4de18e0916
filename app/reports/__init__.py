"""The managers' report catalogue: one module per report, all with the same interface.

Each module has ``KIND``, ``TITLE``, ``DESCRIPTION``, ``DEFAULT_PERIOD``, ``PARAMS`` (its filters) and
``run(session, start, end, *, zone, now, **filters) -> ReportResult`` (see ``base``). ``CATALOGUE`` maps
``kind`` to the module; ``app.services.reports`` runs a ``ReportDefinition`` through it, renders the PDF
and CSV files (``render``) and e-mails them; the scheduler process triggers it (``app.scheduler``).
"""
from __future__ import annotations

from types import ModuleType

from . import (
    booking_lead_time,
    data_quality,
    estimate_outcomes,
    open_requests,
    overdue_invoices,
    reseller_orders_csv,
    reseller_volume,
    revenue,
    workshop,
)
from .base import Chart, Param, ReportResult, Table
from .periods import PERIODS

CATALOGUE: dict[str, ModuleType] = {
    module.KIND: module
    for module in (open_requests, booking_lead_time, estimate_outcomes, workshop, revenue, overdue_invoices,
                   reseller_volume, data_quality, reseller_orders_csv)
}

__all__ = ["CATALOGUE", "PERIODS", "Chart", "Param", "ReportResult", "Table", "choices", "formats_for", "get"]


def get(kind: str) -> ModuleType | None:
    return CATALOGUE.get(kind)


def choices() -> list[tuple[str, str]]:
    return [(kind, module.TITLE) for kind, module in CATALOGUE.items()]


def formats_for(kind: str) -> tuple[str, ...]:
    module = CATALOGUE.get(kind)
    return getattr(module, "FORMATS", ("pdf", "csv", "both")) if module else ()
