"""Opening hours, closed days, the slot grid and capacity (SPEC §8 Booking): what is free, what every
booking and proposal is checked against, how staff type the rules, the availability API, instant booking.

The clock stands still on Sunday 28 February 2027, 12:00 in Berlin (the shop's zone). The week after:
Monday 1 March to Sunday 7 March; Wednesday 3 March is the location's stock-take.
"""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine
from sqlalchemy import func, select

from app.api.availability import slot_json
from app.core.errors import ValidationFailed
from app.core.settings import get_settings, to_local, to_utc
from app.models import ClosedDay, OpeningHours, ServiceRequest, TimeProposal
from app.services import availability, catalog, requests, shop_settings
from tests.api_support import Api, api_as
from tests.factories import CustomerFactory, ServiceLocationFactory, ServiceTypeFactory, actor, make_user

NOW = dt.datetime(2027, 2, 28, 11, 0, tzinfo=dt.UTC)  # Sunday 12:00 in Berlin
MON, TUE, WED, THU, FRI, SAT, SUN = (dt.date(2027, 3, 1) + dt.timedelta(days=n) for n in range(7))
HOURS = {"hours_mon": "08:00-12:00, 13:00-17:00", "hours_tue": "08:00-12:00, 13:00-17:00",
         "hours_wed": "08:00-12:00, 13:00-17:00", "hours_thu": "08:00-12:00, 13:00-17:00",
         "hours_fri": "08:00-12:00, 13:00-17:00", "hours_sat": "09:00-13:00", "hours_sun": ""}
WEEKDAY_STARTS = ["08:00", "09:00", "10:00", "11:00", "13:00", "14:00", "15:00", "16:00"]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture()
def shop(db):
    manager = make_user("Manager")
    customer = CustomerFactory(name="Arctic Refrigeration")
    jane_user = make_user("Customer", customer=customer)
    one_slot = ServiceTypeFactory(name="Check-up")
    two_hours = ServiceTypeFactory(name="Overhaul", duration_minutes=120)
    location = ServiceLocationFactory(name="North depot", slot_capacity=4)
    db.session.commit()
    staff = actor(manager)
    catalog.perform(location, "edit", staff, {"slot_minutes": 60, **HOURS, "closed_days": "2027-03-03 Stock-take"})
    return SimpleNamespace(manager=manager, staff=staff, customer=customer, jane_user=jane_user,
                           jane=actor(jane_user), one_slot=one_slot, two_hours=two_hours, location=location)


def at(text: str) -> dt.datetime:
    """A Berlin wall-clock time ("2027-03-01T15:00") as the naive UTC the database keeps."""
    return to_utc(dt.datetime.fromisoformat(text))


def starts(slots) -> list[str]:
    return [slot.local_start.strftime("%H:%M") for slot in slots]


def new_request(shop, subject="Fridge too warm", service_type=None, day=MON) -> ServiceRequest:
    return requests.submit(shop.jane, service_type_id=(service_type or shop.one_slot).id, subject=subject,
                           preferred_date=day, preferred_slot="morning", service_location_id=shop.location.id)


def book(shop, start: str, times: int = 1, service_type=None) -> list[ServiceRequest]:
    made = []
    for n in range(times):
        req = new_request(shop, subject=f"Booking {start} #{n}", service_type=service_type)
        requests.perform(req, "confirm", shop.staff, start=start)
        assert req.status == "accepted" and req.scheduled_start == at(start)
        made.append(req)
    return made


def refused(req, actor_, action: str, **params) -> ValidationFailed:
    """``action`` is refused with a ValidationFailed at ``start``; the request is left as it was."""
    before = (req.status, req.scheduled_start, len(req.proposals))
    with pytest.raises(ValidationFailed) as caught:
        requests.perform(req, action, actor_, **params)
    assert list(caught.value.errors) == ["start"], caught.value.errors
    assert (req.status, req.scheduled_start, len(req.proposals)) == before
    return caught.value


def booked_at(db, start: dt.datetime) -> int:
    return db.session.scalar(select(func.count(ServiceRequest.id)).where(
        ServiceRequest.status == "accepted", ServiceRequest.scheduled_start == start))


# --- the location's rules, as the edit action stored them ---------------------------------------------

