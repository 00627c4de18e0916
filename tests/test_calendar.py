"""The shop calendar (issue 13.4): the day / week screen, "Move to" through ``reschedule``, the private feeds
(rotate, parse with ``icalendar``, no prices, old URL 404), who may open what, and a bounded query count."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal

import pytest
from icalendar import Calendar
from sqlalchemy import select

from app.core.errors import PermissionDenied
from app.core.settings import get_settings, shop_today, to_local, to_utc
from app.models import AuditEvent, CalendarFeed, Invoice, ServiceRequest, WorkItem, WorkOrder
from app.services import accounts, catalog, numbering, requests, work_orders
from tests.factories import (
    CustomerFactory,
    ServiceLocationFactory,
    ServiceTypeFactory,
    UnitFactory,
    actor,
    make_user,
    page_statements,
)

CAL = "/calendar/"
#: A day well ahead, so every booking on it is in the future.
DAY = dt.date.today() + dt.timedelta(days=10)


def flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


def at(day: dt.date, hour: int, minute: int = 0) -> str:
    """A shop-local time as a ``datetime-local`` input sends it."""
    return dt.datetime.combine(day, dt.time(hour, minute)).strftime("%Y-%m-%dT%H:%M")


def utc(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return to_utc(dt.datetime.combine(day, dt.time(hour, minute)))


def section(html: str, day: dt.date) -> str:
    match = re.search(rf'<section[^>]*id="day-{day.isoformat()}".*?</section>', html, re.S)
    assert match, f"no section for {day}"
    return match.group(0)


@pytest.fixture()
def shop(db):
    customer = CustomerFactory(name="Arctic Refrigeration")
    other = CustomerFactory(name="Boreal Foods")
    advisor = make_user("Advisor")
    tech = make_user("Technician", username="tina")
    tech.first_name, tech.last_name = "Tina", "Torres"
    other_tech = make_user("Technician", username="otto")
    other_tech.first_name, other_tech.last_name = "Otto", "Olsen"
    jane = make_user("Customer", customer=customer)
    north = ServiceLocationFactory(name="North depot", slot_capacity=1)
    south = ServiceLocationFactory(name="South yard")
    service_type = ServiceTypeFactory(name="Fridge repair")
    unit = UnitFactory(customer=customer, make="Coolmax", model="CM-200", serial_number="SN-77")
    other_unit = UnitFactory(customer=other, make="Frosty", model="F9", serial_number="SN-88")
    db.session.commit()
    return dict(customer=customer, other=other, advisor=advisor, staff=actor(advisor), tech=tech,
                other_tech=other_tech, jane=actor(jane), jane_user=jane, service_type=service_type, north=north,
                south=south, unit=unit, other_unit=other_unit)


def book(shop, start: str, location=None, subject="Fridge too warm") -> ServiceRequest:
    location = location or shop["north"]
    req = requests.submit(shop["jane"], service_type_id=shop["service_type"].id, subject=subject,
                          preferred_date=DAY, preferred_slot="morning", unit_id=shop["unit"].id,
                          service_location_id=location.id)
    requests.perform(req, "confirm", shop["staff"], start=start)
    return req


def order(shop, start: dt.datetime, hours: int = 2, tech=None, location=None, customer=None, unit=None) -> WorkOrder:
    return work_orders.create(shop["staff"], customer_id=(customer or shop["customer"]).id,
                              unit_id=(unit or shop["unit"]).id, fault="Compressor check",
                              technician_id=(tech or shop["tech"]).id,
                              service_location_id=(location or shop["north"]).id,
                              scheduled_start=start, scheduled_end=start + dt.timedelta(hours=hours))


def rotate(client, owner: str, pk: int, **args) -> tuple[object, str | None]:
    """POST the feed panel's button; the response and the feed URL it shows (once), if any."""
    response = client.post(CAL + "feed", query_string=args, data={"owner": owner, "id": pk})
    found = re.search(r'value="(https?://[^"]*/calendar/feed/([A-Za-z0-9_-]+)\.ics)"', response.text)
    return response, found.group(1) if found else None


def read_feed(app, url: str):
    return app.test_client().get(url[url.index("/calendar/feed/"):])  # anonymous, like a phone's calendar


# --- the screen -------------------------------------------------------------------------------------------

