"""Invoicing screens (Billing): ready to invoice, ready to submit, awaiting payment; every staff transition of
an invoice through them (create, submit, payments, void), refusals naming the state, kept input, roles."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.core.settings import get_settings
from app.models import Invoice, Payment
from app.services import invoices, work_orders
from tests.factories import CustomerFactory, actor, clocked_order, make_user

LINES = [{"description": "Service", "hours": "2.00", "rate": "50.00",
          "parts": [{"part_number": "F-1", "description": "Filter", "quantity": "1", "unit_price": "20.00"}]}]


def ready_order(shop, customer, *, clock_minutes=90):
    """A work order from an approved estimate, clocked on and marked ready."""
    return clocked_order(shop["staff"], shop["tech_actor"], shop["customer_actors"][customer.id], customer.id,
                         LINES, clock_minutes)


@pytest.fixture()
def shop(db):
    settings = get_settings()
    settings.tax_rate = Decimal("10.00")
    settings.invoice_labour_source = "approved_lines"
    plain = CustomerFactory(name="Plain Customer")
    fleet = CustomerFactory(name="Fleet Customer", kind="business", requires_invoice_authorization=True)
    advisor, tech = make_user("Advisor"), make_user("Technician")
    plain_user, fleet_user = make_user("Customer", customer=plain), make_user("Customer", customer=fleet)
    db.session.commit()
    shop = dict(plain=plain, fleet=fleet, advisor=advisor, tech=tech, plain_user=plain_user, staff=actor(advisor),
                tech_actor=actor(tech), customer_actors={plain.id: actor(plain_user), fleet.id: actor(fleet_user)})
    shop["order"] = ready_order(shop, plain)
    return shop


def flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


def numbers(html: str, prefix: str) -> list[str]:
    return re.findall(rf">({prefix}-\d+)</a>", html)


def test_menu_has_the_three_lists(shop, login_as):
    html = login_as(shop["advisor"]).get("/invoiceview/list/").text
    for href in ("/invoicing/ready-to-invoice/", "/invoicing/ready-to-submit/", "/invoicing/awaiting-payment/"):
        assert f'href="{href}"' in html


def test_ready_to_invoice_lists_orders_without_a_live_invoice(shop, login_as, db):
    client = login_as(shop["advisor"])
    order = shop["order"]
    other = work_orders.create(shop["staff"], customer_id=shop["plain"].id, fault="Not ready yet")
    assert numbers(client.get("/invoicing/ready-to-invoice/").text, "WO") == [order.number]
    invoice = work_orders.perform(order, "invoice", shop["staff"])
    assert numbers(client.get("/invoicing/ready-to-invoice/").text, "WO") == []
    invoices.perform(invoice, "void", shop["staff"], reason="Wrong customer")
    assert numbers(client.get("/invoicing/ready-to-invoice/").text, "WO") == [order.number]
    assert other.number not in client.get("/invoicing/ready-to-invoice/").text


def test_create_invoice_from_the_list(shop, login_as, db):
    client = login_as(shop["advisor"])
    order = shop["order"]
    response = client.post(f"/invoicing/order/{order.id}/invoice")
    invoice = db.session.scalar(select(Invoice).where(Invoice.work_order_id == order.id))
    assert response.headers["Location"].endswith(f"/invoiceview/show/{invoice.id}")
    assert invoice.status == "draft"
    # approved hours (Settings: approved lines): 2 h × 50 + filter 20 = 120 + 10 % tax
    assert [(line.kind, line.quantity) for line in invoice.lines] == [("labour", Decimal("2.00")),
                                                                     ("part", Decimal("1.00"))]
    assert invoice.total == Decimal("132.00")
    assert any(f"draft invoice {invoice.number} created" in m for m in flashes(client))
    client.post(f"/invoicing/order/{order.id}/invoice")  # once only
    assert any(f"{order.number} already has invoice {invoice.number}" in m for m in flashes(client))


def test_labour_from_clocked_time_when_the_shop_says_so(shop, login_as, db):
    get_settings().invoice_labour_source = "time_entries"
    db.session.commit()
    client = login_as(shop["advisor"])
    client.post(f"/invoicing/order/{shop['order'].id}/invoice")
    invoice = db.session.scalar(select(Invoice))
    assert invoice.lines[0].quantity == Decimal("1.50")  # 90 clocked minutes


def test_an_order_that_is_not_ready_cannot_be_invoiced(shop, login_as, db):
    client = login_as(shop["advisor"])
    order = work_orders.create(shop["staff"], customer_id=shop["plain"].id, fault="x")
    work_orders.perform(order, "receive", shop["staff"])
    client.post(f"/invoicing/order/{order.id}/invoice")
    assert any("Cannot invoice this work order: it is received." in m for m in flashes(client))
    assert db.session.scalar(select(Invoice)) is None


@pytest.mark.parametrize("customer,expected", [("plain", "open"), ("fleet", "awaiting_authorization")])
def test_submit_from_ready_to_submit(shop, login_as, db, customer, expected):
    order = shop["order"] if customer == "plain" else ready_order(shop, shop["fleet"])
    invoice = work_orders.perform(order, "invoice", shop["staff"])
    client = login_as(shop["advisor"])
    assert numbers(client.get("/invoicing/ready-to-submit/").text, "INV") == [invoice.number]
    response = client.post(f"/invoicing/invoice/{invoice.id}/submit",
                           data={"expected_version": invoice.version, "list": "ready-to-submit"})
    assert response.headers["Location"].endswith("/invoicing/ready-to-submit/")
    db.session.refresh(invoice)
    assert invoice.status == expected and invoice.due_date is not None
    said = {"open": f"{invoice.number} is issued to {order.customer.name}: ",
            "awaiting_authorization": f"{invoice.number} is sent to {order.customer.name} for authorization"}
    assert any(m.startswith(said[expected]) for m in flashes(client)), flashes(client)
    assert numbers(client.get("/invoicing/ready-to-submit/").text, "INV") == []
    assert numbers(client.get("/invoicing/awaiting-payment/").text, "INV") == [invoice.number]
    # again: refused with the current state, nothing changes
    response = client.post(f"/invoicing/invoice/{invoice.id}/submit", data={"list": "ready-to-submit"})
    assert response.status_code == 409
    assert f"Cannot submit this invoice: it is {expected.replace('_', ' ')}." in response.text


@pytest.fixture()
def open_invoice(shop):
    invoice = work_orders.perform(shop["order"], "invoice", shop["staff"])
    invoices.perform(invoice, "submit", shop["staff"])
    return invoice


def test_partial_then_full_payment(shop, login_as, db, open_invoice):
    client = login_as(shop["advisor"])
    inv = open_invoice
    html = client.get("/invoicing/awaiting-payment/").text
    assert 'name="amount"' in html and 'value="132.00"' in html  # the balance is offered
    client.post(f"/invoicing/invoice/{inv.id}/payments",
                data={"amount": "32.00", "method": "transfer", "reference": "BANK-1", "expected_version": inv.version})
    db.session.refresh(inv)
    assert inv.status == "open" and inv.balance == Decimal("100.00")
    assert any(f"{inv.number}: a payment of €32.00" in m and "; €100.00" in m and "remain open." in m
               for m in flashes(client)), flashes(client)
    client.post(f"/invoicing/invoice/{inv.id}/payments", data={"amount": "100", "method": "card"})
    db.session.refresh(inv)
    assert inv.status == "paid" and inv.paid_at is not None
    assert [(p.amount, p.method, p.reference) for p in db.session.scalars(select(Payment).order_by(Payment.id))] == [
        (Decimal("32.00"), "transfer", "BANK-1"), (Decimal("100.00"), "card", None)]
    assert numbers(client.get("/invoicing/awaiting-payment/").text, "INV") == []


def test_a_payment_typed_with_a_decimal_comma_on_a_german_page(shop, login_as, db, open_invoice):
    client = login_as(shop["advisor"])
    client.get("/lang/de")
    inv = open_invoice
    response = client.post(f"/invoicing/invoice/{inv.id}/payments",
                           data={"amount": "31,50", "method": "transfer", "expected_version": inv.version})
    assert response.status_code == 302
    db.session.refresh(inv)
    assert inv.balance == Decimal("100.50")
    # grouped in German: 1.234,50 is one thousand two hundred and thirty-four euros fifty (more than is open)
    response = client.post(f"/invoicing/invoice/{inv.id}/payments",
                           data={"amount": "1.234,50", "method": "transfer", "list": "awaiting-payment"})
    assert response.status_code == 422 and 'value="1.234,50"' in response.text
    assert "Der Betrag ist höher als der offene Betrag von 100,50\xa0€." in response.text  # read, not refused
    db.session.refresh(inv)
    assert inv.balance == Decimal("100.50")

@pytest.mark.parametrize("amount,message", [
    ("500.00", "The amount is more than the balance of €132.00."),
    ("-5", "The amount must be more than zero."),
    ("12.345", "Use at most two decimals."),
    ("lots", "Enter a number such as 1,234.50."),
    ("1e30", "Enter a number such as 1,234.50."),
    ("99999999999", "That amount is too large."),
    ("1,234", "1,234 can be read two ways: write 1234 or 1.234."),
])
def test_bad_payments_are_refused_at_the_field_with_the_typing_kept(shop, login_as, db, open_invoice, amount,
                                                                     message):
    client = login_as(shop["advisor"])
    inv = open_invoice
    form = {"amount": amount, "method": "cheque", "reference": "CHQ-9", "list": "awaiting-payment"}
    response = client.post(f"/invoicing/invoice/{inv.id}/payments", data=form)
    assert response.status_code == 422
    row = response.text[response.text.index(f'id="invoice-{inv.id}"'):]
    assert message in row and f'value="{amount}"' in row and 'value="CHQ-9"' in row
    assert '<option value="cheque" selected>' in row
    db.session.refresh(inv)
    assert inv.amount_paid == Decimal("0.00") and inv.status == "open"


def test_void_needs_a_reason_and_not_once_paid(shop, login_as, db, open_invoice):
    client = login_as(shop["advisor"])
    inv = open_invoice
    response = client.post(f"/invoicing/invoice/{inv.id}/void", data={"reason": "  ", "list": "awaiting-payment"})
    assert response.status_code == 422 and "A reason is required." in response.text
    client.post(f"/invoicing/invoice/{inv.id}/void", data={"reason": "Duplicate", "expected_version": inv.version})
    db.session.refresh(inv)
    assert inv.status == "void" and inv.void_reason == "Duplicate"
    response = client.post(f"/invoicing/invoice/{inv.id}/void", data={"reason": "Again"})
    assert response.status_code == 409 and "Cannot void this invoice: it is void." in response.text


def test_paid_invoice_takes_no_more_payments(shop, login_as, db, open_invoice):
    invoices.perform(open_invoice, "payments", shop["staff"], amount="132.00", method="cash")
    client = login_as(shop["advisor"])
    response = client.post(f"/invoicing/invoice/{open_invoice.id}/payments", data={"amount": "1", "method": "cash"})
    assert response.status_code == 409 and "Cannot pay this invoice: it is paid." in response.text


def test_a_stale_row_is_refused(shop, login_as, db, open_invoice):
    client = login_as(shop["advisor"])
    inv = open_invoice
    opened = inv.version
    invoices.perform(inv, "payments", shop["staff"], amount="10.00", method="cash")
    response = client.post(f"/invoicing/invoice/{inv.id}/void", data={"reason": "x", "expected_version": opened})
    assert response.status_code == 409 and "changed by someone else" in response.text
    db.session.refresh(inv)
    assert inv.status == "open"


@pytest.mark.parametrize("who", ["tech", "plain_user"])
def test_other_roles_get_403(shop, login_as, db, open_invoice, who):
    client = login_as(shop[who])
    for url in ("/invoicing/ready-to-invoice/", "/invoicing/ready-to-submit/", "/invoicing/awaiting-payment/"):
        assert client.get(url).status_code == 403
    response = client.post(f"/invoicing/invoice/{open_invoice.id}/payments", data={"amount": "1", "method": "cash"})
    assert response.status_code == 403
    assert client.post(f"/invoicing/order/{shop['order'].id}/invoice").status_code == 403
    db.session.refresh(open_invoice)
    assert open_invoice.amount_paid == Decimal("0.00")


def test_unknown_rows_and_actions_are_404(shop, login_as):
    client = login_as(shop["advisor"])
    assert client.post("/invoicing/invoice/999999/submit").status_code == 404
    assert client.post("/invoicing/order/999999/invoice").status_code == 404
    assert client.post(f"/invoicing/invoice/{shop['order'].id}/authorize").status_code == 404


def test_the_lists_and_the_invoice_page_in_german(shop, login_as, db, open_invoice):
    client = login_as(shop["advisor"])
    client.get("/lang/de")
    html = client.get("/invoicing/awaiting-payment/").text
    for german in ("Zahlung ausstehend", "1 Rechnung", "Zahlung erfassen", 'placeholder="Grund der Stornierung"',
                   'aria-label="Zahlungsart"', "Überweisung", 'placeholder="Referenz (optional)"'):
        assert german in html, german
    for english in ("Record payment", "Reason to void", "Payment method", ">Transfer<", "Balance"):
        assert english not in html, english
    client.post(f"/invoicing/invoice/{open_invoice.id}/payments", data={"amount": "2,00", "method": "cash"})
    show = client.get(f"/invoiceview/show/{open_invoice.id}").text
    assert "Status:" in show and "Zahlung" in show and 'placeholder="Grund"' in show
    assert ">Payment<" not in show and 'placeholder="Reason"' not in show and "Edit details" not in show
    # the buttons say the verb, the badge the state (one English word "Void", two German ones)
    assert ">Stornieren</button>" in html and ">Storniert</button>" not in html
    assert "Stornieren" in show and "2,00\xa0€ (Bar)" in show  # the payment's history line in German
    other = ready_order(shop, shop["fleet"])
    ready = client.get("/invoicing/ready-to-invoice/").text
    assert other.number in ready and "1 Arbeitsauftrag" in ready and "Rechnung erstellen" in ready
    assert "Create invoice" not in ready and "work order" not in ready