def test_the_edit_action_stores_the_hours_and_the_closed_day(shop, db):
    location = shop.location
    assert location.slot_minutes == 60
    assert [(h.weekday, f"{h.opens:%H:%M}", f"{h.closes:%H:%M}") for h in location.hours] == [
        *[(day, opens, closes) for day in range(5) for opens, closes in (("08:00", "12:00"), ("13:00", "17:00"))],
        (5, "09:00", "13:00")]
    assert availability.hours_text(location, 0) == "08:00-12:00, 13:00-17:00"
    assert availability.hours_text(location, 6) == ""
    assert availability.closed_text(location) == "2027-03-03 Stock-take"
    assert availability.bookable_locations() == [location]


# --- free slots ----------------------------------------------------------------------------------------

def test_monday_offers_the_eight_one_slot_starts(shop):
    slots = availability.free_slots(shop.one_slot, shop.location, MON, MON)
    assert starts(slots) == WEEKDAY_STARTS
    assert all(slot.local_start.date() == MON for slot in slots)
    assert all(slot.end - slot.start == dt.timedelta(hours=1) and (slot.free, slot.capacity) == (4, 4)
               for slot in slots)
    assert [s.value() for s in slots][:2] == ["2027-03-01T08:00", "2027-03-01T09:00"]
    # no service type: one slot, the same starts
    assert starts(availability.free_slots(None, shop.location, MON, MON)) == WEEKDAY_STARTS


def test_a_two_hour_service_gets_only_starts_that_fit_before_lunch_and_closing(shop):
    slots = availability.free_slots(shop.two_hours, shop.location, MON, MON)
    assert starts(slots) == ["08:00", "09:00", "10:00", "13:00", "14:00", "15:00"]
    assert all(slot.end - slot.start == dt.timedelta(hours=2) for slot in slots)
    assert starts(availability.free_slots(shop.two_hours, shop.location, SAT, SAT)) == ["09:00", "10:00", "11:00"]


def test_the_week_has_no_slots_on_sunday_or_the_closed_day(shop):
    days = dict(availability.by_day(availability.free_slots(shop.one_slot, shop.location, MON, SUN)))
    assert sorted(days) == [MON, TUE, THU, FRI, SAT]
    assert starts(days[SAT]) == ["09:00", "10:00", "11:00", "12:00"]
    assert starts(days[THU]) == WEEKDAY_STARTS
    # today (Sunday) is closed anyway, and nothing before now is ever offered
    assert availability.free_slots(shop.one_slot, shop.location, NOW.date(), NOW.date()) == []
    assert availability.free_slots(shop.one_slot, shop.location, MON, MON, after=at("2027-03-01T14:30")) \
        == availability.free_slots(shop.one_slot, shop.location, MON, MON)[-2:]


def test_a_shop_wide_closed_day_closes_the_location_too(shop, db):
    shop_settings.perform(get_settings(), "edit", shop.staff, {"closed_days": "2027-03-02 Carnival"})
    assert availability.free_slots(shop.one_slot, shop.location, TUE, TUE) == []
    error = refused(new_request(shop), shop.staff, "confirm", start="2027-03-02T10:00")
    assert "North depot is closed on Tue, 2 Mar 2027 (Carnival)." in error.message
    assert "The next free times: Thu, 4 Mar 2027, 08:00;" in error.message


# --- a window is full for every start inside it -------------------------------------------------------

def test_a_full_slot_refuses_every_start_that_overlaps_it(shop, db):
    book(shop, "2027-03-01T15:00", times=4)
    assert booked_at(db, at("2027-03-01T15:00")) == 4
    req = new_request(shop, subject="One too many")
    next_free = "The next free times: Mon, 1 Mar 2027, 16:00; Tue, 2 Mar 2027, 08:00; Tue, 2 Mar 2027, 09:00."
    for start in ("2027-03-01T15:00", "2027-03-01T15:01", "2027-03-01T15:30", "2027-03-01T14:30"):
        error = refused(req, shop.staff, "confirm", start=start)
        clock = start[-5:]
        assert f"Mon, 1 Mar 2027, {clock} is fully booked." in error.message, (start, error.message)
        assert next_free in error.message, (start, error.message)
    assert req.status == "new" and booked_at(db, at("2027-03-01T15:00")) == 4

    # 14:00-15:00 ends where the full slot begins: it still books
    requests.perform(req, "confirm", shop.staff, start="2027-03-01T14:00")
    assert (req.status, req.scheduled_start, req.scheduled_end) == (
        "accepted", at("2027-03-01T14:00"), at("2027-03-01T15:00"))

    one = availability.free_slots(shop.one_slot, shop.location, MON, MON)
    assert starts(one) == ["08:00", "09:00", "10:00", "11:00", "13:00", "14:00", "16:00"]
    assert next(s for s in one if s.local_start.hour == 14).free == 3
    two = availability.free_slots(shop.two_hours, shop.location, MON, MON)
    assert starts(two) == ["08:00", "09:00", "10:00", "13:00"]  # 14:00 and 15:00 would run into 15:00


