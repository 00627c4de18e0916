"""Online payments through the provider interface (payments.pay_online, the demo provider, the registry), and the
e-mails worded per event family from templates (notify)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.core.errors import InvalidTransition, NotFound, PermissionDenied, ServiceError, ValidationFailed
from app.core.settings import get_settings
from app.models import AuditEvent, Notification, OutboxEmail, Payment
from app.services import invoices, notify, payments, work_orders
from tests.factories import CustomerFactory, actor, make_user


@pytest.fixture()
def shop(db):
    settings = get_settings()
    settings.tax_rate = Decimal("0.00")
    settings.staff_email = "desk@example.com"
    customer = CustomerFactory(name="Paying Customer")
    other_customer = CustomerFactory(name="Other Customer")
    advisor, tech = make_user("Advisor"), make_user("Technician")
    jane = make_user("Customer", customer=customer)
    other = make_user("Customer", customer=other_customer)
    db.session.commit()
    return dict(customer=customer, staff=actor(advisor), tech=actor(tech), jane=actor(jane), other=actor(other),
                other_customer=other_customer)


def make_invoice(shop, customer=None, amount="80.00", submit=True):
    """An invoice of ``amount`` (one approved labour line) from a ready work order, submitted unless told not."""
    from app.extensions import db
    from app.models import WorkItem

    customer = customer or shop["customer"]
    staff = shop["staff"]
    order = work_orders.create(staff, customer_id=customer.id, fault="Broken")
    with db.session.no_autoflush:
        order.items.append(WorkItem(position=0, kind="labour", description="Repair", quantity=Decimal("1"),
                                    unit_price=Decimal(amount)))
    for action, who in (("receive", staff), ("clock_on", shop["tech"]), ("ready", shop["tech"])):
        work_orders.perform(order, action, who)
    get_settings().invoice_labour_source = "approved_lines"
    invoice = work_orders.perform(order, "invoice", staff)
    if submit:
        invoices.perform(invoice, "submit", staff)
    return invoice


def test_pay_online_charges_the_balance_and_records_it(shop, db):
    invoice = make_invoice(shop)
    invoices.perform(invoice, "payments", shop["staff"], amount="30.00", method="cash")
    result = invoices.perform(invoice, "pay_online", shop["jane"], token="tok_demo_ok")
    assert result.id == invoice.id and invoice.status == "paid" and invoice.balance == Decimal("0.00")
    online = db.session.scalar(select(Payment).where(Payment.method == "online"))
    assert online.amount == Decimal("50.00") and online.provider == "demo"
    assert online.reference.startswith("demo_") and len(online.reference) > len("demo_")
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "payment",
                                                       AuditEvent.reason.like("50.00%")))
    assert audit.actor_label == f"{shop['jane'].label} (online payment)"
    assert db.session.scalar(select(Notification).where(Notification.event == "invoice.payment",
                                                        Notification.audience == "staff"))
    assert db.session.scalar(select(Notification).where(Notification.event == "invoice.paid"))


def test_declined_payment_is_a_validation_error_and_records_nothing(shop, db):
    invoice = make_invoice(shop)
    with pytest.raises(ValidationFailed) as refused:
        invoices.perform(invoice, "pay_online", shop["jane"], token="tok_demo_declined")
    assert refused.value.errors == {"token": ["The card was declined (demo)."]}
    db.session.refresh(invoice)
    assert invoice.status == "open" and invoice.amount_paid == Decimal("0.00")
    assert db.session.scalar(select(Payment)) is None
    assert db.session.scalar(select(Notification).where(Notification.event == "invoice.payment")) is None
    with pytest.raises(ValidationFailed) as unknown:
        invoices.perform(invoice, "pay_online", shop["jane"], token="tok_made_up")
    assert "token" in unknown.value.errors
    with pytest.raises(ValidationFailed) as empty:
        invoices.perform(invoice, "pay_online", shop["jane"], token="  ")
    assert empty.value.errors == {"token": ["Enter your payment details."]}


def test_another_customers_invoice_is_not_found(shop, db):
    invoice = make_invoice(shop)
    with pytest.raises(NotFound):
        invoices.perform(invoice, "pay_online", shop["other"], token="tok_demo_ok")
    db.session.refresh(invoice)
    assert invoice.status == "open" and db.session.scalar(select(Payment)) is None


def test_only_a_customer_pays_online(shop):
    invoice = make_invoice(shop)
    with pytest.raises(PermissionDenied):
        invoices.perform(invoice, "pay_online", shop["staff"], token="tok_demo_ok")


@pytest.mark.parametrize("state", ["draft", "awaiting_authorization", "paid", "void"])
def test_only_an_open_invoice_can_be_paid(shop, db, state):
    if state == "awaiting_authorization":
        shop["customer"].requires_invoice_authorization = True
    invoice = make_invoice(shop, submit=state != "draft")
    if state == "paid":
        invoices.perform(invoice, "payments", shop["staff"], amount="80.00", method="card")
    if state == "void":
        invoices.perform(invoice, "void", shop["staff"], reason="Mistake")
    assert invoice.status == state
    if state == "draft":  # a draft is the shop's: the customer cannot see it at all
        with pytest.raises(NotFound):
            invoices.perform(invoice, "pay_online", shop["jane"], token="tok_demo_ok")
        return
    with pytest.raises(InvalidTransition) as refused:
        invoices.perform(invoice, "pay_online", shop["jane"], token="tok_demo_ok")
    assert refused.value.current_status == state
    assert f"it is {state.replace('_', ' ')}" in refused.value.message


def test_overpayment_is_refused(shop, db):
    invoice = make_invoice(shop)
    with pytest.raises(ValidationFailed) as refused:
        invoices.perform(invoice, "payments", shop["staff"], amount="80.01", method="online", reference="demo_x")
    assert refused.value.errors["amount"] == ["The amount is more than the balance of €80.00."]
    invoices.perform(invoice, "pay_online", shop["jane"], token="tok_demo_ok")
    with pytest.raises(InvalidTransition):  # nothing left: a second charge is refused before the provider
        invoices.perform(invoice, "pay_online", shop["jane"], token="tok_demo_ok")
    assert db.session.scalar(select(Payment.amount)) == Decimal("80.00")


class RecordingProvider:
    name = "recording"
    charges: list = []

    def charge(self, invoice, amount, token):
        self.charges.append((invoice.number, amount, token))
        return "rec-1"


def test_the_provider_is_chosen_by_configuration(shop, app, monkeypatch, db):
    assert isinstance(payments.get_provider(), payments.DemoProvider)
    assert isinstance(payments.DemoProvider(), payments.PaymentProvider)
    payments.register_provider("recording", RecordingProvider)
    monkeypatch.setitem(app.config, "PORTICO_PAYMENT_PROVIDER", "recording")
    invoice = make_invoice(shop)
    invoices.perform(invoice, "pay_online", shop["jane"], token="tok_anything")
    assert RecordingProvider.charges == [(invoice.number, Decimal("80.00"), "tok_anything")]
    assert db.session.scalar(select(Payment.provider)) == "recording"
    monkeypatch.setitem(app.config, "PORTICO_PAYMENT_PROVIDER", "nonesuch")
    with pytest.raises(ServiceError) as unavailable:
        payments.get_provider()
    assert "not available" in unavailable.value.message


# ---------------------------------------------------------------- e-mails worded per event
def test_event_templates_word_subject_and_body_with_a_generic_fallback(shop, db):
    _subject, text, html = notify.render_email("estimate.sent", "Estimate EST-000009 is ready for you",
                                               "Total 10.00", "/portal/estimates/9", "Jane")
    assert _subject == "Your estimate is ready: Estimate EST-000009 is ready for you"
    assert "dispute single lines" in text and "Review the estimate: http" in text and "Total 10.00" in text
    assert ">Review the estimate</a>" in html and "dispute single lines" in html
    # a family template (invoice.txt) words each of its events, by audience too
    subject, text, _html = notify.render_email("invoice.open", "Invoice INV-1", "", "/portal/invoices/1", "Jane")
    assert subject == "New invoice: Invoice INV-1" and "Pay it online in the portal" in text
    subject, text, _html = notify.render_email("estimate.note", "Note", "Hi", "/estimateview/show/1", None, "staff")
    assert "The customer added a note" in text and "Open the estimate:" in text
    # an event without wording of its own: the generic e-mail
    subject, text, html = notify.render_email("made.up", "Plain title", "Plain body", None, None)
    assert subject == "Plain title" and text.startswith("Plain title\n\nPlain body")
    assert "Open in Portico" not in text and "<h2" in html


def test_queued_mail_uses_the_event_wording(shop, db):
    invoice = make_invoice(shop, submit=False)
    shop["customer"].requires_invoice_authorization = True
    invoices.perform(invoice, "submit", shop["staff"])
    mail = db.session.scalar(select(OutboxEmail).where(OutboxEmail.event == "invoice.awaiting_authorization"))
    shop_name = get_settings().shop_name
    assert mail.subject == f"{shop_name}: Authorization needed: Invoice {invoice.number} needs your authorization"
    assert "Authorize the invoice: http" in mail.body_text and "Hello Paying Customer" in mail.body_text
    invoices.perform(invoice, "authorize", shop["jane"])
    invoices.perform(invoice, "pay_online", shop["jane"], token="tok_demo_ok")
    desk = db.session.scalar(select(OutboxEmail).where(OutboxEmail.event == "invoice.payment"))
    assert desk.to_address == "desk@example.com" and desk.subject.startswith(f"[Portico] {invoice.number}: online")
    assert "A payment was made online." in desk.body_text and "Open the invoice:" in desk.body_text


def test_a_payment_history_line_is_read_in_the_readers_language(shop, db, app):
    """Issue 16: the payment's line is stored as ``80.00 by transfer`` (as old rows were) and shown in words."""
    from flask_babel import force_locale

    from app.views.filters import history_reason

    invoice = make_invoice(shop)
    invoices.perform(invoice, "payments", shop["staff"], amount="30.00", method="transfer", reference="B-1")
    stored = db.session.scalar(select(AuditEvent.reason).where(AuditEvent.action == "payment"))
    assert stored == "30.00 by transfer"
    with app.test_request_context(), force_locale("de"):
        assert history_reason(stored) == "30,00\xa0€ (Überweisung)"
        assert history_reason("12.5 by cash") == "12,50\xa0€ (Bar)"  # an old row's text reads the same way
        assert history_reason("Customer asked for it") == "Customer asked for it"  # any other reason as written
    with app.test_request_context(), force_locale("en"):
        assert history_reason(stored) == "€30.00 by bank transfer"
