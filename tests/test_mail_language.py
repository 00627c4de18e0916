"""Every mail a person reads is in their language (issue 16, item 1): the e-mail templates and the titles the
services write are translated, and a customer's mail is German or English by the customer's own choice,
whoever presses the button. The shared staff feed is worded in the shop's default language."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import time_machine
from babel.messages.pofile import read_po
from flask import current_app
from sqlalchemy import select

from app.core.settings import get_settings
from app.extensions import db
from app.models import Notification, OutboxEmail
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
from tests.portal_world import LINES, in_days

CATALOGUE = Path(__file__).resolve().parents[1] / "app/translations/de/LC_MESSAGES/messages.po"
#: The customer's events these tests walk through, each must reach the customer's mailbox.
EVENTS = ("request.received", "request.time_proposed", "request.confirmed", "estimate.sent",
          "work_order.received", "work_order.completed", "work_order.ready", "invoice.awaiting_authorization",
          "invoice.open", "invoice.paid", "shipment.received")


def _english_fragments() -> list[str]:
    """Pieces of the catalogue's English sentences whose German differs: what a German mail must not hold.

    A msgid's text between its placeholders counts when it is long enough to be a phrase (12 characters, a
    space in it), so names and numbers of the test data cannot match by chance."""
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    fragments = set()
    for message in catalogue:
        if not message.id or not isinstance(message.id, str) or not message.string or message.string == message.id:
            continue
        for piece in re.split(r"%\(\w+\)s|%s|\n", message.id):
            piece = piece.strip(" :.,;()")
            if len(piece) >= 12 and " " in piece and piece not in message.string:
                fragments.add(piece)
    return sorted(fragments)


def _walk(language: str) -> dict:
    """One customer (and one reseller) in ``language`` through the main events, an English advisor acting."""
    staff = actor(make_user("Advisor"))
    tech = actor(make_user("Technician"))
    customer = CustomerFactory(name=f"Kunde {language}", kind="business", language=language,
                               requires_invoice_authorization=True)
    person = actor(make_user("Customer", customer=customer, email=f"customer-{language}@example.com"))
    unit = UnitFactory(customer=customer)
    service_type, location = ServiceTypeFactory(), ServiceLocationFactory()
    reseller_account = CustomerFactory(name=f"Handel {language}", kind="reseller", language=language)
    reseller = actor(make_user("Reseller", customer=reseller_account, email=f"reseller-{language}@example.com"))
    method = ShippingMethodFactory()
    db.session.commit()
    with current_app.test_request_context("/", headers={"Accept-Language": "en"}):  # the advisor reads English
        def submit():
            return requests.submit(person, service_type_id=service_type.id, subject="Fridge too warm",
                                   preferred_date=dt.date.today() + dt.timedelta(days=3), preferred_slot="morning",
                                   unit_id=unit.id, service_location_id=location.id)

        requests.perform(submit(), "propose", staff, start=in_days(3), note="")
        est = requests.perform(submit(), "confirm", staff, start=in_days(5), estimate=True)
        estimates.perform(est, "edit", staff, labour_lines=LINES)
        estimates.perform(est, "submit", staff)
        order = estimates.perform(est, "approve", person)
        work_orders.perform(order, "receive", staff)
        work_orders.perform(order, "clock_on", tech)
        work_orders.perform(order, "ready", tech)
        work_orders.perform(order, "complete", staff)
        invoice = work_orders.perform(order, "invoice", staff)
        invoices.perform(invoice, "submit", staff)  # awaiting the customer's authorization
        customer.requires_invoice_authorization = False
        second = work_orders.create(staff, customer_id=customer.id, kind="repair", fault="Door seal")
        work_orders.perform(second, "receive", staff)
        start = dt.datetime.now(dt.UTC)
        with time_machine.travel(start, tick=False):
            work_orders.perform(second, "clock_on", tech)
        with time_machine.travel(start + dt.timedelta(minutes=90), tick=False):
            work_orders.perform(second, "ready", tech)
        paid = work_orders.perform(second, "invoice", staff)
        invoices.perform(paid, "submit", staff)  # open at once
        invoices.perform(paid, "payments", staff, amount=str(paid.total), method="transfer", reference="T1")
        shipped = []
        for i in range(2):
            device = UnitFactory(customer=reseller_account, serial_number=f"RS-{language}-{i}")
            db.session.commit()
            shipped.append(work_orders.create(reseller, kind="repair", unit_id=device.id, fault="Battery",
                                              service_location_id=location.id, shipping_method_id=method.id))
        shipment = shipments.create(reseller, work_orders=[o.id for o in shipped])
        shipments.perform(shipment, "confirm", reseller)
        shipments.perform(shipment, "receive", staff)
    db.session.commit()
    mails = {}
    for mail in db.session.scalars(select(OutboxEmail).where(OutboxEmail.to_address.in_(
            [f"customer-{language}@example.com", f"reseller-{language}@example.com"])).order_by(OutboxEmail.id)):
        mails.setdefault(mail.event, mail)
    return dict(mails=mails, customer=customer, invoice=invoice)


@pytest.fixture()
def german(db):
    return _walk("de")


@pytest.fixture()
def english(db):
    return _walk("en")


def test_a_german_customers_mails_are_german_whoever_pressed_the_button(german):
    mails = german["mails"]
    assert set(EVENTS) <= set(mails), sorted(set(EVENTS) - set(mails))
    english_words = _english_fragments()
    assert len(english_words) > 200  # the catalogue was read
    for event in EVENTS:
        mail = mails[event]
        for text in (mail.subject, mail.body_text, mail.body_html):
            found = [piece for piece in english_words if piece in text]
            assert not found, (event, found, text)
        assert mail.body_text.startswith("Hallo Kunde de,") or mail.body_text.startswith("Hallo Handel de,")
        assert "Hallo" in mail.body_html
    received = mails["request.received"].body_text
    assert "Vielen Dank für Ihre Serviceanfrage." in received and "Ihre Anfrage ansehen:" in received
    assert re.search(r"Wunschtermin: \d\d\.\d\d\.\d{4} \(vormittags\)\.", received)
    proposed = mails["request.time_proposed"]
    assert "Bitte bestätigen Sie einen neuen Termin" in proposed.subject
    assert "Auf den Vorschlag antworten:" in proposed.body_text
    assert "Ihre Buchung ist bestätigt." in mails["request.confirmed"].body_text
    sent = mails["estimate.sent"]
    assert "Ihr Kostenvoranschlag liegt bereit" in sent.subject and "Kostenvoranschlag prüfen:" in sent.body_text
    assert "Summe 642,60\xa0€." in sent.body_text  # the amount by the German reader's rules
    waiting = mails["invoice.awaiting_authorization"]
    assert "Freigabe erforderlich" in waiting.subject and "Rechnung freigeben:" in waiting.body_text
    opened = mails["invoice.open"]
    assert re.search(r"Neue Rechnung: Rechnung INV-\d+: [\d.]+,\d\d\s€ fällig am \d\d\.\d\d\.\d{4}", opened.subject)
    assert "Rechnung ansehen und bezahlen:" in opened.body_text
    assert "Vielen Dank: Rechnung" in mails["invoice.paid"].subject
    assert "Gute Nachricht: Die Arbeit ist erledigt." in mails["work_order.ready"].body_text
    assert "Ihre Sendung ist angekommen" in mails["shipment.received"].body_text
    assert "Sendung ansehen:" in mails["shipment.received"].body_text
    notes = [n.title for n in db.session.scalars(select(Notification).where(
        Notification.customer_id == german["customer"].id))]
    assert any(title.startswith("Rechnung INV-") and "fällig am" in title for title in notes)


def test_an_english_customers_mails_stay_english(english):
    mails = english["mails"]
    assert set(EVENTS) <= set(mails), sorted(set(EVENTS) - set(mails))
    for event in EVENTS:
        assert mails[event].body_text.startswith("Hello "), event
        assert "Hallo" not in mails[event].body_text and "Sie" not in mails[event].body_text.split()
    assert "Thank you for your service request." in mails["request.received"].body_text
    assert re.search(r"Preferred: \d{1,2} \w{3} \d{4} \(morning\)\.", mails["request.received"].body_text)
    assert "Please confirm a new time" in mails["request.time_proposed"].subject
    assert "Total €642.60." in mails["estimate.sent"].body_text
    assert re.search(r"New invoice: Invoice INV-\d+: €[\d,]+\.\d\d due \d{1,2} \w{3} \d{4}",
                     mails["invoice.open"].subject)
    assert "Authorize the invoice:" in mails["invoice.awaiting_authorization"].body_text
    assert "Good news: the work is done." in mails["work_order.ready"].body_text
    assert "Your shipment has arrived" in mails["shipment.received"].body_text


def test_the_shared_staff_feed_is_worded_in_the_shops_default_language(db):
    settings = get_settings()
    settings.default_language, settings.staff_email = "de", "werkstatt@example.com"
    db.session.commit()
    english = CustomerFactory(language="en")
    person = actor(make_user("Customer", customer=english))
    db.session.commit()
    with current_app.test_request_context("/", headers={"Accept-Language": "en"}):
        req = requests.submit(person, service_type_id=ServiceTypeFactory().id, subject="Noisy fan",
                              preferred_date=dt.date.today() + dt.timedelta(days=3), preferred_slot="morning")
        requests.perform(req, "cancel", person, reason="")
    titles = [n.title for n in db.session.scalars(select(Notification).where(Notification.audience == "staff")
                                                  .order_by(Notification.id))]
    assert titles == [f"Neue Serviceanfrage {req.number}: Noisy fan", f"{req.number} wurde vom Kunden storniert"]
    staff_mail = db.session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == "werkstatt@example.com",
                                                             OutboxEmail.event == "request.submitted"))
    assert "Eine neue Serviceanfrage wartet auf ihre Buchung." in staff_mail.body_text
    assert "Anfrage öffnen:" in staff_mail.body_text
    customer_mail = db.session.scalar(select(OutboxEmail).where(OutboxEmail.event == "request.received"))
    assert "Thank you for your service request." in customer_mail.body_text  # the customer's own: English