def test_a_two_hour_booking_takes_a_place_in_both_slots(shop, db):
    book(shop, "2027-03-01T09:00", times=4, service_type=shop.two_hours)  # 09:00-11:00
    assert starts(availability.free_slots(shop.one_slot, shop.location, MON, MON)) == \
        ["08:00", "11:00", "13:00", "14:00", "15:00", "16:00"]
    error = refused(new_request(shop), shop.staff, "confirm", start="2027-03-01T10:00")
    assert "Mon, 1 Mar 2027, 10:00 is fully booked." in error.message
    assert "The next free times: Mon, 1 Mar 2027, 11:00; Mon, 1 Mar 2027, 13:00; Mon, 1 Mar 2027, 14:00." \
        in error.message


# --- outside the opening hours, closed, in the past ---------------------------------------------------

@pytest.mark.parametrize("start, reason, next_free", [
    ("2027-03-01T12:30", "Mon, 1 Mar 2027, 12:30 is outside the opening hours of North depot.",
     "Mon, 1 Mar 2027, 13:00; Mon, 1 Mar 2027, 14:00; Mon, 1 Mar 2027, 15:00."),
    ("2027-03-01T07:00", "Mon, 1 Mar 2027, 07:00 is outside the opening hours of North depot.",
     "Mon, 1 Mar 2027, 08:00; Mon, 1 Mar 2027, 09:00; Mon, 1 Mar 2027, 10:00."),
    ("2027-03-01T17:00", "Mon, 1 Mar 2027, 17:00 is outside the opening hours of North depot.",
     "Tue, 2 Mar 2027, 08:00; Tue, 2 Mar 2027, 09:00; Tue, 2 Mar 2027, 10:00."),
    ("2027-03-06T13:00", "Sat, 6 Mar 2027, 13:00 is outside the opening hours of North depot.",
     "Mon, 8 Mar 2027, 08:00; Mon, 8 Mar 2027, 09:00; Mon, 8 Mar 2027, 10:00."),
    ("2027-03-07T10:00", "Sun, 7 Mar 2027, 10:00 is outside the opening hours of North depot.",
     "Mon, 8 Mar 2027, 08:00; Mon, 8 Mar 2027, 09:00; Mon, 8 Mar 2027, 10:00."),
    ("2027-03-03T10:00", "North depot is closed on Wed, 3 Mar 2027 (Stock-take).",
     "Thu, 4 Mar 2027, 08:00; Thu, 4 Mar 2027, 09:00; Thu, 4 Mar 2027, 10:00."),
], ids=["lunch", "before-opening", "at-closing", "saturday-closing", "sunday", "closed-day"])
def test_a_time_the_location_is_not_open_is_refused_naming_the_next_free_times(shop, db, start, reason,
                                                                              next_free):
    req = new_request(shop)
    error = refused(req, shop.staff, "confirm", start=start)
    assert error.message == f"{reason} The next free times: {next_free}"
    assert req.status == "new" and req.scheduled_start is None


def test_a_booking_must_end_inside_the_opening_hours(shop):
    req = new_request(shop, service_type=shop.two_hours)
    for start in ("2027-03-01T11:00", "2027-03-01T16:00", "2027-03-06T12:00"):  # into lunch, past closing
        error = refused(req, shop.staff, "confirm", start=start)
        assert "is outside the opening hours of North depot." in error.message, start
    requests.perform(req, "confirm", shop.staff, start="2027-03-06T11:00")
    assert req.scheduled_end == at("2027-03-06T13:00")


def test_a_time_in_the_past_is_refused(shop):
    req = new_request(shop)
    error = refused(req, shop.staff, "confirm", start="2027-02-26T10:00")  # last Friday, an open day
    assert error.message == "The time cannot be in the past."


