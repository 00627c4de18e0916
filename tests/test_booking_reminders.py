"""The day-before booking reminder (SPEC §8): due once the shop's reminder time has come (shop time), sent once
per booked time, by mail where the customer wants request mail, with the booking's invitation (.ics); moved
bookings are reminded again and keep their calendar event (same UID, higher SEQUENCE); a cancelled booking
sends a CANCEL. The scheduler runs the reminders as a system job.

Sunday 28 February 2027 in Berlin; the bookings are on Monday 1 and Tuesday 2 March.
"""
from __future__ import annotations

import base64
import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from app.core.settings import get_settings, to_utc
from app.models import Notification, OutboxEmail, ServiceRequest, utcnow
from app.models.customers import NOTIFICATION_GROUPS
from app.scheduler import PorticoScheduler
from app.services import availability, catalog, customers, requests, shop_settings
from tests.factories import CustomerFactory, ServiceLocationFactory, ServiceTypeFactory, actor, make_user

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = "08:00-12:00, 13:00-17:00"


def berlin(day: int, hour: int, minute: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2027, month, day, hour, minute, tzinfo=BERLIN)


SUNDAY = dict(day=28, month=2)


@pytest.fixture()
def shop(db, time_machine):
    time_machine.move_to(berlin(hour=9, **SUNDAY), tick=False)
    manager = make_user("Manager")
    customer = CustomerFactory(name="Arctic Refrigeration")
    jane_user = make_user("Customer", customer=customer, email="jane@example.com")
    service_type = ServiceTypeFactory(name="Check-up")
    location = ServiceLocationFactory(name="North depot", slot_capacity=4)
    db.session.commit()
    staff = actor(manager)
    catalog.perform(location, "edit", staff, {f"hours_{day}": WEEKDAYS for day in ("mon", "tue", "wed", "thu", "fri")})
    shop_settings.perform(get_settings(), "edit", staff, {"reminder_time": "10:00"})
    return SimpleNamespace(staff=staff, customer=customer, jane_user=jane_user, jane=actor(jane_user),
                           service_type=service_type, location=location, clock=time_machine)


def book(shop, start: str, subject="Fridge too warm") -> ServiceRequest:
    day = dt.date.fromisoformat(start[:10])
    req = requests.submit(shop.jane, service_type_id=shop.service_type.id, subject=subject, preferred_date=day,
                          preferred_slot="morning", service_location_id=shop.location.id)
    requests.perform(req, "confirm", shop.staff, start=start)
    assert req.status == "accepted"
    return req


def at(shop, moment: dt.datetime) -> None:
    shop.clock.move_to(moment, tick=False)


def mails(db, event: str, to: str = "jane@example.com") -> list[OutboxEmail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.event == event,
                                                             OutboxEmail.to_address == to)
                                   .order_by(OutboxEmail.id)))


def notes(db, event: str, customer) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(
        Notification.event == event, Notification.audience == "customer", Notification.customer_id == customer.id)))


def invitation(mail: OutboxEmail):
    """The mail's one .ics attachment, parsed: (calendar, its one event)."""
    [attachment] = mail.attachments
    assert attachment["filename"].endswith(".ics")
    cal = Calendar.from_ical(base64.b64decode(attachment["data"]))
    [event] = cal.walk("VEVENT")
    assert attachment["content_type"] == f"text/calendar; method={cal['METHOD']}"
    return cal, event


def utc(naive: dt.datetime) -> dt.datetime:
    return naive.replace(tzinfo=dt.UTC)


def test_the_booking_of_tomorrow_is_reminded_once_after_the_reminder_time(shop, db):
    monday = book(shop, "2027-03-01T09:00")
    late_monday = book(shop, "2027-03-01T16:00", subject="Afternoon")
    tuesday = book(shop, "2027-03-02T08:00", subject="Day after tomorrow")

    at(shop, berlin(hour=9, minute=59, **SUNDAY))  # 08:59 UTC
    assert requests.due_reminders() == []
    assert requests.send_reminders() == 0
    assert mails(db, "request.reminder") == []

    at(shop, berlin(hour=10, minute=5, **SUNDAY))  # 09:05 UTC: past 10:00 in Berlin, not yet in UTC
    assert [r.id for r in requests.due_reminders()] == [monday.id, late_monday.id]
    assert requests.send_reminders() == 2
    reminded = mails(db, "request.reminder")
    assert len(reminded) == 2
    for req, mail in zip((monday, late_monday), reminded, strict=True):
        cal, event = invitation(mail)
        assert str(cal["METHOD"]) == "PUBLISH"
        assert str(event["UID"]) == f"{req.number}@portico"
        assert event.decoded("DTSTART") == utc(req.scheduled_start)
        assert event.decoded("DTEND") == utc(req.scheduled_end)
        assert str(event["STATUS"]) == "CONFIRMED" and int(event["SEQUENCE"]) == 0
        assert req.number in mail.subject and f"/portal/requests/{req.id}" in mail.body_text
    assert len(notes(db, "request.reminder", shop.customer)) == 2
    db.session.expire_all()
    assert db.session.get(ServiceRequest, monday.id).reminder_sent_at == utcnow()
    assert db.session.get(ServiceRequest, tuesday.id).reminder_sent_at is None

    assert requests.send_reminders() == 0  # once
    at(shop, berlin(hour=23, minute=55, **SUNDAY))
    assert requests.send_reminders() == 0
    assert len(mails(db, "request.reminder")) == 2

    at(shop, berlin(1, 10, 1))  # Monday after ten: Tuesday's turn
    assert requests.send_reminders() == 1
    [_, _, third] = mails(db, "request.reminder")
    assert str(invitation(third)[1]["UID"]) == f"{tuesday.number}@portico"