def test_week_and_day_show_bookings_and_orders_at_shop_time(shop, login_as):
    late = book(shop, at(DAY, 0, 30), subject="Ice maker")  # just after local midnight: the UTC day before
    wo = order(shop, utc(DAY, 14))
    client = login_as(shop["advisor"])

    week = client.get(f"{CAL}?view=week&day={DAY.isoformat()}").text
    monday = DAY - dt.timedelta(days=DAY.weekday())
    assert week.count('<section class="calendar-day') == 7 and f'id="day-{monday.isoformat()}"' in week
    day_html = section(week, DAY)
    for text in (late.number, "00:30–01:30", "Arctic Refrigeration", "Ice maker", "Fridge repair", "Accepted",
                 f'href="/servicerequestview/show/{late.id}"', wo.number, "14:00–16:00", "Coolmax CM-200 (SN-77)",
                 "Tina Torres", f'href="/workorderview/show/{wo.id}"'):
        assert text in day_html, text
    if DAY != monday:
        assert late.number not in section(week, DAY - dt.timedelta(days=1))
    assert to_local(late.scheduled_start).date() == DAY and late.scheduled_start.date() < DAY  # UTC: the day before
    assert "Subscribe" not in week  # no location or technician chosen: no feed panel

    day_view = client.get(f"{CAL}?view=day&day={DAY.isoformat()}").text
    assert day_view.count('<section class="calendar-day') == 1 and late.number in day_view and wo.number in day_view
    previous = (DAY - dt.timedelta(days=1)).isoformat()
    following = (DAY + dt.timedelta(days=1)).isoformat()
    assert f"day={previous}" in day_view and f"day={following}" in day_view
    assert f"day={shop_today().isoformat()}" in day_view  # Today: the shop's day, not the machine's
    empty = client.get(f"{CAL}?view=day&day={following}").text
    assert late.number not in empty and wo.number not in empty and "Nothing scheduled." in empty
    # nonsense parameters are ignored, never a 500
    assert client.get(f"{CAL}?view=month&day=someday&location=x&technician=").status_code == 200


def test_filters_by_location_and_technician(shop, login_as):
    north = book(shop, at(DAY, 9))
    south = book(shop, at(DAY, 9), location=shop["south"])
    mine = order(shop, utc(DAY, 11))
    theirs = order(shop, utc(DAY, 13), tech=shop["other_tech"], location=shop["south"], customer=shop["other"],
                   unit=shop["other_unit"])
    client = login_as(shop["advisor"])
    base = f"{CAL}?view=day&day={DAY.isoformat()}"
    html = client.get(base).text
    assert all(row.number in html for row in (north, south, mine, theirs))
    html = client.get(f"{base}&location={shop['north'].id}").text
    assert north.number in html and mine.number in html
    assert south.number not in html and theirs.number not in html
    assert "Subscribe" in html and f'id="feed-location-{shop["north"].id}"' in html
    html = client.get(f"{base}&technician={shop['other_tech'].id}").text
    assert theirs.number in html
    assert mine.number not in html and north.number not in html and south.number not in html  # bookings: no one's
    assert f'id="feed-technician-{shop["other_tech"].id}"' in html


def test_move_to_reschedules_the_booking(shop, login_as, db):
    req = book(shop, at(DAY, 9))
    sequence = req.calendar_sequence
    client = login_as(shop["advisor"])
    html = client.get(f"{CAL}?view=day&day={DAY.isoformat()}").text
    assert f'action="/calendar/{req.id}/reschedule?' in html and 'type="datetime-local"' in html
    new_day = DAY + dt.timedelta(days=1)
    response = client.post(f"{CAL}{req.id}/reschedule", query_string={"view": "day", "day": DAY.isoformat()},
                           data={"start": at(new_day, 15), "expected_version": req.version})
    assert response.status_code == 302
    assert f"day={new_day.isoformat()}" in response.headers["Location"] and "view=day" in response.headers["Location"]
    assert any("is moved to" in m for m in flashes(client))
    db.session.expire_all()
    moved = db.session.get(ServiceRequest, req.id)
    assert moved.status == "accepted" and to_local(moved.scheduled_start).strftime("%Y-%m-%dT%H:%M") == at(new_day, 15)
    assert moved.calendar_sequence == sequence + 1
    assert db.session.scalar(select(AuditEvent.actor_label).where(AuditEvent.action == "reschedule",
                                                                  AuditEvent.entity_id == req.id)) == \
        shop["advisor"].username


def test_a_full_slot_is_refused_with_the_service_message(shop, login_as, db):
    first = book(shop, at(DAY, 9))
    second = book(shop, at(DAY, 10), subject="Second")  # North depot holds one booking per slot
    before = (second.scheduled_start, second.version, second.calendar_sequence)
    client = login_as(shop["advisor"])
    response = client.post(f"{CAL}{second.id}/reschedule",
                           data={"start": at(DAY, 9), "expected_version": second.version})
    assert response.status_code == 302
    messages = flashes(client)
    assert any(second.number in m and "fully booked" in m for m in messages), messages
    db.session.expire_all()
    again = db.session.get(ServiceRequest, second.id)
    assert (again.scheduled_start, again.version, again.calendar_sequence) == before
    assert db.session.get(ServiceRequest, first.id).scheduled_start == utc(DAY, 9)  # the first keeps its place
    # a stale form is refused too; a missing request is 404
    response = client.post(f"{CAL}{second.id}/reschedule", data={"start": at(DAY, 12), "expected_version": 1})
    assert response.status_code == 302 and any("changed by someone else" in m for m in flashes(client))
    db.session.expire_all()
    assert db.session.get(ServiceRequest, second.id).scheduled_start == before[0]
    assert client.post(f"{CAL}999999/reschedule", data={"start": at(DAY, 12)}).status_code == 404