def test_confirm_without_a_start_books_the_preferred_time_only_when_it_is_open(shop):
    morning = new_request(shop, day=MON)  # morning: 09:00
    requests.perform(morning, "confirm", shop.staff)
    assert morning.scheduled_start == at("2027-03-01T09:00")
    closed = new_request(shop, day=WED)
    error = refused(closed, shop.staff, "confirm")
    assert "closed on Wed, 3 Mar 2027" in error.message


# --- proposals -------------------------------------------------------------------------------------------

def test_staff_cannot_propose_a_full_or_closed_time(shop, db):
    book(shop, "2027-03-01T15:00", times=4)
    req = new_request(shop)
    error = refused(req, shop.staff, "propose", start="2027-03-01T15:00")
    assert "Mon, 1 Mar 2027, 15:00 is fully booked. The next free times: Mon, 1 Mar 2027, 16:00;" in error.message
    error = refused(req, shop.staff, "propose", start="2027-03-03T10:00")
    assert "North depot is closed on Wed, 3 Mar 2027 (Stock-take)." in error.message
    error = refused(req, shop.staff, "propose", start="2027-03-07T10:00")
    assert "outside the opening hours" in error.message
    assert db.session.scalar(select(func.count(TimeProposal.id))) == 0
    requests.perform(req, "propose", shop.staff, start="2027-03-01T16:00")
    assert req.status == "time_proposed" and req.proposals[-1].start == at("2027-03-01T16:00")


def test_confirm_after_the_customers_counter_proposal_books_the_proposed_time(shop):
    req = new_request(shop)
    requests.perform(req, "propose", shop.staff, start="2027-03-02T10:00")
    error = refused(req, shop.jane, "propose", start="2027-03-03T14:00")  # the customer picks the closed day
    assert "closed on Wed, 3 Mar 2027" in error.message
    requests.perform(req, "propose", shop.jane, start="2027-03-04T14:00", note="Thursday suits me better")
    assert req.status == "new"
    requests.perform(req, "confirm", shop.staff)
    assert (req.status, req.scheduled_start, req.scheduled_end) == (
        "accepted", at("2027-03-04T14:00"), at("2027-03-04T15:00"))
    assert [(p.proposed_by, p.outcome) for p in req.proposals] == [("staff", "superseded"), ("customer", "accepted")]


def test_accepting_a_proposal_whose_slot_filled_up_meanwhile_is_refused(shop, db):
    req = new_request(shop)
    requests.perform(req, "propose", shop.staff, start="2027-03-02T10:00")
    book(shop, "2027-03-02T10:00", times=4)
    error = refused(req, shop.jane, "accept_time")
    assert "Tue, 2 Mar 2027, 10:00 is fully booked." in error.message
    assert req.status == "time_proposed" and booked_at(db, at("2027-03-02T10:00")) == 4


def test_reschedule_into_a_full_or_closed_slot_is_refused(shop, db):
    [req] = book(shop, "2027-03-01T09:00")
    book(shop, "2027-03-01T10:00", times=4)
    for start, words in (("2027-03-01T10:00", "fully booked"), ("2027-03-03T09:00", "closed on"),
                         ("2027-03-01T12:00", "outside the opening hours")):
        error = refused(req, shop.staff, "reschedule", start=start)
        assert words in error.message, start
    assert req.scheduled_start == at("2027-03-01T09:00")
    # moving within the slot it holds does not count itself
    requests.perform(req, "reschedule", shop.staff, start="2027-03-01T11:00")
    assert req.scheduled_start == at("2027-03-01T11:00")


# --- bad rules are refused at their field, never a 500 ------------------------------------------------

