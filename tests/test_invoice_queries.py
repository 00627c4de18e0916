"""Invoice queries (SPEC §8) and billable-time rounding.

A customer queries an invoice awaiting their authorization or open (a reason, lines optional): it keeps
its state, flagged queried, on the staff work list "Queried invoices" until staff answer it (keep), or void
and re-issue it; both sides see the log, each step is audited and told to the other side. Clocked time
becomes invoice lines under the shop's rounding rule, the raw minutes kept.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.core.errors import InvalidTransition, PermissionDenied, ValidationFailed
from app.core.settings import get_settings
from app.models import AuditEvent, Invoice, InvoiceNote, Notification, OutboxEmail
from app.services import invoices, work_orders
from app.services.invoices import billable_minutes
from tests.api_support import Api, login_token
from tests.factories import CustomerFactory, actor, clocked_order, make_user

LINES = [{"description": "Service", "hours": "2.00", "rate": "50.00",
          "parts": [{"part_number": "F-1", "description": "Filter", "quantity": "1", "unit_price": "20.00"}]}]


def _order(shop, clock_minutes: int):
    return clocked_order(shop["staff"], shop["tech"], shop["jane"], shop["customer"].id, LINES,
                         clock_minutes + 1 / 3)  # and 20 seconds: the raw minutes are whole minutes


@pytest.fixture()
def shop(db):
    settings = get_settings()
    settings.tax_rate = Decimal("10.00")
    settings.invoice_labour_source = "approved_lines"
    customer = CustomerFactory(name="Fleet Customer", kind="business", requires_invoice_authorization=True,
                               email="fleet@example.com")
    advisor, tech = make_user("Advisor"), make_user("Technician")
    portal = make_user("Customer", customer=customer)
    db.session.commit()
    shop = dict(customer=customer, advisor=advisor, portal=portal, staff=actor(advisor), tech=actor(tech),
                jane=actor(portal))
    order = _order(shop, 46)
    invoice = work_orders.perform(order, "invoice", shop["staff"])
    invoices.perform(invoice, "submit", shop["staff"])
    assert invoice.status == "awaiting_authorization"
    shop.update(order=order, invoice=invoice)
    return shop


def test_a_query_keeps_the_state_flags_it_and_tells_the_shop(shop, db):
    invoice = shop["invoice"]
    filter_line = next(line for line in invoice.lines if line.kind == "part")
    invoices.perform(invoice, "query", shop["jane"], reason="We supplied the filter ourselves",
                     lines=[filter_line.id])
    assert invoice.status == "awaiting_authorization" and invoice.queried_at is not None
    note = db.session.scalar(select(InvoiceNote))
    assert (note.side, note.kind, note.line_ids) == ("customer", "query", str(filter_line.id))
    staff_note = db.session.scalar(select(Notification).where(Notification.event == "invoice.queried"))
    assert staff_note is not None and "We supplied the filter ourselves" in staff_note.body
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "query")).reason == \
        "We supplied the filter ourselves"


def test_staff_answer_and_keep_it(shop, db):
    invoice = shop["invoice"]
    invoices.perform(invoice, "query", shop["jane"], reason="Why 2 hours?")
    invoices.perform(invoice, "answer", shop["staff"], text="The compressor needed a second leak test.")
    assert invoice.queried_at is None and invoice.status == "awaiting_authorization"
    mail = db.session.scalar(select(OutboxEmail).where(OutboxEmail.event == "invoice.answered"))
    assert mail is not None and mail.to_address == shop["portal"].email
    with pytest.raises(InvalidTransition):  # nothing to answer any more
        invoices.perform(invoice, "answer", shop["staff"], text="again")


def test_void_and_reissue_makes_a_linked_draft_with_the_same_lines(shop, db):
    invoice = shop["invoice"]
    invoices.perform(invoice, "query", shop["jane"], reason="Wrong VAT id")
    again = invoices.perform(invoice, "reissue", shop["staff"], reason="Re-issued with the right VAT id")
    assert invoice.status == "void" and invoice.queried_at is None
    assert (again.status, again.replaces_id, again.work_order_id) == ("draft", invoice.id, invoice.work_order_id)
    assert [(line.description, line.amount) for line in again.lines] == \
        [(line.description, line.amount) for line in invoice.lines]
    assert again.total == invoice.total and again.number != invoice.number


@pytest.mark.parametrize("state", ["paid", "void", "draft"])
def test_a_query_outside_awaiting_or_open_is_refused(shop, db, state):
    invoice = shop["invoice"]
    invoice.status = state
    db.session.commit()
    with pytest.raises(InvalidTransition) as refused:
        invoices.perform(invoice, "query", shop["jane"], reason="?")
    assert refused.value.status_code == 409


def test_bad_queries_are_refused_at_the_field(shop, db):
    invoice = shop["invoice"]
    with pytest.raises(ValidationFailed) as blank:
        invoices.perform(invoice, "query", shop["jane"], reason="  ")
    assert "reason" in blank.value.errors
    with pytest.raises(ValidationFailed) as foreign:
        invoices.perform(invoice, "query", shop["jane"], reason="?", lines=[987654])
    assert "lines" in foreign.value.errors
    assert db.session.get(Invoice, invoice.id).queried_at is None  # the refused queries left nothing
    invoices.perform(invoice, "query", shop["jane"], reason="Why?")
    with pytest.raises(PermissionDenied):
        invoices.perform(invoice, "answer", shop["jane"], text="I answer myself")
    assert len(db.session.get(Invoice, invoice.id).notes) == 1


def test_portal_staff_list_and_rest_agree(shop, db, client, login_as):
    invoice = shop["invoice"]
    page = login_as(shop["portal"]).get(f"/portal/invoices/{invoice.id}").get_data(as_text=True)
    assert "Query this invoice" in page
    blank = client.post(f"/portal/invoices/{invoice.id}/query", data={"reason": "", "version": invoice.version})
    assert blank.status_code == 422
    sent = client.post(f"/portal/invoices/{invoice.id}/query",
                       data={"reason": "The filter was ours", "version": invoice.version})
    assert sent.status_code == 302
    assert "You queried this invoice" in client.get(f"/portal/invoices/{invoice.id}").get_data(as_text=True)

    staff = login_as(shop["advisor"])
    listed = staff.get("/queriedinvoices/list/").get_data(as_text=True)
    assert invoice.number in listed
    shown = staff.get(f"/invoiceview/show/{invoice.id}").get_data(as_text=True)
    assert "The filter was ours" in shown and "Queried by the customer" in shown

    api = Api(client, login_token(client, shop["advisor"].username))
    assert api.get(f"/invoice/{invoice.id}").get_json()["result"]["queried_at"] is not None
    log = api.get(f"/invoice/{invoice.id}/notes").get_json()
    assert [entry["kind"] for entry in log["result"]] == ["query"]
    answered = api.post(f"/invoice/{invoice.id}/answer", json={"text": "Removed the filter: see the new invoice"})
    assert answered.status_code == 200
    assert invoice.number not in staff.get("/queriedinvoices/list/").get_data(as_text=True)
    customer_api = Api(client, login_token(client, shop["portal"].username))
    paid_state = customer_api.post(f"/invoice/{invoice.id}/query", json={"reason": "x", "lines": "all"})
    assert paid_state.status_code == 422


# --- billable time -------------------------------------------------------------------------------------

@pytest.mark.parametrize("clocked,rule,minimum,billed,said", [
    (46, "exact", 0, 46, "clocked 0:46"),
    (46, "15", 0, 60, "clocked 0:46, rounded up to 15 min"),
    (46, "6", 0, 48, "clocked 0:46, rounded up to 6 min"),
    (45, "15", 0, 45, "clocked 0:45"),
    (61, "30", 0, 90, "clocked 1:01, rounded up to 30 min"),
    (10, "15", 30, 30, "clocked 0:10, minimum charge 30 min"),
])
def test_the_rounding_rule(clocked, rule, minimum, billed, said):
    assert billable_minutes(clocked, rule, minimum) == (billed, said)


def test_clocked_time_is_invoiced_rounded_with_the_raw_minutes_kept(shop, db, login_as):
    settings = get_settings()
    settings.invoice_labour_source, settings.time_rounding = "time_entries", "15"
    db.session.commit()
    order = _order(shop, 46)
    invoice = work_orders.perform(order, "invoice", shop["staff"])
    labour = next(line for line in invoice.lines if line.kind == "labour")
    assert labour.quantity == Decimal("1.00") and labour.clocked_minutes == 46
    assert labour.description.endswith("1.00 h (clocked 0:46, rounded up to 15 min)")
    entries = login_as(shop["advisor"]).get("/timeentryview/list/").get_data(as_text=True)
    assert "0:46" in entries


def test_a_german_customers_labour_line_is_worded_in_german_whoever_invoices(shop, db, login_as):
    """The line is stored and printed on the customer's invoice: their language, not the advisor's."""
    settings = get_settings()
    settings.invoice_labour_source, settings.time_rounding = "time_entries", "15"
    db.session.commit()
    order = _order(shop, 46)
    order.customer.language = "de"
    db.session.commit()
    invoice = work_orders.perform(order, "invoice", shop["staff"])
    labour = next(line for line in invoice.lines if line.kind == "labour")
    assert labour.description == f"Arbeitszeit ({order.number}): 1,00 Std. (gestempelt 0:46, aufgerundet auf 15 Min.)"


def test_the_settings_screen_takes_the_rule_and_refuses_nonsense(shop, db, login_as):
    from app.services import shop_settings

    manager = make_user("Manager")
    db.session.commit()
    settings = get_settings()
    with pytest.raises(ValidationFailed) as refused:
        shop_settings.perform(settings, "edit", actor(manager), {"time_rounding": "7"})
    assert "time_rounding" in refused.value.errors
    with pytest.raises(ValidationFailed):
        shop_settings.perform(settings, "edit", actor(manager), {"minimum_charge_minutes": -5})
    shop_settings.perform(settings, "edit", actor(manager), {"time_rounding": "30", "minimum_charge_minutes": 15})
    assert (settings.time_rounding, settings.minimum_charge_minutes) == ("30", 15)