# --- the feeds --------------------------------------------------------------------------------------------

def test_location_feed_parses_has_the_events_and_no_prices(shop, login_as, app, db):
    get_settings().labour_rate = Decimal("87.65")
    req = book(shop, at(DAY, 9))
    wo = order(shop, utc(DAY, 14))
    wo.internal_notes = "Do not tell: the customer still owes us"
    db.session.add(WorkItem(work_order=wo, kind="labour", description="Bench test", quantity=Decimal("1.50"),
                            unit_price=Decimal("87.65")))
    invoice = Invoice(customer_id=shop["customer"].id, work_order_id=wo.id, tax_rate=Decimal("19.00"),
                      subtotal=Decimal("1037.44"), tax=Decimal("197.11"), total=Decimal("1234.55"))
    numbering.assign(invoice)
    db.session.add(invoice)
    far = order(shop, dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=200))  # beyond 180 days
    elsewhere = book(shop, at(DAY, 9), location=shop["south"])
    db.session.commit()

    client = login_as(shop["advisor"])
    response, url = rotate(client, "location", shop["north"].id, view="day", day=DAY.isoformat())
    assert response.status_code == 200 and url, response.text[:500]
    assert url.startswith("http") and "no-store" in response.headers["Cache-Control"]
    assert response.text.count(url) == 1 and "North depot" in response.text
    token = url.rsplit("/", 1)[1][:-len(".ics")]
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.service_location_id == shop["north"].id))
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest() and feed.last_read_at is None
    assert not any(token in (e.reason or "") for e in db.session.scalars(select(AuditEvent)))  # never kept raw
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.entity_type == "service_location",
                                                             AuditEvent.action == "rotate_feed")) == "rotate_feed"

    answer = read_feed(app, url)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert answer.headers["Cache-Control"] == "private, no-store"
    body = answer.get_data(as_text=True)
    cal = Calendar.from_ical(answer.data)
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {f"{req.number}@portico", f"{wo.number}@portico"}  # not the far one nor South yard's
    assert req.number.startswith("REQ-") and wo.number.startswith("WO-")
    booking = events[f"{req.number}@portico"]
    assert booking.decoded("DTSTART") == req.scheduled_start.replace(tzinfo=dt.UTC)
    assert int(booking["SEQUENCE"]) == req.calendar_sequence
    assert events[f"{wo.number}@portico"].decoded("DTSTART") == wo.scheduled_start.replace(tzinfo=dt.UTC)
    assert events[f"{wo.number}@portico"].decoded("DTEND") == wo.scheduled_end.replace(tzinfo=dt.UTC)
    assert f"/servicerequestview/show/{req.id}" in body and far.number not in body and elsewhere.number not in body
    assert "Technician: Tina Torres" in body and f"/workorderview/show/{wo.id}" in body
    for money in ("87.65", "1234.55", "1,234.55", "1037.44", "197.11", "EUR", "€", "owes"):
        assert money not in body, money
    db.session.expire_all()
    assert db.session.get(CalendarFeed, feed.id).last_read_at is not None

    # rotating makes the old URL 404 and the new one work; an unknown token is 404 as well
    _response, new_url = rotate(client, "location", shop["north"].id)
    assert new_url and new_url != url
    assert read_feed(app, url).status_code == 404
    assert read_feed(app, new_url).status_code == 200
    assert app.test_client().get("/calendar/feed/not-a-real-token.ics").status_code == 404
    assert db.session.scalar(select(CalendarFeed.id).where(CalendarFeed.service_location_id == shop["north"].id)) \
        == feed.id  # the same row, a new hash

    # an archived location's feed answers 404
    catalog.perform(db.session.get(type(shop["north"]), shop["north"].id), "archive", shop["staff"])
    assert read_feed(app, new_url).status_code == 404