@pytest.mark.parametrize("changes, field", [
    ({"slot_minutes": 7}, "slot_minutes"),
    ({"slot_minutes": 0}, "slot_minutes"),
    ({"slot_minutes": -60}, "slot_minutes"),
    ({"slot_minutes": 2000}, "slot_minutes"),
    ({"slot_minutes": "many"}, "slot_minutes"),
    ({"slot_minutes": 90}, "hours_mon"),  # 08:00 is not on a 90-minute grid
    ({"hours_mon": "08:00-12:00, 11:00-13:00"}, "hours_mon"),
    ({"hours_mon": "08:30-12:00"}, "hours_mon"),
    ({"hours_tue": "12:00-08:00"}, "hours_tue"),
    ({"hours_wed": "08:00-08:00"}, "hours_wed"),
    ({"hours_thu": "8-12"}, "hours_thu"),
    ({"hours_fri": "25:00-26:00"}, "hours_fri"),
    ({"hours_sun": "morning"}, "hours_sun"),
    ({"closed_days": "next Monday party"}, "closed_days"),
    ({"closed_days": "2027-03-10 Fine\n2027-02-30 Not a day"}, "closed_days"),
    ({"closed_days": "2027-03-10..2027-03-01 Backwards"}, "closed_days"),
    ({"closed_days": "2027-01-01..2029-01-01 Too long"}, "closed_days"),
], ids=lambda value: str(value) if not isinstance(value, dict) else "-".join(f"{k}={v}" for k, v in value.items()))
def test_bad_rules_are_refused_at_their_field(shop, db, changes, field):
    with pytest.raises(ValidationFailed) as caught:
        catalog.perform(shop.location, "edit", shop.staff, changes)
    assert field in caught.value.errors, caught.value.errors
    db.session.expire_all()
    location = shop.location
    assert location.slot_minutes == 60
    assert availability.hours_text(location, 0) == "08:00-12:00, 13:00-17:00"
    assert availability.closed_text(location) == "2027-03-03 Stock-take"


@pytest.mark.parametrize("text, words", [
    ("08:00-12:00, 11:00-13:00", "The opening hours overlap: 08:00-12:00 and 11:00-13:00."),
    ("08:30-12:00", "08:30-12:00 is not on the 60-minute slot grid"),
    ("12:00-08:00", "12:00-08:00: the opening time must come before the closing time."),
    ("8-12", "8-12 is not a time range such as 08:00-12:00."),
])
def test_the_messages_say_what_is_wrong_with_the_hours(shop, text, words):
    with pytest.raises(ValidationFailed) as caught:
        catalog.perform(shop.location, "edit", shop.staff, {"hours_mon": text})
    assert list(caught.value.errors) == ["hours_mon"] and len(caught.value.errors["hours_mon"]) == 1
    assert words in caught.value.errors["hours_mon"][0]


def test_a_finer_grid_and_new_hours_are_taken(shop, db):
    catalog.perform(shop.location, "edit", shop.staff, {"slot_minutes": 30, "hours_sun": "10:00-11:30",
                                                        "closed_days": ""})
    db.session.expire_all()
    location = shop.location
    assert location.slot_minutes == 30
    assert starts(availability.free_slots(shop.one_slot, location, SUN, SUN)) == ["10:00", "10:30", "11:00"]
    assert len(availability.free_slots(shop.one_slot, location, MON, MON)) == 16
    assert starts(availability.free_slots(shop.one_slot, location, WED, WED))[:2] == ["08:00", "08:30"]  # reopened
    assert db.session.scalar(select(func.count(ClosedDay.id))) == 0
    assert db.session.scalar(select(func.count(OpeningHours.id))) == 12


def _screen_form(location, **overrides) -> dict:
    form = {"name": location.name, "line1": "", "postal_code": "", "city": location.city or "", "state": "",
            "country": "", "phone": "", "email": "", "slot_minutes": "60", "slot_capacity": "4", "active": "y",
            **HOURS, "closed_days": "2027-03-03 Stock-take"}
    form.update(overrides)
    return form


@pytest.mark.parametrize("overrides, words", [
    ({"slot_minutes": "7"}, "A slot of 7 minutes does not divide the day"),
    ({"slot_minutes": "0"}, "does not divide the day"),
    ({"hours_mon": "08:00-12:00, 11:00-13:00"}, "The opening hours overlap: 08:00-12:00 and 11:00-13:00."),
    ({"hours_mon": "08:30-12:00"}, "is not on the 60-minute slot grid"),
    ({"closed_days": "2027-03-03 Stock-take\nsoon Party"}, "soon Party: start the line with a date"),
], ids=["slot-7", "slot-0", "overlap", "off-grid", "closed-line"])
def test_the_staff_edit_screen_answers_422_with_the_message(shop, db, login_as, overrides, words):
    screen = login_as(shop.manager)
    response = screen.post(f"/servicelocationview/edit/{shop.location.id}",
                           data=_screen_form(shop.location, **overrides))
    assert response.status_code == 422, response.status_code
    assert words in response.get_data(as_text=True)
    db.session.expire_all()
    assert shop.location.slot_minutes == 60
    assert availability.hours_text(shop.location, 0) == "08:00-12:00, 13:00-17:00"


