"""The booking board in a real Chromium: an advisor confirms a request from its card."""
from __future__ import annotations

import datetime as dt

import pytest

from app.extensions import db as database
from app.models import ServiceRequest
from app.services import requests
from tests.factories import CustomerFactory, ServiceTypeFactory, UnitFactory, actor, make_user

pytestmark = pytest.mark.browser


def test_confirm_a_request_from_its_card(db, live_server, page, browser_login, screenshot):
    customer = CustomerFactory(name="Jane Doe")
    make_user("Advisor", username="board-advisor")
    jane = actor(make_user("Customer", customer=customer))
    service_type = ServiceTypeFactory(name="Fridge repair")
    unit = UnitFactory(customer=customer, make="Coolmax", model="CM-200")
    db.session.commit()
    day = dt.date.today() + dt.timedelta(days=3)
    req = requests.submit(jane, service_type_id=service_type.id, subject="Fridge too warm", preferred_date=day,
                          preferred_slot="afternoon", unit_id=unit.id)
    waiting = requests.submit(jane, service_type_id=service_type.id, subject="Door seal", preferred_date=day,
                              preferred_slot="morning")
    requests.perform(waiting, "propose", actor(make_user("Advisor")), start=dt.datetime.combine(day, dt.time(15)),
                     note="Afternoon instead?")
    req_id = req.id
    db.session.commit()

    browser_login(page, "board-advisor")
    page.goto(f"{live_server}/bookingboard/")
    new_card = page.locator(f"#column-new #card-{req_id}")
    assert new_card.is_visible()
    assert "Jane Doe" in new_card.inner_text() and "Coolmax" in new_card.inner_text()
    assert "Afternoon instead?" in page.locator("#column-time_proposed").inner_text()
    screenshot(page, "booking-board")

    new_card.get_by_role("button", name="Confirm", exact=True).click()
    page.wait_for_load_state("networkidle")

    accepted = page.locator(f"#column-accepted #card-{req_id}")
    assert accepted.is_visible()
    assert "Booked for" in accepted.inner_text()
    assert page.locator(f"#column-new #card-{req_id}").count() == 0
    assert "is booked for" in page.content()
    screenshot(page, "booking-board-confirmed")
    database.session.expire_all()
    assert database.session.get(ServiceRequest, req_id).status == "accepted"


def test_assign_a_technician_on_the_service_board(db, live_server, page, browser_login, screenshot):
    from app.core.settings import to_local
    from app.models import WorkOrder
    from app.services import work_orders

    customer = CustomerFactory(name="Arctic Refrigeration")
    staff = actor(make_user("Advisor", username="service-advisor"))
    tech = make_user("Technician", username="tina")
    db.session.commit()
    order = work_orders.create(staff, customer_id=customer.id, kind="inspection", fault="Annual check")
    order_id = order.id
    db.session.commit()

    browser_login(page, "service-advisor")
    page.goto(f"{live_server}/serviceboard/")
    card = page.locator(f"#column-confirmed #card-{order_id}")
    card.locator("summary", has_text="Assign").click()
    card.locator("select[name=technician_id]").select_option(str(tech.id))
    day = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    card.locator("input[name=scheduled_start]").fill(f"{day}T09:30")
    card.locator("input[name=scheduled_end]").fill(f"{day}T11:00")
    screenshot(page, "service-board")
    card.get_by_role("button", name="Save").click()
    page.wait_for_load_state("networkidle")

    assert f"is assigned to {tech.get_full_name()} for " in page.content()  # by name, not "tina"
    assert "tina" in page.locator(f"#card-{order_id}").inner_text()
    database.session.expire_all()
    saved = database.session.get(WorkOrder, order_id)
    assert saved.technician_id == tech.id
    assert to_local(saved.scheduled_start).strftime("%Y-%m-%dT%H:%M") == f"{day}T09:30"