def test_technician_sees_their_own_schedule_and_rotates_their_own_feed(shop, login_as, app, db):
    booking = book(shop, at(DAY, 9))
    mine = order(shop, utc(DAY, 11))
    theirs = order(shop, utc(DAY, 13), tech=shop["other_tech"])
    client = login_as(shop["tech"])
    html = client.get(f"{CAL}?view=week&day={DAY.isoformat()}&technician={shop['other_tech'].id}").text
    assert mine.number in html and f'href="/technicianboard/show/{mine.id}"' in html
    assert theirs.number not in html and booking.number not in html and "/reschedule" not in html
    assert "Otto" not in html  # no technician picker: their own schedule only
    assert f'id="feed-technician-{shop["tech"].id}"' in html

    response, url = rotate(client, "technician", shop["tech"].id)
    assert url, response.text[:500]
    body = read_feed(app, url).get_data(as_text=True)
    uids = {str(e["UID"]) for e in Calendar.from_ical(body).walk("VEVENT")}
    assert uids == {f"{mine.number}@portico"}

    # another technician's feed, a location's feed: refused, nothing made
    for owner, pk, why in (("technician", shop["other_tech"].id, "only your own"),
                           ("location", shop["north"].id, "may not rotate feed")):
        response, url = rotate(client, owner, pk)
        assert response.status_code == 302 and url is None
        assert any(why in m for m in flashes(client)), why
    assert db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == shop["other_tech"].id)) is None
    assert db.session.scalar(select(CalendarFeed).where(CalendarFeed.service_location_id == shop["north"].id)) is None
    assert client.post(f"{CAL}{booking.id}/reschedule", data={"start": at(DAY, 12)}).status_code == 302
    db.session.expire_all()
    assert db.session.get(ServiceRequest, booking.id).scheduled_start == utc(DAY, 9)  # technicians do not move bookings


def test_rotate_feed_rows(shop, db):
    """The effects through ``perform``: a raw token once, only its hash kept; a technician only their own."""
    token = accounts.perform(shop["tech"], "rotate_feed", actor(shop["tech"]))
    stored = db.session.scalar(select(CalendarFeed.token_hash).where(CalendarFeed.user_id == shop["tech"].id))
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored and len(token) >= 40
    with pytest.raises(PermissionDenied):
        accounts.perform(shop["other_tech"], "rotate_feed", actor(shop["tech"]))
    assert accounts.perform(shop["other_tech"], "rotate_feed", shop["staff"]) != token
    assert catalog.perform(shop["south"], "rotate_feed", shop["staff"])
    with pytest.raises(PermissionDenied):
        catalog.perform(shop["south"], "rotate_feed", actor(shop["tech"]))
    accounts.perform(shop["tech"], "archive", shop["staff"])
    from app.services.feeds import feed_ics

    assert feed_ics(token) is None  # an archived login's feed is gone


# --- access -----------------------------------------------------------------------------------------------

def test_customers_and_anonymous_cannot_open_the_calendar(shop, login_as, client):
    req = book(shop, at(DAY, 9))
    response = client.get(CAL)
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
    assert client.post(f"{CAL}{req.id}/reschedule", data={"start": at(DAY, 12)}).status_code == 302
    login_as(shop["jane_user"])
    assert client.get(CAL).status_code == 403
    assert client.post(f"{CAL}{req.id}/reschedule", data={"start": at(DAY, 12)}).status_code == 403
    assert client.post(CAL + "feed", data={"owner": "location", "id": shop["north"].id}).status_code == 403
    assert req.scheduled_start == utc(DAY, 9)


@pytest.mark.parametrize("role", ["Manager", "Admin"])
def test_managers_and_admins_use_the_calendar(shop, login_as, role):
    req = book(shop, at(DAY, 9))
    html = login_as(make_user(role)).get(f"{CAL}?day={DAY.isoformat()}").text
    assert req.number in html and "/reschedule" in html and "Calendar" in html and "Service desk" in html


# --- query count ------------------------------------------------------------------------------------------

def _statements(client, url: str) -> tuple[int, int]:
    return page_statements(client, url)


def _fill(shop, n: int, offset: int) -> None:
    for i in range(n):
        day = DAY - dt.timedelta(days=DAY.weekday() - i % 7)  # the seven days of DAY's week (all ahead)
        book(shop, at(day, 6 + (offset + i) // 7 % 14), location=shop["south"], subject=f"Load {offset + i}")
        order(shop, utc(day, 8 + i % 10), tech=(shop["tech"], shop["other_tech"])[i % 2],
              customer=(shop["customer"], shop["other"])[i % 2], unit=(shop["unit"], shop["other_unit"])[i % 2],
              location=(shop["north"], shop["south"])[i % 2])


def test_week_view_query_count_does_not_grow_with_rows(shop, login_as):
    client = login_as(shop["advisor"])
    url = f"{CAL}?view=week&day={DAY.isoformat()}&location={shop['south'].id}"
    _fill(shop, 2, 0)
    client.get(url)  # warm what is filled once per process
    few = _statements(client, url)
    _fill(shop, 20, 2)
    html = client.get(url).text
    assert html.count('class="calendar-entry calendar-booking"') == 22
    many = _statements(client, url)
    assert few == many, (few, many)
    assert many[1] <= 15, many
