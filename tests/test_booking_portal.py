"""Customers pick a free slot (portal and public form), move a booking, and the board shows what is free.

The shop: a workshop open Monday to Friday 08:00–12:00 and 13:00–17:00 on a 60-minute grid with two places
per slot; "Inspection" is booked at once (instant booking), "Repair" (120 minutes) is a request the board
confirms. Time stands still on Sunday 28 February 2027, 12:00 in Berlin.
"""
from __future__ import annotations

import base64
import datetime as dt
import re

import icalendar
import pytest
import time_machine
from sqlalchemy import func, select

from app.models import OutboxEmail, ServiceRequest
from app.services import availability, catalog, requests
from tests.factories import CustomerFactory, ServiceLocationFactory, ServiceTypeFactory, actor, make_user

NOW = dt.datetime(2027, 2, 28, 11, 0, tzinfo=dt.UTC)  # 12:00 in Berlin
MONDAY = dt.date(2027, 3, 1)


@pytest.fixture()
def shop(db):
    with time_machine.travel(NOW, tick=False):
        customer = CustomerFactory(name="Jane Doe", email="jane@example.test")
        jane = make_user("Customer", customer=customer, email="jane@example.test")
        other = make_user("Customer", customer=CustomerFactory(name="Other Ltd"))
        manager = make_user("Manager")
        advisor = make_user("Advisor")
        inspection = ServiceTypeFactory(name="Inspection", booking_mode="instant")
        repair = ServiceTypeFactory(name="Repair", duration_minutes=120)
        workshop = ServiceLocationFactory(name="Workshop", slot_capacity=2)
        db.session.commit()
        hours = {f"hours_{day}": "08:00-12:00, 13:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")}
        catalog.perform(workshop, "edit", actor(manager), {"slot_minutes": 60, **hours})
        yield dict(customer=customer, jane=jane, other=other, manager=manager, advisor=advisor,
                   inspection=inspection, repair=repair, workshop=workshop)


@pytest.fixture()
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _fields(shop, **extra) -> dict:
    return {"service_type_id": str(shop["inspection"].id), "service_location_id": str(shop["workshop"].id),
            "subject": "Annual inspection", "summary": "The blue van", "address_id": "", "unit_id": "",
            "preferred_date": "", "preferred_slot": "morning", "preferred_time": "", **extra}


def _slots_in(html: str) -> list[str]:
    return re.findall(r'name="slot" value="(\d{4}-\d\d-\d\dT\d\d:\d\d)"', html)


def _count(db) -> int:
    return db.session.scalar(select(func.count(ServiceRequest.id)))


# --- the portal's new request ------------------------------------------------------------------------

def test_the_portal_form_shows_the_free_times_the_api_gives(shop, login_as, frozen, db):
    client = login_as(shop["jane"])
    page = client.post("/portal/requests/new", data=_fields(shop, week=MONDAY.isoformat()))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    shown = _slots_in(html)
    expected = [s.value() for s in availability.free_slots(shop["inspection"], shop["workshop"], MONDAY,
                                                           MONDAY + dt.timedelta(days=6))]
    assert shown == expected and len(shown) == 5 * 8  # five days of eight one-hour slots
    assert "Monday, 1 March" in html and 'value="Annual inspection"' in html  # what was typed is kept
    assert _count(db) == 0  # another week is never a submission
    fragment = client.get("/portal/slots", query_string={"service_type_id": shop["repair"].id,
                                                         "service_location_id": shop["workshop"].id,
                                                         "week": MONDAY.isoformat()})
    repair_starts = _slots_in(fragment.get_data(as_text=True))
    assert repair_starts[:6] == [f"2027-03-01T{h}" for h in ("08:00", "09:00", "10:00", "13:00", "14:00", "15:00")]


def test_an_instant_booking_from_the_portal_is_booked_with_its_invitation(shop, login_as, frozen, db):
    client = login_as(shop["jane"])
    response = client.post("/portal/requests/new", data=_fields(shop, slot="2027-03-01T09:00"))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    req = db.session.scalar(select(ServiceRequest))
    assert req.status == "accepted"
    assert availability.when(req.scheduled_start) == "Mon, 1 Mar 2027, 09:00"
    assert req.scheduled_end - req.scheduled_start == dt.timedelta(minutes=60)
    page = client.get(f"/portal/requests/{req.id}").get_data(as_text=True)
    assert "Booked for Monday, 1 March 2027, 09:00" in page
    mail = db.session.scalar(select(OutboxEmail).where(OutboxEmail.event == "request.confirmed"))
    assert mail is not None and mail.to_address == "jane@example.test"
    invitation = icalendar.Calendar.from_ical(base64.b64decode(mail.attachments[0]["data"]))
    event = next(iter(invitation.walk("VEVENT")))
    assert str(event["UID"]) == f"{req.number}@portico"
    assert event.decoded("DTSTART") == dt.datetime(2027, 3, 1, 8, 0, tzinfo=dt.UTC)