def test_a_customer_without_request_mail_is_reminded_in_the_portal_only(shop, db):
    req = book(shop, "2027-03-01T09:00")
    customers.set_preferences(shop.jane, [group for group in NOTIFICATION_GROUPS if group != "requests"])
    at(shop, berlin(hour=10, minute=5, **SUNDAY))
    assert requests.send_reminders() == 1
    assert mails(db, "request.reminder") == []
    assert db.session.scalars(select(OutboxEmail).where(OutboxEmail.event == "request.reminder")).all() == []
    [note] = notes(db, "request.reminder", shop.customer)
    assert req.number in note.title and note.link == f"/portal/requests/{req.id}"
    assert db.session.get(ServiceRequest, req.id).reminder_sent_at is not None
    assert requests.send_reminders() == 0


def test_a_moved_booking_is_reminded_again_and_keeps_its_calendar_event(shop, db):
    req = book(shop, "2027-03-01T09:00")
    [confirmed] = mails(db, "request.confirmed")
    _, first = invitation(confirmed)
    assert str(first["UID"]) == f"{req.number}@portico" and int(first["SEQUENCE"]) == 0

    at(shop, berlin(hour=10, minute=5, **SUNDAY))
    assert requests.send_reminders() == 1

    requests.perform(req, "reschedule", shop.staff, start="2027-03-01T11:00")
    assert req.calendar_sequence == 1 and req.reminder_sent_at is None
    [moved] = mails(db, "request.rescheduled")
    _, event = invitation(moved)
    assert str(event["UID"]) == f"{req.number}@portico"
    assert int(event["SEQUENCE"]) == 1
    assert event.decoded("DTSTART") == utc(to_utc(dt.datetime(2027, 3, 1, 11, 0)))

    assert [r.id for r in requests.due_reminders()] == [req.id]
    assert requests.send_reminders() == 1
    [_, again] = mails(db, "request.reminder")
    _, event = invitation(again)
    assert (str(event["UID"]), int(event["SEQUENCE"])) == (f"{req.number}@portico", 1)
    assert event.decoded("DTSTART") == utc(to_utc(dt.datetime(2027, 3, 1, 11, 0)))
    assert requests.send_reminders() == 0

    # moved to the day after tomorrow: not due today any more
    requests.perform(req, "reschedule", shop.staff, start="2027-03-02T11:00")
    assert requests.due_reminders() == []


def test_cancelling_a_booking_sends_a_cancel_and_frees_the_place(shop, db):
    req = book(shop, "2027-03-01T09:00")
    requests.perform(req, "cancel", shop.jane, reason="Fixed it myself")
    assert req.status == "cancelled"
    [cancelled] = mails(db, "request.cancelled")
    cal, event = invitation(cancelled)
    assert str(cal["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == f"{req.number}@portico" and int(event["SEQUENCE"]) == 1
    assert event.decoded("DTSTART") == utc(req.scheduled_start)
    assert "CANCEL" in cancelled.attachments[0]["content_type"]

    nine = next(s for s in availability.free_slots(None, shop.location, dt.date(2027, 3, 1), dt.date(2027, 3, 1))
                if s.local_start.hour == 9)
    assert nine.free == 4
    at(shop, berlin(hour=10, minute=5, **SUNDAY))
    assert requests.send_reminders() == 0


def test_cancelling_an_unbooked_request_sends_no_invitation(shop, db):
    req = requests.submit(shop.jane, service_type_id=shop.service_type.id, subject="Never mind",
                          preferred_date=dt.date(2027, 3, 1), preferred_slot="morning")
    requests.perform(req, "cancel", shop.jane)
    assert req.status == "cancelled"
    assert all(not mail.attachments for mail in mails(db, "request.cancelled"))


@pytest.mark.parametrize("value", [None, ""])
def test_no_reminder_time_means_no_reminders(shop, db, value):
    book(shop, "2027-03-01T09:00")
    shop_settings.perform(get_settings(), "edit", shop.staff, {"reminder_time": value})
    db.session.expire_all()
    assert get_settings().reminder_time is None
    for hour, minute in ((10, 5), (23, 59)):
        at(shop, berlin(hour=hour, minute=minute, **SUNDAY))
        assert requests.due_reminders() == []
        assert requests.send_reminders() == 0
    assert mails(db, "request.reminder") == []


def test_the_reminder_time_is_shop_time(shop, db):
    req = book(shop, "2027-03-01T09:00")
    shop_settings.perform(get_settings(), "edit", shop.staff, {"reminder_time": "07:30"})
    at(shop, berlin(hour=7, minute=29, **SUNDAY))
    assert requests.due_reminders() == []
    at(shop, berlin(hour=7, minute=30, **SUNDAY))
    assert [r.id for r in requests.due_reminders()] == [req.id]


def test_the_scheduler_runs_the_reminders_every_quarter_hour(app, shop, db):
    req = book(shop, "2027-03-01T09:00")
    at(shop, berlin(hour=10, minute=5, **SUNDAY))
    db.session.commit()
    runner = PorticoScheduler(app, worker="reminder-test")
    try:
        assert runner.step(paused=True)
        job = runner.scheduler.get_job("booking-reminders", jobstore="system")
        assert job is not None and job.name == "booking reminders"
        assert job.trigger.interval == dt.timedelta(minutes=15)
        job.func()  # what the scheduler runs, in its own app context and session
    finally:
        runner.stop(release=True)
    db.session.expire_all()
    assert db.session.get(ServiceRequest, req.id).reminder_sent_at is not None
    assert len(mails(db, "request.reminder")) == 1
