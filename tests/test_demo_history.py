"""The demo history looks lived-in (issue 17, item 4): spread over the last three months through the services'
clock, in time order, with bookings still to come in the future and real figures in the default report periods
and on the manager dashboard; the document numbers and amounts stay those the other tests know."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.core import clock
from app.core.settings import shop_zone, to_local
from app.models import (
    AuditEvent,
    Estimate,
    Invoice,
    Notification,
    OrderMessage,
    OutboxEmail,
    Payment,
    ServiceRequest,
    Shipment,
    TimeEntry,
    TimeProposal,
    WorkOrder,
    utcnow,
)
from app.reports import CATALOGUE, dashboard
from app.reports.periods import period_bounds
from seed import load


@pytest.fixture()
def demo(db):
    before = utcnow()
    load(demo=True)
    return before, utcnow()


def _all(db, model):
    return db.session.scalars(select(model).order_by(model.id)).all()


def test_spread_over_three_months_and_nothing_in_the_future_but_what_is_to_come(db, demo):
    _before, now = demo
    requests = _all(db, ServiceRequest)
    weeks = {to_local(r.created_at).isocalendar()[:2] for r in requests}
    assert len(weeks) >= 8, f"requests created in only {len(weeks)} distinct weeks"
    oldest = min(r.created_at for r in requests)
    assert dt.timedelta(days=70) < now - oldest < dt.timedelta(days=100)

    stamps = [(m.__name__, row.id, getattr(row, column)) for m, columns in (
        (ServiceRequest, ("created_at", "confirmed_at")), (Estimate, ("created_at", "sent_at", "decided_at")),
        (WorkOrder, ("created_at", "received_at", "ready_at", "completed_at")), (Invoice, ("issued_at",)),
        (Payment, ("received_at",)), (TimeEntry, ("started_at", "ended_at")), (OrderMessage, ("created_at",)),
        (Notification, ("created_at", "read_at")), (OutboxEmail, ("created_at",)), (AuditEvent, ("created_at",)),
        (Shipment, ("created_at", "confirmed_at", "received_at")),
    ) for row in _all(db, m) for column in columns if getattr(row, column) is not None]
    assert stamps and not [s for s in stamps if s[2] > now], "only bookings may lie in the future"

    # What is still to come lies ahead: the booked ATP inspection and e-bike service, the winter tyres, and
    # the time the shop proposed to Jane.
    booked = [r for r in requests if r.status == "accepted" and r.scheduled_start and r.scheduled_start > now]
    assert {r.subject for r in booked} >= {"ARC-02: annual ATP inspection", "E-bike annual service"}
    tyres = db.session.scalar(select(WorkOrder).where(WorkOrder.customer_reference == "Winter tyres"))
    assert tyres.status == "confirmed" and tyres.scheduled_start > now
    proposed = db.session.scalar(select(ServiceRequest).where(ServiceRequest.status == "time_proposed"))
    assert [p.start > now for p in proposed.proposals if p.outcome == "open"] == [True]
    assert db.session.scalar(select(TimeProposal).where(TimeProposal.outcome == "open",
                                                        TimeProposal.start < now)) is None

    # Work was done on working days within working hours (the work of the last hours, going on now, aside).
    for entry in _all(db, TimeEntry):
        start = to_local(entry.started_at)
        if entry.ended_at is None or now - entry.started_at < dt.timedelta(hours=3):
            continue
        end = to_local(entry.ended_at)
        assert start.weekday() < 5 and dt.time(8) <= start.time() and end.time() <= dt.time(17), entry
    assert len([e for e in _all(db, TimeEntry) if e.ended_at is None]) == 2


def test_numbers_amounts_and_each_history_in_time_order(db, demo):
    # Numbers follow time: sorted by number is sorted by creation, for every numbered document.
    for model in (ServiceRequest, WorkOrder, Invoice, Shipment):
        rows = _all(db, model)
        assert [r.number for r in sorted(rows, key=lambda r: (r.created_at, r.id))] == sorted(r.number for r in rows)
    first_revisions = [e for e in _all(db, Estimate) if e.revision == 1]
    assert [e.number for e in sorted(first_revisions, key=lambda e: (e.created_at, e.id))] == sorted(
        e.number for e in first_revisions)
    # ...and stay the ones the other tests and the docs know.
    fixit_invoice = db.session.scalar(select(Invoice).where(Invoice.number == "INV-000004"))
    assert fixit_invoice.total == Decimal("141.31") and fixit_invoice.work_order.number == "WO-000007"
    assert db.session.scalar(select(Invoice).where(Invoice.status == "paid")).total == Decimal("446.67")

    # The whole history was played in time order: audit events, messages, notifications and e-mails.
    for model in (AuditEvent, OrderMessage, Notification, OutboxEmail):
        times = [row.created_at for row in _all(db, model)]
        assert times == sorted(times), f"{model.__name__} out of time order"
    # Each work order's own milestones in order; an invoice is issued after the work and falls due after it.
    for order in _all(db, WorkOrder):
        milestones = [t for t in (order.created_at, order.received_at, order.ready_at, order.completed_at) if t]
        assert milestones == sorted(milestones), order.number
    for invoice in _all(db, Invoice):
        if invoice.issued_at is None or invoice.status == "draft":
            continue
        assert invoice.issued_at >= invoice.work_order.ready_at
        assert invoice.due_date > to_local(invoice.issued_at).date(), invoice.number
        assert all(p.received_at >= invoice.issued_at for p in invoice.payments)
    for entry in _all(db, TimeEntry):
        assert entry.ended_at is None or entry.started_at < entry.ended_at
    # The portal customers read their older notifications; the latest are still unread.
    seen = [n for n in _all(db, Notification) if n.audience == "customer"]
    assert all(n.read_at >= n.created_at for n in seen if n.read_at)
    assert any(n.read_at for n in seen) and seen[-1].read_at is None


def test_default_report_periods_and_the_dashboard_show_figures(db, demo):
    _before, now = demo
    zone = shop_zone()
    for kind in ("work_orders", "estimate_outcomes", "booking_lead_time"):
        module = CATALOGUE[kind]
        assert module.DEFAULT_PERIOD == "last_30_days"
        start, end, _label = period_bounds(module.DEFAULT_PERIOD, zone, now)
        result = module.run(db.session, start, end, zone=zone, now=now)
        assert result.row_count > 0, f"{kind}: nothing in {module.DEFAULT_PERIOD}"
    board = dashboard.build(db.session, zone, now)
    assert len([f for f in board.figures if sum(f.last_days)]) >= 4, "last week shows next to nothing"
    if board.today_index or to_local(now).hour >= 3:  # this week: at least the work going on today
        assert sum(f.this_total for f in board.figures) > 0
    # The clock is the real one again outside the seed.
    assert abs(clock.utcnow() - utcnow()) < dt.timedelta(seconds=5)
