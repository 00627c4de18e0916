"""The benchmark harness: the generator writes a consistent shop; the runner's report says what it measured."""
from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select

from app.models import (
    Address,
    Customer,
    DocumentSequence,
    Estimate,
    Invoice,
    Payment,
    ServiceRequest,
    Shipment,
    Unit,
    WorkItem,
    WorkOrder,
)
from bench.generate import generate, is_empty, wipe
from bench.run import Page, Result, table, verdict

NOW = dt.datetime(2026, 11, 23)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_generate_writes_a_consistent_shop(db):
    session = db.session
    counts = generate(session, orders=200, seed=7, now=NOW)

    assert count(session, WorkOrder) == counts["work_order"] == 200
    assert count(session, Customer) == 20
    assert counts["service_request"] > 50 and counts["estimate"] > 30 and counts["invoice"] > 100

    statuses = Counter(session.scalars(select(WorkOrder.status)))
    assert statuses["completed"] > 100 and statuses["cancelled"] > 0
    assert set(statuses) - {"completed", "cancelled"}, "the last weeks hold open orders"
    assert Counter(session.scalars(select(Customer.kind))).keys() <= {"individual", "business", "reseller"}

    for customer in session.scalars(select(Customer)):
        assert 1 <= len(customer.addresses) <= 3 and 1 <= len(customer.units) <= 3
        assert customer.default_service_address_id in {a.id for a in customer.addresses}
    assert count(session, Address) >= 20 and count(session, Unit) >= 20
    assert all(u.vin and len(u.vin) == 17 for u in session.scalars(select(Unit).where(Unit.kind == "vehicle")))

    # Every completed order is invoiced; invoices only for ready or completed orders; payments add up.
    invoiced = dict(session.execute(select(Invoice.work_order_id, WorkOrder.status).join(WorkOrder)).all())
    assert set(invoiced.values()) <= {"ready", "completed"}
    assert statuses["completed"] == sum(1 for s in invoiced.values() if s == "completed")
    for invoice in session.scalars(select(Invoice)):
        assert sum((p.amount for p in invoice.payments), start=0) == invoice.amount_paid
        assert invoice.total == invoice.subtotal + invoice.tax
        if invoice.status == "paid":
            assert invoice.amount_paid == invoice.total
    assert count(session, Payment) > 0 and count(session, WorkItem) >= 200
    assert {o.estimate.status for o in session.scalars(select(WorkOrder).where(WorkOrder.estimate_id.is_not(None)))} \
        == {"approved"}

    # The counters stand at the highest number used, so the app's next document follows on.
    counters = {s.name: s.value for s in session.scalars(select(DocumentSequence))}
    for prefix, model in (("REQ", ServiceRequest), ("EST", Estimate), ("WO", WorkOrder), ("INV", Invoice),
                          ("SHP", Shipment)):
        numbers = list(session.scalars(select(model.number)))
        assert counters[prefix] == max((int(n.split("-")[1]) for n in numbers), default=0)
        assert counters[prefix] == len(set(numbers))

    connection = session.connection()
    assert not is_empty(connection)
    wipe(connection)
    assert is_empty(connection)


def test_report_flags_slow_pages_and_growing_query_counts():
    bare, page = Page("/bare/list/", "BareWorkOrderView"), Page("/workorders/list/", "WorkOrderView")
    results = [
        Result(bare, "sqlite", 25, [0.020] * 5, [0.01] * 5, [20] * 5),
        Result(bare, "sqlite", 100, [0.030] * 5, [0.01] * 5, [20] * 5),
        Result(page, "sqlite", 25, [0.019] * 5, [0.01] * 5, [22] * 5),
        Result(page, "sqlite", 100, [0.060] * 5, [0.02] * 5, [97] * 5, repeats={"customer": 75}),
    ]
    notes = verdict(results)
    assert any("psize 100: 2.00×" in n for n in notes)
    assert any("22 queries at psize 25, 97 at psize 100 (per-row reads: customer ×75)" in n for n in notes)
    assert not any("psize 25:" in n for n in notes)
    markdown = table(results, markdown=True)
    assert "| /workorders/list/ | sqlite | 100 | 60.0 | 60.0 | 20.0 | 97 | 2.00 ! |" in markdown
    assert page.at(100) == "/workorders/list/?psize_WorkOrderView=100"
    assert Page("/api/v1/work_order/", "WorkOrderApi", api=True).at(100) == "/api/v1/work_order/?q=(page_size:100)"


def test_a_rest_list_is_compared_with_the_bare_rest_list():
    bare_page, bare_api = Page("/bare/list/", "BareWorkOrderView"), Page("/api/v1/bare/", "BareWorkOrderApi", api=True)
    api = Page("/api/v1/work_order/", "WorkOrderApi", api=True)
    results = [
        Result(bare_page, "sqlite", 25, [0.050] * 5, [0.01] * 5, [10] * 5),
        Result(bare_api, "sqlite", 25, [0.010] * 5, [0.01] * 5, [10] * 5),
        Result(api, "sqlite", 25, [0.015] * 5, [0.01] * 5, [12] * 5),
    ]
    assert any("/api/v1/work_order/ on sqlite at psize 25: 1.50×" in n for n in verdict(results))
    assert "| /api/v1/bare/ (bare FAB REST) | sqlite | 25 |" in table(results, markdown=True)