def test_a_slot_taken_meanwhile_keeps_everything_typed_and_names_the_next_free_times(shop, login_as, frozen, db):
    other = actor(shop["other"])
    for n in range(2):  # the two places of Monday 09:00 go while Jane is typing
        requests.submit(other, service_type_id=shop["inspection"].id, service_location_id=shop["workshop"].id,
                        subject=f"Van {n}", slot="2027-03-01T09:00")
    before = _count(db)
    client = login_as(shop["jane"])
    response = client.post("/portal/requests/new", data=_fields(shop, slot="2027-03-01T09:00",
                                                                 subject="Brakes squeal on the blue van"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Mon, 1 Mar 2027, 09:00 is fully booked." in html
    assert "The next free times: Mon, 1 Mar 2027, 10:00" in html
    assert 'value="Brakes squeal on the blue van"' in html
    assert "2027-03-01T09:00" not in _slots_in(html) and "2027-03-01T10:00" in _slots_in(html)
    assert _count(db) == before


def test_a_request_only_type_keeps_the_chosen_time_as_its_wish(shop, login_as, frozen, db):
    client = login_as(shop["jane"])
    response = client.post("/portal/requests/new", data=_fields(
        shop, service_type_id=str(shop["repair"].id), slot="2027-03-02T13:00"))
    assert response.status_code == 302
    req = db.session.scalar(select(ServiceRequest))
    assert (req.status, req.preferred_date, req.preferred_slot, req.preferred_time) == (
        "new", dt.date(2027, 3, 2), "custom", dt.time(13, 0))
    assert requests.booking_default(req) == dt.datetime(2027, 3, 2, 12, 0)  # 13:00 Berlin
    requests.perform(req, "confirm", actor(shop["advisor"]))
    assert req.scheduled_start == dt.datetime(2027, 3, 2, 12, 0)


def test_a_slot_outside_the_grid_or_in_the_past_is_refused_at_the_field(shop, frozen, db):
    jane = actor(shop["jane"])
    for slot, message in (("2027-03-01T09:30", "Choose one of the free times shown."),
                          ("2027-02-27T09:00", "This time has passed."), ("not a time", "Choose one of the free")):
        with pytest.raises(requests.ValidationFailed) as refused:
            requests.submit(jane, service_type_id=shop["inspection"].id, service_location_id=shop["workshop"].id,
                            subject="Van", slot=slot)
        assert message in " ".join(map(str, refused.value.errors["slot"]))
    assert _count(db) == 0


# --- the public form -------------------------------------------------------------------------------------

def _public(shop, **extra) -> dict:
    return {"first_name": "Max", "last_name": "Muster", "email": "max@example.com", "phone": "+49 40 123456",
            "line1": "Hafenstraße 1", "city": "Hamburg", "postal_code": "20457",
            "service_type_id": str(shop["inspection"].id), "service_location_id": str(shop["workshop"].id),
            "preferred_date": "", "preferred_slot": "", "notes": "Yearly check", **extra}


def test_the_public_form_books_a_free_slot_at_once(shop, client, frozen, db):
    page = client.post("/portal/request", data=_public(shop, week=MONDAY.isoformat()))
    assert page.status_code == 200 and "2027-03-03T14:00" in _slots_in(page.get_data(as_text=True))
    response = client.post("/portal/request", data=_public(shop, slot="2027-03-03T14:00"))
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    summary = client.get("/portal/request/summary").get_data(as_text=True)
    assert "Wed, 3 Mar 2027, 14:00" in summary
    token = re.search(r'name="submission_token" value="([^"]+)"', summary).group(1)
    done = client.post("/portal/request/submit", data={"submission_token": token}, follow_redirects=True)
    assert "Booked for Wednesday, 3 March 2027, 14:00." in done.get_data(as_text=True)
    req = db.session.scalar(select(ServiceRequest))
    assert req.status == "accepted" and req.source == "public"
    assert req.service_location_id == shop["workshop"].id


# --- moving a booking -------------------------------------------------------------------------------

def test_the_customer_moves_a_booking_and_gets_the_updated_invitation(shop, login_as, frozen, db):
    req = requests.submit(actor(shop["jane"]), service_type_id=shop["inspection"].id,
                          service_location_id=shop["workshop"].id, subject="Van", slot="2027-03-01T09:00")
    client = login_as(shop["jane"])
    page = client.get(f"/portal/requests/{req.id}").get_data(as_text=True)
    assert "Move my booking" in page and "2027-03-01T11:00" in _slots_in(page)
    response = client.post(f"/portal/requests/{req.id}/reschedule",
                           data={"version": req.version, "slot": "2027-03-01T11:00"})
    assert response.status_code == 302
    db.session.refresh(req)
    assert (req.status, req.calendar_sequence) == ("accepted", 1)
    assert availability.when(req.scheduled_start) == "Mon, 1 Mar 2027, 11:00"
    mail = db.session.scalar(select(OutboxEmail).where(OutboxEmail.event == "request.rescheduled"))
    event = next(iter(icalendar.Calendar.from_ical(base64.b64decode(mail.attachments[0]["data"])).walk("VEVENT")))
    assert (str(event["UID"]), int(event["SEQUENCE"])) == (f"{req.number}@portico", 1)
    refused = client.post(f"/portal/requests/{req.id}/reschedule",
                          data={"version": req.version, "slot": "2027-03-01T12:00"})  # lunch
    assert refused.status_code == 422
    assert "outside the opening hours of Workshop" in refused.get_data(as_text=True)


# --- the board ------------------------------------------------------------------------------------------

def test_the_board_shows_places_and_books_the_counter_proposal_in_one_press(shop, login_as, frozen, db):
    jane = actor(shop["jane"])
    req = requests.submit(jane, service_type_id=shop["repair"].id, service_location_id=shop["workshop"].id,
                          subject="Gearbox", preferred_date=MONDAY, preferred_slot="morning")
    requests.perform(req, "propose", actor(shop["advisor"]), start="2027-03-01T08:00")
    requests.perform(req, "propose", jane, start="2027-03-02T14:00", note="Tuesday afternoon suits me")
    client = login_as(shop["advisor"])
    board = client.get("/bookingboard/").get_data(as_text=True)
    assert "Book Tue 2 Mar 14:00 as proposed" in board
    assert "2 of 2 free" in board
    form = re.search(rf'action="([^"]*/{req.id}/confirm[^"]*)"', board).group(1).replace("&amp;", "&")
    response = client.post(form, data={"expected_version": req.version, "start": "", "estimate": ""})
    assert response.status_code in (302, 303)
    db.session.refresh(req)
    assert req.status == "accepted" and availability.when(req.scheduled_start) == "Tue, 2 Mar 2027, 14:00"
    assert [p.outcome for p in req.proposals] == ["superseded", "accepted"]


# --- the REST API books from its own availability answer ------------------------------------------------

def test_the_api_books_a_slot_it_was_offered(shop, client, frozen, db):
    from tests.api_support import Api, login_token

    api = Api(client, login_token(client, shop["jane"].username))
    answer = api.get("/availability/", query_string={"service_type": shop["inspection"].id,
                                                     "location": shop["workshop"].id, "from": "2027-03-01",
                                                     "to": "2027-03-01"})
    assert answer.status_code == 200, answer.get_json()
    first = answer.get_json()["slots"][0]
    exact = api.get("/api/v1/availability", query_string={"service_type": shop["inspection"].id,  # SPEC §8's path
                                                          "location": shop["workshop"].id, "from": "2027-03-01",
                                                          "to": "2027-03-01"})
    assert exact.status_code == 200 and exact.get_json() == answer.get_json()  # no redirect
    assert first["local_start"] == "2027-03-01T08:00:00+01:00" and first["free"] == 2
    created = api.post("/service_request/", json={"service_type": shop["inspection"].id, "subject": "Van",
                                                  "service_location": shop["workshop"].id,
                                                  "slot": first["local_start"]})
    assert created.status_code == 201, created.get_json()
    item = api.get(f"/service_request/{created.get_json()['id']}").get_json()["result"]
    assert (item["status"], item["scheduled_start"]) == ("accepted", "2027-03-01T07:00:00+00:00")
    again = api.get("/availability/", query_string={"service_type": shop["inspection"].id,
                                                    "location": shop["workshop"].id, "from": "2027-03-01",
                                                    "to": "2027-03-01"}).get_json()["slots"][0]
    assert (again["start"], again["free"]) == (first["start"], 1)
    missing = api.post("/service_request/", json={"service_type": shop["inspection"].id, "subject": "Van"})
    assert missing.status_code == 422 and "preferred_date" in missing.get_json()["message"]
