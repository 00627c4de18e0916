"""A customer's world for the portal page tests: every document in a state the portal acts on, made
through the service layer (as the shop and the customer would), for two customers."""
from __future__ import annotations

import datetime as dt

from app.extensions import db
from app.models import Address, WorkItem
from app.services import estimates, invoices, requests, work_orders
from tests.factories import (
    CustomerFactory,
    ServiceLocationFactory,
    ServiceTypeFactory,
    UnitFactory,
    actor,
    make_user,
    tomorrow,
)

LINES = [
    {"description": "Replace compressor", "hours": "2.50", "rate": "80.00",
     "parts": [{"part_number": "C-1", "description": "Compressor", "quantity": "1", "unit_price": "300.00"}]},
    {"description": "Leak test", "hours": "0.50", "rate": "80.00", "parts": []},
]


def in_days(days: int, hour: int = 10) -> dt.datetime:
    """A shop-local time ``days`` from now (naive, as the forms post it)."""
    return (dt.datetime.now() + dt.timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def shop_people():
    staff = actor(make_user("Advisor"))
    tech = actor(make_user("Technician"))
    return staff, tech


def build_customer(name: str, staff, tech, *, service_type, location, username: str | None = None,
                   requires_authorization: bool = True, kind: str = "business", role: str = "Customer") -> dict:
    """One customer with a portal user and: a new request, a request with a proposed time, a sent estimate,
    an order in the workshop, a completed order with an issued invoice and a draft estimate."""
    customer = CustomerFactory(name=name, kind=kind, requires_invoice_authorization=requires_authorization)
    address = Address(customer=customer, label="Depot", line1=f"1 {name} Road", city="Town", postal_code="12345")
    db.session.add(address)
    unit = UnitFactory(customer=customer, make="Carrier", model="X-Cool", unit_number=f"{name[:3].upper()}-1",
                       serial_number=f"SER-{name.upper()}-1", imei=None)
    phone = UnitFactory(customer=customer, kind="device", make="Fairphone", model="5", serial_number=None,
                        imei="490154203237518" if name == "Arctic" else "356938035643809")
    user = make_user(role, customer=customer, username=username)
    db.session.commit()
    me = actor(user)

    def submit(subject, **extra):
        fields = dict(service_type_id=service_type.id, subject=subject, preferred_date=tomorrow(),
                      preferred_slot="morning", unit_id=unit.id, address_id=address.id,
                      service_location_id=location.id)
        fields.update(extra)
        return requests.submit(me, **fields)

    new_request = submit(f"{name} new request")
    proposed = submit(f"{name} proposed request")
    requests.perform(proposed, "propose", staff, start=in_days(3), note="We are free on that day")

    estimated = submit(f"{name} estimated request", estimate_required=True)
    estimate = requests.perform(estimated, "confirm", staff, start=in_days(5), estimate=True)
    estimates.perform(estimate, "edit", staff, labour_lines=LINES)
    estimates.perform(estimate, "submit", staff)

    draft_request = submit(f"{name} draft estimate request")
    draft_estimate = requests.perform(draft_request, "confirm", staff, start=in_days(6, 11), estimate=True)

    approved_request = submit(f"{name} approved request")
    approved = requests.perform(approved_request, "confirm", staff, start=in_days(7), estimate=True)
    estimates.perform(approved, "edit", staff, labour_lines=LINES)
    estimates.perform(approved, "submit", staff)
    done_order = estimates.perform(approved, "approve", me)
    done_order.customer_reference = f"PO-{name.upper()}-7"
    done_order.internal_reference = f"INT-{name.upper()}-7"
    done_order.public_notes = f"{name} public note"
    done_order.internal_notes = f"{name} SECRET internal note"
    db.session.commit()
    work_orders.perform(done_order, "receive", staff)
    work_orders.perform(done_order, "clock_on", tech)
    work_orders.perform(done_order, "messages", staff, text=f"{name} public message from the shop")
    work_orders.perform(done_order, "messages", staff, text=f"{name} SECRET internal message", public=False)
    work_orders.perform(done_order, "ready", tech)
    work_orders.perform(done_order, "complete", staff)
    invoice = work_orders.perform(done_order, "invoice", staff)
    invoices.perform(invoice, "submit", staff)

    workshop_order = work_orders.create(staff, customer_id=customer.id, kind="repair", unit_id=phone.id,
                                        fault=f"{name} cracked screen", customer_reference=f"PO-{name.upper()}-9",
                                        tracking_number=f"TRK{name.upper()}9")
    db.session.add(WorkItem(work_order=workshop_order, kind="labour", description="Replace screen",
                            quantity=1, unit_price=50))
    db.session.commit()
    work_orders.perform(workshop_order, "receive", staff)

    return dict(customer=customer, user=user, actor=me, address=address, unit=unit, phone=phone,
                new_request=new_request, proposed=proposed, estimated=estimated, estimate=estimate,
                draft_estimate=draft_estimate, approved=approved, done_order=done_order, invoice=invoice,
                workshop_order=workshop_order)


def build_world() -> dict:
    staff, tech = shop_people()
    service_type = ServiceTypeFactory(name="Refrigeration repair")
    location = ServiceLocationFactory(name="Main depot")
    db.session.commit()
    common = dict(service_type=service_type, location=location)
    mine = build_customer("Arctic", staff, tech, **common)
    theirs = build_customer("Polar", staff, tech, requires_authorization=False, **common)
    return dict(staff=staff, tech=tech, mine=mine, theirs=theirs, **common)
