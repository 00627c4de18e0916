"""Partial approval and invoice queries in a real Chromium (issue 14's "not done until").

A fleet approves 2 of 3 lines in the portal and the work order holds those 2; a queried invoice reaches the
staff list "Queried invoices" and the advisor answers it.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from app.core.settings import get_settings
from app.extensions import db as database
from app.models import Invoice, WorkItem, WorkOrder
from app.services import estimates, invoices, work_orders
from tests.factories import CustomerFactory, actor, clocked_order, make_user

pytestmark = pytest.mark.browser

LINES = [
    {"description": "Brake pads front axle", "hours": "1.50", "rate": "100.00",
     "parts": [{"part_number": "BP-1", "description": "Brake pad set", "quantity": "1", "unit_price": "120.00"}]},
    {"description": "Replace wiper blades", "hours": "0.20", "rate": "100.00", "parts": []},
    {"description": "Tyre tread check", "hours": "0.50", "rate": "100.00", "parts": []},
]


@pytest.fixture()
def fleet(db):
    get_settings().tax_rate = Decimal("19.00")
    customer = CustomerFactory(name="Nordfleet GmbH", kind="business", requires_invoice_authorization=True)
    buyer = make_user("Customer", username="fleet-buyer", customer=customer)
    advisor = make_user("Advisor", username="fleet-advisor")
    tech = make_user("Technician")
    db.session.commit()
    return dict(customer=customer, buyer=actor(buyer), staff=actor(advisor), tech=actor(tech))


def test_the_fleet_approves_two_of_three_lines(fleet, live_server, page, browser_login, screenshot):
    est = estimates.create(fleet["staff"], customer_id=fleet["customer"].id, labour_lines=LINES)
    estimates.perform(est, "submit", fleet["staff"])
    est_id, wipers = est.id, est.labour_lines[1].id
    database.session.commit()

    browser_login(page, "fleet-buyer")
    page.goto(f"{live_server}/portal/estimates/{est_id}")
    page.get_by_text("Approve some lines only").click()
    page.uncheck(f"#approve_{wipers}")
    page.fill("#approve-reason", "Wipers at the next service")
    screenshot(page, "estimate-approve-some-lines")
    page.get_by_role("button", name="Approve the ticked lines").click()
    page.wait_for_load_state("networkidle")
    assert "you approved 2 of 3 lines" in page.content()

    database.session.expire_all()
    order = database.session.query(WorkOrder).filter_by(estimate_id=est_id).one()
    labour = [item.description for item in database.session.query(WorkItem)
              .filter_by(work_order_id=order.id, kind="labour").order_by(WorkItem.position)]
    assert labour == ["Brake pads front axle", "Tyre tread check"]
    page.goto(f"{live_server}/portal/estimates/{est_id}")
    assert "Wipers at the next service" in page.content()


def test_a_queried_invoice_reaches_the_staff_list(fleet, live_server, page, browser_login, screenshot):
    staff, tech = fleet["staff"], fleet["tech"]
    order = clocked_order(staff, tech, fleet["buyer"], fleet["customer"].id, LINES[:1], 50)
    invoice = work_orders.perform(order, "invoice", staff)
    invoices.perform(invoice, "submit", staff)
    invoice_id, number = invoice.id, invoice.number
    database.session.commit()

    browser_login(page, "fleet-buyer")
    page.goto(f"{live_server}/portal/invoices/{invoice_id}")
    page.fill("#reason", "We brought our own brake pads")
    page.check("#query_line_" + str(invoice.lines[-1].id))
    page.get_by_role("button", name="Query this invoice").click()
    page.wait_for_load_state("networkidle")
    assert "You queried this invoice" in page.content()

    page.context.clear_cookies()
    browser_login(page, "fleet-advisor")
    page.goto(f"{live_server}/queriedinvoices/list/")
    assert number in page.content()
    screenshot(page, "queried-invoices")
    page.goto(f"{live_server}/invoiceview/show/{invoice_id}")
    assert "We brought our own brake pads" in page.content()
    database.session.expire_all()
    assert database.session.get(Invoice, invoice_id).queried_at is not None