def test_the_staff_edit_screen_shows_and_saves_the_rules(shop, db, login_as):
    screen = login_as(shop.manager)
    page = screen.get(f"/servicelocationview/edit/{shop.location.id}").get_data(as_text=True)
    assert 'value="08:00-12:00, 13:00-17:00"' in page and "2027-03-03 Stock-take" in page
    response = screen.post(f"/servicelocationview/edit/{shop.location.id}",
                           data=_screen_form(shop.location, hours_sat="", closed_days="2027-03-04 Inventory"))
    assert response.status_code == 302
    db.session.expire_all()
    assert availability.hours_text(shop.location, 5) == ""
    assert availability.closed_text(shop.location) == "2027-03-04 Inventory"
    assert sorted(dict(availability.by_day(availability.free_slots(None, shop.location, MON, SUN)))) == [
        MON, TUE, WED, FRI]


# --- the availability API --------------------------------------------------------------------------------

def test_the_api_answers_exactly_what_free_slots_says(shop, db, client):
    book(shop, "2027-03-01T09:00", times=2)
    book(shop, "2027-03-01T15:00", times=4)
    api = api_as(client, shop.jane_user)
    for service_type in (shop.one_slot, shop.two_hours):
        response = api.get("/availability/", query_string={"service_type": service_type.id,
                                                            "location": shop.location.id,
                                                            "from": "2027-03-01", "to": "2027-03-07"})
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        expected = availability.free_slots(service_type, shop.location, MON, SUN)
        assert body["slots"] == [slot_json(slot) for slot in expected]
        assert (body["from"], body["to"], body["location"], body["service_type"]) == (
            "2027-03-01", "2027-03-07", shop.location.id, service_type.id)
        assert (body["slot_minutes"], body["capacity"], body["time_zone"]) == (60, 4, "Europe/Berlin")
        assert body["duration_minutes"] == (service_type.duration_minutes or 60)
    # the two-hour type on Monday: 08:00 (2 left at 09:00), 09:00, 10:00, 13:00; 14:00 and 15:00 run into 15:00
    monday = [s for s in body["slots"] if s["local_start"].startswith("2027-03-01")]
    assert [(s["local_start"][11:16], s["free"]) for s in monday] == [
        ("08:00", 2), ("09:00", 2), ("10:00", 4), ("13:00", 4)]
    assert monday[0]["start"].startswith("2027-03-01T07:00") and monday[0]["local_start"] == "2027-03-01T08:00:00+01:00"


def test_the_api_defaults_to_a_week_from_today_and_the_one_bookable_location(shop, db, client):
    ServiceLocationFactory(name="Annex")  # no opening hours: not bookable by slot
    db.session.commit()
    body = api_as(client, shop.jane_user).get("/availability/").get_json()
    assert (body["from"], body["to"], body["location"], body["service_type"]) == (
        "2027-02-28", "2027-03-06", shop.location.id, None)
    assert body["slots"] == [slot_json(s) for s in availability.free_slots(None, shop.location, NOW.date(), SAT)]


def test_the_api_from_alone_asks_for_a_week(shop, client):
    response = api_as(client, shop.jane_user).get("/availability/", query_string={
        "location": shop.location.id, "from": "2027-03-02"})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["from"], body["to"]) == ("2027-03-02", "2027-03-08")
    assert body["slots"] == [slot_json(s) for s in availability.free_slots(None, shop.location, TUE,
                                                                           dt.date(2027, 3, 8))]


def test_the_api_takes_the_longest_range_allowed(shop, client):
    response = api_as(client, shop.jane_user).get("/availability/", query_string={
        "location": shop.location.id, "from": "2027-03-01", "to": "2027-05-01"})  # 62 days
    assert response.status_code == 200, response.get_data(as_text=True)
    assert len(response.get_json()["slots"]) == len(availability.free_slots(
        None, shop.location, MON, dt.date(2027, 5, 1)))


def _inactive_location(shop, db):
    gone = ServiceLocationFactory(name="Old depot")
    db.session.commit()
    catalog.perform(gone, "edit", shop.staff, {"hours_mon": "08:00-12:00", "active": False})
    return gone.id


def _unhoured_location(shop, db):
    plain = ServiceLocationFactory(name="Annex")
    db.session.commit()
    return plain.id


