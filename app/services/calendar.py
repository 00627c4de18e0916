"""iCalendar (RFC 5545) for bookings: the customer's invitation attached to the booking mails.

One booking is one event for its whole life: the UID is the request's number, and every change (moved,
cancelled) raises ``SEQUENCE`` (``ServiceRequest.calendar_sequence``), so a calendar updates the event it
has instead of adding a second one. A cancellation is ``METHOD:CANCEL`` with ``STATUS:CANCELLED``.
Documents built with the ``icalendar`` package (escaping, line folding, UTC times).
"""
from __future__ import annotations

import base64

from icalendar import Calendar, Event, vCalAddress

from ..core.settings import absolute, get_settings
from ..models import ServiceRequest, utcnow
from . import availability

PRODID = "-//Portico//Booking//EN"


def uid(req: ServiceRequest) -> str:
    return f"{req.number}@portico"


def calendar(method: str | None = None) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    if method:
        cal.add("method", method)
    return cal


def _utc(value):
    from datetime import UTC

    return value.replace(tzinfo=UTC)


def booking_event(req: ServiceRequest, cancelled: bool = False) -> Event:
    settings = get_settings()
    event = Event()
    end = req.scheduled_end or req.scheduled_start + availability.duration(req.service_type, req.service_location)
    event.add("uid", uid(req))
    event.add("sequence", req.calendar_sequence or 0)
    event.add("dtstamp", _utc(utcnow()))
    event.add("dtstart", _utc(req.scheduled_start))
    event.add("dtend", _utc(end))
    event.add("summary", f"{settings.shop_name}: {req.subject} ({req.number})")
    location = req.service_location.postal_address if req.service_location else (
        req.address.one_line() if req.address else settings.address or "")
    if location:
        event.add("location", location.replace("\n", ", "))
    event.add("description", (req.summary or "") + f"\n\n{absolute(f'/portal/requests/{req.id}')}")
    event.add("url", absolute(f"/portal/requests/{req.id}"))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    sender = settings.mail_sender or settings.staff_email
    if sender and "@" in sender:
        address = sender[sender.find("<") + 1:sender.rfind(">")] if "<" in sender else sender
        organizer = vCalAddress(f"mailto:{address.strip()}")
        organizer.params["cn"] = settings.shop_name
        event.add("organizer", organizer)
    return event


def booking_ics(req: ServiceRequest, cancelled: bool = False) -> dict:
    """An outbox attachment: ``{"filename", "content_type", "data"}`` with base64 data."""
    method = "CANCEL" if cancelled else "PUBLISH"
    cal = calendar(method)
    cal.add_component(booking_event(req, cancelled))
    return {"filename": f"{req.number}.ics", "content_type": f"text/calendar; method={method}",
            "data": base64.b64encode(cal.to_ical()).decode()}
