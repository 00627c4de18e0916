"""Booking from real availability in a real Chromium (issue 13's "not done until").

Jane picks a free time in the portal and staff see it on the calendar; a counter-proposal is booked from
the board card and the booked time is the proposed one in the portal, the e-mail and the ``.ics``; a window
is full for every start inside it; the availability endpoint and the screens agree.

The workshop is open every day 07:00–21:00 on a 60-minute grid with one place per slot, so the test does
not depend on the weekday it runs on; every time is taken from what the screens offer.
"""
from __future__ import annotations

import base64
import datetime as dt

import icalendar
import pytest
from sqlalchemy import select

from app.core import formatting
from app.extensions import db as database
from app.models import OutboxEmail, ServiceRequest
from app.services import availability, catalog, requests
from tests.api_support import Api, login_token
from tests.factories import CustomerFactory, ServiceLocationFactory, ServiceTypeFactory, actor, make_user

pytestmark = pytest.mark.browser

EVERY_DAY = {f"hours_{day}": "07:00-21:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture()
def shop(db):
    customer = CustomerFactory(name="Jane Doe", email="jane@example.com")
    jane = make_user("Customer", username="jane-books", customer=customer, email="jane@example.com")
    manager = make_user("Manager", username="cal-manager")
    advisor = make_user("Advisor", username="cal-advisor")
    inspection = ServiceTypeFactory(name="Inspection", booking_mode="instant")
    repair = ServiceTypeFactory(name="Repair")
    workshop = ServiceLocationFactory(name="Workshop", slot_capacity=1)
    db.session.commit()
    catalog.perform(workshop, "edit", actor(manager), {"slot_minutes": 60, **EVERY_DAY})
    return dict(customer=customer, jane=jane, manager=manager, advisor=advisor, inspection=inspection,
                repair=repair, workshop=workshop)


def _invitation(event_name: str, req_id: int) -> icalendar.Event:
    database.session.expire_all()
    number = database.session.get(ServiceRequest, req_id).number
    mail = database.session.scalars(select(OutboxEmail).where(OutboxEmail.event == event_name)
                                    .order_by(OutboxEmail.id.desc())).first()
    assert mail is not None and number in mail.subject, (event_name, number)
    calendar = icalendar.Calendar.from_ical(base64.b64decode(mail.attachments[0]["data"]))
    return next(iter(calendar.walk("VEVENT")))


def test_jane_picks_a_free_time_and_staff_see_it_on_the_calendar(shop, live_server, page, browser_login,
                                                                  screenshot, client):
    browser_login(page, "jane-books")
    page.goto(f"{live_server}/portal/requests/new")
    page.select_option("#service_type_id", str(shop["inspection"].id))
    page.select_option("#service_location_id", str(shop["workshop"].id))
    first = page.locator("#slot-picker input[name=slot]:not([value=''])").first
    first.wait_for()  # the picker reloaded itself for the chosen service and location
    chosen = first.get_attribute("value")
    # the endpoint gives the same free times as the screen
    api = Api(client, login_token(client, "jane-books"))
    answer = api.get("/availability/", query_string={"service_type": shop["inspection"].id,
                                                     "location": shop["workshop"].id}).get_json()
    shown = page.locator("#slot-picker input[name=slot]:not([value=''])").evaluate_all(
        "inputs => inputs.map(i => i.value)")
    assert shown == [s["local_start"][:16] for s in answer["slots"]]
    database.session.rollback()  # the test's own reads end before the browser writes (SQLite: one writer)
    first.check()
    page.fill("#subject", "Annual inspection of the blue van")
    page.select_option("#address_id", "")  # at the workshop: no address needed
    screenshot(page, "booking-pick-a-free-time")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_load_state("networkidle")
    assert "Booked:" in page.content(), page.locator("main").inner_text()
    req = database.session.scalar(select(ServiceRequest).where(ServiceRequest.subject.like("Annual%")))
    local = availability.to_local(req.scheduled_start).strftime("%Y-%m-%dT%H:%M")
    assert (req.status, local) == ("accepted", chosen)

    # the window is full for every start inside it: not offered any more, 30 minutes later refused too
    again = api.get("/availability/", query_string={"service_type": shop["inspection"].id,
                                                    "location": shop["workshop"].id}).get_json()
    assert chosen not in [s["local_start"][:16] for s in again["slots"]]
    database.session.rollback()
    other = requests.submit(actor(shop["jane"]), service_type_id=shop["repair"].id, subject="Second van",
                            service_location_id=shop["workshop"].id, preferred_date=req.scheduled_start.date(),
                            preferred_slot="morning")
    with pytest.raises(requests.ValidationFailed) as refused:
        requests.perform(other, "confirm", actor(shop["advisor"]),
                         start=(dt.datetime.fromisoformat(chosen) + dt.timedelta(minutes=30)).isoformat())
    assert "is fully booked" in str(refused.value.errors["start"])
    database.session.commit()

    # staff see it on the calendar, on the day and in the week
    page.context.clear_cookies()
    browser_login(page, "cal-advisor")
    page.goto(f"{live_server}/calendar/?view=week&day={chosen[:10]}&location={shop['workshop'].id}")
    assert req.number in page.content() and "Annual inspection" in page.content()
    screenshot(page, "booking-calendar-week")


def test_a_counter_proposal_is_booked_from_the_board_card(shop, live_server, page, browser_login, screenshot):
    jane, advisor = actor(shop["jane"]), actor(shop["advisor"])
    free = availability.next_free(shop["repair"], shop["workshop"], availability.utcnow() + dt.timedelta(days=2),
                                  count=6)
    req = requests.submit(jane, service_type_id=shop["repair"].id, subject="Gearbox whines",
                          service_location_id=shop["workshop"].id, preferred_date=free[0].local_start.date(),
                          preferred_slot="morning")
    requests.perform(req, "propose", advisor, start=free[1].local_start.replace(tzinfo=None).isoformat())
    requests.perform(req, "propose", jane, start=free[4].local_start.replace(tzinfo=None).isoformat(),
                     note="Later suits me better")
    req_id, proposed = req.id, free[4].start
    database.session.commit()

    browser_login(page, "cal-advisor")
    page.goto(f"{live_server}/bookingboard/")
    card = page.locator(f"#card-{req_id}")
    day, clock = formatting.date(proposed, "weekday_day", locale="en"), formatting.time(proposed, locale="en")
    label = f"Book {day} {clock} as proposed"  # "Book Sat 5 Dec 19:00 as proposed"
    assert "1 of 1 free" in card.inner_text()
    screenshot(page, "booking-board-counter-proposal")
    card.get_by_role("button", name=label).click()
    page.wait_for_load_state("networkidle")
    assert page.locator(f"#column-accepted #card-{req_id}").is_visible()

    database.session.expire_all()
    booked = database.session.get(ServiceRequest, req_id)
    assert booked.status == "accepted" and booked.scheduled_start == proposed
    event = _invitation("request.confirmed", req_id)
    assert event.decoded("DTSTART") == proposed.replace(tzinfo=dt.UTC)
    database.session.rollback()

    page.context.clear_cookies()
    browser_login(page, "jane-books")
    page.goto(f"{live_server}/portal/requests/{req_id}")
    assert f"Booked for {formatting.datetime(proposed, 'full', locale='en')}." in page.content()
    screenshot(page, "booking-portal-booked-as-proposed")