def _inactive_type(shop, db):
    old = ServiceTypeFactory(name="Discontinued", active=False)
    db.session.commit()
    return old.id


@pytest.mark.parametrize("query, field", [
    ({"from": "2027-03-07", "to": "2027-03-01"}, "to"),
    ({"from": "2027-03-01", "to": "2027-05-02"}, "to"),  # 63 days
    ({"from": "2027-02-30"}, "from"),
    ({"from": "yesterday"}, "from"),
    ({"to": "2027-3-1x"}, "to"),
    ({"from": "0001-01-01", "to": "0001-01-07"}, "from"),
    ({"from": "9999-12-30"}, "from"),
    ({"location": 999999}, "location"),
    ({"location": "abc"}, "location"),
    ({"location": "99999999999999999999"}, "location"),
    ({"location": -1}, "location"),
    ({"location": _inactive_location}, "location"),
    ({"location": _unhoured_location}, "location"),
    ({"service_type": 999999}, "service_type"),
    ({"service_type": "x"}, "service_type"),
    ({"service_type": _inactive_type}, "service_type"),
], ids=["from-after-to", "63-days", "feb-30", "word", "garbled-to", "year-1", "year-9999", "unknown-location",
        "location-word", "location-huge", "location-negative", "inactive-location", "location-without-hours",
        "unknown-type", "type-word", "inactive-type"])
def test_bad_questions_are_answered_422_in_json(shop, db, client, query, field):
    query = {key: value(shop, db) if callable(value) else value for key, value in query.items()}
    query.setdefault("location", shop.location.id)
    response = api_as(client, shop.jane_user).get("/availability/", query_string=query)
    assert response.status_code == 422, (response.status_code, response.get_data(as_text=True))
    assert response.is_json
    assert field in response.get_json()["message"], response.get_json()


def test_the_api_refuses_to_guess_between_two_bookable_locations(shop, db, client):
    south = ServiceLocationFactory(name="South depot")
    db.session.commit()
    catalog.perform(south, "edit", shop.staff, {"hours_tue": "08:00-12:00"})
    response = api_as(client, shop.jane_user).get("/availability/")
    assert response.status_code == 422 and "location" in response.get_json()["message"]
    body = api_as(client, shop.jane_user).get("/availability/", query_string={"location": south.id}).get_json()
    assert [s["local_start"][:16] for s in body["slots"]] == [
        "2027-03-02T08:00", "2027-03-02T09:00", "2027-03-02T10:00", "2027-03-02T11:00"]


def test_the_api_a_location_without_hours_says_why(shop, db, client):
    plain = ServiceLocationFactory(name="Annex")
    db.session.commit()
    response = api_as(client, shop.jane_user).get("/availability/", query_string={"location": plain.id})
    assert response.status_code == 422
    assert response.get_json()["message"] == {
        "location": ["Annex takes requests without fixed times: it has no opening hours."]}


def test_the_api_wants_a_login(shop, client):
    response = client.get("/api/v1/availability/", query_string={"location": shop.location.id})
    assert response.status_code == 401 and response.is_json
    assert Api(client, "not-a-token").get("/availability/").status_code in (401, 422)


