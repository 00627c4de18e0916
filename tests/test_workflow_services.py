"""The service layer end to end: the whole cycle of SPEC §3 with real rows, audit and notifications."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import func, select

from app.core.errors import InvalidTransition, NotFound, PermissionDenied, StaleObject, ValidationFailed
from app.models import AuditEvent, Notification, OutboxEmail, TimeEntry, WorkOrder, dispute_log
from app.services import estimates, invoices, requests, shipments, work_orders
from tests.factories import (
    CustomerFactory,
    ServiceLocationFactory,
    ServiceTypeFactory,
    ShippingMethodFactory,
    UnitFactory,
    actor,
    make_user,
)

LINES = [
    {"description": "Replace compressor", "hours": "2.50", "rate": "80.00",
     "parts": [{"part_number": "C-1", "description": "Compressor", "quantity": "1", "unit_price": "300.00"}]},
    {"description": "Leak test", "hours": "0.50", "rate": "80.00", "parts": []},
]


@pytest.fixture()
def shop(db):
    fleet = CustomerFactory(name="Arctic", kind="business", requires_invoice_authorization=True)
    staff = make_user("Advisor")
    tech = make_user("Technician")
    jane = make_user("Customer", customer=fleet)
    other = make_user("Customer")
    service_type = ServiceTypeFactory()
    unit = UnitFactory(customer=fleet)
    db.session.commit()
    return dict(customer=fleet, staff=actor(staff), tech=actor(tech), jane=actor(jane), other=actor(other),
                service_type=service_type, unit=unit)


def _request(shop, **extra):
    fields = dict(service_type_id=shop["service_type"].id, subject="Fridge too warm",
                  preferred_date=dt.date.today() + dt.timedelta(days=3), preferred_slot="morning",
                  unit_id=shop["unit"].id)
    fields.update(extra)
    return requests.submit(shop["jane"], **fields)


def test_whole_cycle(shop, db):
    req = _request(shop)
    assert req.number == "REQ-000001" and req.status == "new" and req.customer_id == shop["customer"].id

    est = requests.perform(req, "confirm", shop["staff"], estimate=True)
    assert req.status == "accepted" and req.scheduled_start is not None
    assert est.status == "draft" and est.number == "EST-000001"
    estimates.perform(est, "edit", shop["staff"], labour_lines=LINES)
    assert est.subtotal == Decimal("540.00")  # 2.5*80 + 300 + 0.5*80
    assert est.tax == Decimal("102.60") and est.total == Decimal("642.60")

    estimates.perform(est, "submit", shop["staff"])
    labour = est.labour_lines[0]
    part = labour.parts[0]
    estimates.perform(est, "dispute", shop["jane"], note="Too dear",
                      lines=[{"kind": "part", "id": part.id, "note": "Compressor price?"}])
    assert est.status == "disputed" and part.disputed
    estimates.perform(est, "acknowledge", shop["staff"])
    assert est.status == "disputed" and est.acknowledged_at is not None
    r2 = estimates.perform(est, "revise", shop["staff"])
    assert est.status == "superseded" and r2.display_number == "EST-000001-R2" and r2.status == "draft"
    assert [line.description for line in r2.labour_lines] == ["Replace compressor", "Leak test"]
    cheaper = [dict(LINES[0], parts=[dict(LINES[0]["parts"][0], unit_price="250.00")]), LINES[1]]
    estimates.perform(r2, "edit", shop["staff"], labour_lines=cheaper)
    estimates.perform(r2, "submit", shop["staff"])
    assert len(dispute_log(r2)) == 2  # the log spans revisions

    order = estimates.perform(r2, "approve", shop["jane"])
    assert r2.status == "approved" and req.status == "resolved"
    assert order.status == "confirmed" and order.number == "WO-000001"
    assert [(i.kind, i.description) for i in order.items] == [
        ("labour", "Replace compressor"), ("part", "Compressor"), ("labour", "Leak test")]

    work_orders.perform(order, "receive", shop["staff"])
    work_orders.perform(order, "clock_on", shop["tech"])
    assert order.status == "in_progress" and order.technician_id == shop["tech"].user_id
    work_orders.perform(order, "clock_off", shop["tech"])
    work_orders.perform(order, "clock_on", shop["tech"])
    work_orders.perform(order, "ready", shop["tech"])
    assert order.status == "ready"
    assert db.session.scalar(select(func.count()).select_from(TimeEntry).where(TimeEntry.ended_at.is_(None))) == 0
    work_orders.perform(order, "complete", shop["staff"])

    invoice = work_orders.perform(order, "invoice", shop["staff"])
    assert invoice.status == "draft" and invoice.number == "INV-000001"
    assert invoice.total > 0
    invoices.perform(invoice, "submit", shop["staff"])
    assert invoice.status == "awaiting_authorization"  # this customer requires authorization
    invoices.perform(invoice, "authorize", shop["jane"])
    assert invoice.status == "open"
    half = (invoice.total / 2).quantize(Decimal("0.01"))
    invoices.perform(invoice, "payments", shop["staff"], amount=str(half), method="transfer", reference="T1")
    assert invoice.status == "open" and invoice.balance == invoice.total - half
    invoices.perform(invoice, "payments", shop["staff"], amount=str(invoice.balance), method="card")
    assert invoice.status == "paid"

    # every transition was audited with who, from and to
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) >= 20
    approve = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "approve"))
    assert (approve.actor_label, approve.from_status, approve.to_status) == (shop["jane"].label, "sent", "approved")
    # both sides were told
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.audience == "customer")) >= 8
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) >= 8
    confirmed_mail = db.session.scalar(select(OutboxEmail).where(OutboxEmail.event == "request.confirmed"))
    assert confirmed_mail.attachments[0]["filename"] == "REQ-000001.ics"


def test_invoice_without_authorization_goes_open(shop, db):
    shop["customer"].requires_invoice_authorization = False
    db.session.commit()
    order = work_orders.create(shop["staff"], customer_id=shop["customer"].id, kind="repair", fault="Broken")
    work_orders.perform(order, "receive", shop["staff"])
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False):
        work_orders.perform(order, "clock_on", shop["tech"])
    with time_machine.travel(start + dt.timedelta(minutes=90), tick=False):
        work_orders.perform(order, "ready", shop["tech"])
    invoice = work_orders.perform(order, "invoice", shop["staff"])
    # no approved lines: labour is the clocked time at the shop's labour rate
    assert [(line.quantity, line.unit_price) for line in invoice.lines] == [(Decimal("1.50"), Decimal("95.00"))]
    invoices.perform(invoice, "submit", shop["staff"])
    assert invoice.status == "open" and invoice.total == Decimal("169.58")
    with pytest.raises(InvalidTransition):
        invoices.perform(invoice, "authorize", shop["jane"])


def test_refusals_name_the_state_and_change_nothing(shop, db):
    req = _request(shop)
    with pytest.raises(InvalidTransition) as refused:
        requests.perform(req, "accept_time", shop["jane"])
    assert refused.value.current_status == "new"
    with pytest.raises(PermissionDenied):
        requests.perform(req, "confirm", shop["jane"])
    with pytest.raises(ValidationFailed) as missing:
        requests.perform(req, "decline", shop["staff"], reason="  ")
    assert "reason" in missing.value.errors
    db.session.refresh(req)
    assert req.status == "new"


def test_another_customer_gets_not_found(shop):
    req = _request(shop)
    with pytest.raises(NotFound):
        requests.perform(req, "cancel", shop["other"])


def test_stale_form_is_refused(shop):
    req = _request(shop)
    version = req.version
    requests.perform(req, "propose", shop["staff"], start=dt.datetime.now() + dt.timedelta(days=4))
    with pytest.raises(StaleObject):
        requests.perform(req, "decline", shop["staff"], reason="no", expected_version=version)


def test_estimate_without_labour_cannot_be_submitted(shop):
    est = estimates.create(shop["staff"], customer_id=shop["customer"].id)
    with pytest.raises(ValidationFailed) as refused:
        estimates.perform(est, "submit", shop["staff"])
    assert "labour_lines" in refused.value.errors
    assert est.status == "draft"


@pytest.mark.parametrize("bad,field", [
    ({"hours": "-1"}, "labour_lines.0.hours"),
    ({"rate": "12.345"}, "labour_lines.0.rate"),
    ({"rate": "abc"}, "labour_lines.0.rate"),
    ({"rate": "1e30"}, "labour_lines.0.rate"),
    ({"parts": [{"description": "x", "quantity": "0", "unit_price": "1"}]}, "labour_lines.0.parts.0.quantity"),
])
def test_money_and_hours_are_validated(shop, bad, field):
    est = estimates.create(shop["staff"], customer_id=shop["customer"].id)
    with pytest.raises(ValidationFailed) as refused:
        estimates.perform(est, "edit", shop["staff"], labour_lines=[dict(LINES[0], **bad)])
    assert field in refused.value.errors


def test_one_open_time_entry_per_technician(shop):
    first = work_orders.create(shop["staff"], customer_id=shop["customer"].id, fault="A")
    second = work_orders.create(shop["staff"], customer_id=shop["customer"].id, fault="B")
    for order in (first, second):
        work_orders.perform(order, "receive", shop["staff"])
    work_orders.perform(first, "clock_on", shop["tech"])
    with pytest.raises(ValidationFailed) as refused:
        work_orders.perform(second, "clock_on", shop["tech"])
    assert first.number in refused.value.message


def test_slot_capacity(shop, db):
    from app.core.settings import get_settings

    get_settings().slot_capacity = 1
    db.session.commit()
    first, second = _request(shop), _request(shop)
    requests.perform(first, "confirm", shop["staff"])
    with pytest.raises(ValidationFailed) as full:
        requests.perform(second, "confirm", shop["staff"])
    assert "fully booked" in full.value.message
    assert second.status == "new"


def test_customer_order_waits_reseller_order_is_confirmed(shop, db):
    order = work_orders.create(shop["jane"], kind="repair", fault="Screen cracked")
    assert order.status == "pending_confirmation" and order.customer_id == shop["customer"].id
    reseller = actor(make_user("Reseller"))
    location, method = ServiceLocationFactory(), ShippingMethodFactory()
    db.session.commit()
    orders = [work_orders.create(reseller, kind="repair", fault="x", service_location_id=location.id,
                                 shipping_method_id=method.id) for _ in range(2)]
    assert {o.status for o in orders} == {"confirmed"}
    shipment = shipments.create(reseller, work_orders=[o.id for o in orders])
    assert shipment.number == "SHP-000001" and shipment.status == "draft"
    shipments.perform(shipment, "confirm", reseller)
    shipments.perform(shipment, "receive", shop["staff"])
    assert shipment.status == "received"
    assert {o.status for o in db.session.scalars(select(WorkOrder).where(WorkOrder.shipment_id == shipment.id))} == {
        "received"}
    with pytest.raises(ValidationFailed):
        shipments.create(reseller, work_orders=[order.id])  # not theirs


def test_numbers_are_sequential_per_kind(shop):
    numbers = [_request(shop).number for _ in range(3)]
    assert numbers == ["REQ-000001", "REQ-000002", "REQ-000003"]