def test_the_openapi_document_lists_availability(shop, client):
    spec = api_as(client, shop.jane_user).get("/api/v1/_openapi")
    assert spec.status_code == 200
    operation = spec.get_json()["paths"]["/api/v1/availability/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"service_type", "location", "from", "to"}
    assert {"200", "401", "422"} <= set(operation["responses"])


# --- instant booking --------------------------------------------------------------------------------------

def _instant_type(db):
    quick = ServiceTypeFactory(name="Tyre change", booking_mode="instant")
    db.session.commit()
    return quick


def _pick(shop, service_type, slot: str, subject="Winter tyres") -> ServiceRequest:
    return requests.submit(shop.jane, service_type_id=service_type.id, subject=subject,
                           service_location_id=shop.location.id, slot=slot)


def _count(db) -> int:
    return db.session.scalar(select(func.count(ServiceRequest.id)))


def test_instant_booking_books_the_chosen_slot_at_once(shop, db):
    from app.models import OutboxEmail

    req = _pick(shop, _instant_type(db), "2027-03-01T09:00")
    db.session.expire_all()
    assert (req.status, req.scheduled_start, req.scheduled_end) == (
        "accepted", at("2027-03-01T09:00"), at("2027-03-01T10:00"))
    assert to_local(req.scheduled_start).strftime("%Y-%m-%d %H:%M") == "2027-03-01 09:00"
    assert (req.preferred_date, req.preferred_slot, req.preferred_time) == (MON, "custom", dt.time(9, 0))
    assert req.confirmed_at is not None
    mail = db.session.scalars(select(OutboxEmail).where(OutboxEmail.event == "request.confirmed")).all()
    assert len(mail) == 1 and mail[0].attachments[0]["filename"] == f"{req.number}.ics"
    slot = next(s for s in availability.free_slots(None, shop.location, MON, MON) if s.local_start.hour == 9)
    assert slot.free == 3


def test_instant_booking_of_a_full_slot_is_refused_at_the_slot_and_saves_nothing(shop, db):
    quick = _instant_type(db)
    book(shop, "2027-03-01T09:00", times=4)
    before = _count(db)
    with pytest.raises(ValidationFailed) as caught:
        _pick(shop, quick, "2027-03-01T09:00")
    assert list(caught.value.errors) == ["slot"]
    assert caught.value.message == ("Mon, 1 Mar 2027, 09:00 is fully booked. The next free times: "
                                    "Mon, 1 Mar 2027, 10:00; Mon, 1 Mar 2027, 11:00; Mon, 1 Mar 2027, 13:00.")
    assert _count(db) == before
    assert booked_at(db, at("2027-03-01T09:00")) == 4


@pytest.mark.parametrize("slot, words", [
    ("2027-03-01T12:00", "outside the opening hours"),
    ("2027-03-03T09:00", "closed on Wed, 3 Mar 2027 (Stock-take)"),
    ("next tuesday", "Choose one of the free times shown."),
], ids=["lunch", "closed", "nonsense"])
def test_instant_booking_of_a_time_that_is_not_free_is_refused_at_the_slot(shop, db, slot, words):
    before = _count(db)
    with pytest.raises(ValidationFailed) as caught:
        _pick(shop, _instant_type(db), slot)
    assert list(caught.value.errors) == ["slot"] and words in caught.value.message, caught.value.errors
    assert _count(db) == before


def test_instant_booking_of_a_past_time_is_refused(shop, db):
    quick = _instant_type(db)
    catalog.perform(shop.location, "edit", shop.staff, {"hours_sun": "08:00-17:00"})  # open today
    with pytest.raises(ValidationFailed) as caught:
        _pick(shop, quick, "2027-02-28T09:00")  # today, three hours ago
    assert caught.value.errors == {"slot": ["This time has passed. Choose one of the free times shown."]}
    with pytest.raises(ValidationFailed) as caught:
        _pick(shop, quick, "2027-02-26T09:00")  # last Friday
    assert caught.value.errors == {"slot": ["This time has passed. Choose one of the free times shown."]}
    assert _count(db) == 0
    req = _pick(shop, quick, "2027-02-28T13:00")  # later today is still bookable
    assert (req.status, req.scheduled_start) == ("accepted", at("2027-02-28T13:00"))


def test_a_slot_needs_a_location_booked_by_slot(shop, db):
    with pytest.raises(ValidationFailed) as caught:
        requests.submit(shop.jane, service_type_id=_instant_type(db).id, subject="Tyres", slot="2027-03-01T09:00")
    assert list(caught.value.errors) == ["slot"]
    assert _count(db) == 0


def test_a_request_only_type_keeps_the_slot_as_the_wish(shop, db):
    req = _pick(shop, shop.one_slot, "2027-03-01T09:00")
    db.session.expire_all()
    assert (req.status, req.scheduled_start) == ("new", None)
    assert (req.preferred_date, req.preferred_slot, req.preferred_time) == (MON, "custom", dt.time(9, 0))
    # the board confirms the wish: the preferred time
    requests.perform(req, "confirm", shop.staff)
    assert req.scheduled_start == at("2027-03-01T09:00")


def test_a_request_only_type_refuses_a_full_slot_as_the_wish(shop, db):
    book(shop, "2027-03-01T09:00", times=4)
    before = _count(db)
    with pytest.raises(ValidationFailed) as caught:
        _pick(shop, shop.one_slot, "2027-03-01T09:00")
    assert list(caught.value.errors) == ["slot"] and "fully booked" in caught.value.message
    assert _count(db) == before
