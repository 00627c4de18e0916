"""The shop calendar's rows and the private iCalendar feeds of technicians and locations (issue 13).

What is on the calendar between two times: the booked service requests (``accepted``, or ``resolved``
while no scheduled work order stands for them) and the scheduled work orders that are not cancelled.
The staff calendar screen and the feeds read the same two queries, each with its relations loaded, so
the number of SQL statements does not grow with the rows.

A feed is a random URL a phone's calendar subscribes to (``/calendar/feed/<token>.ics``): a location's
shows its bookings and work orders, a technician's the work orders assigned to them, from 30 days back to
180 days ahead. Only ``sha256(token)`` is kept; the raw token is returned once by ``rotate_*`` (the
``rotate_feed`` rows of the location and user tables) and shown once, like an API key. Rotating replaces
the hash, so the old URL answers 404 from then on; so does the feed of an archived location or login.
Events carry no prices, no money and no internal notes; their UIDs are stable (``REQ-000001@portico``,
the booking invitation's, and ``WO-000001@portico``) and their ``SEQUENCE`` only grows.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask_babel import lazy_gettext as _l
from icalendar import Event
from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload

from ..core.actors import Actor
from ..core.errors import PermissionDenied
from ..core.settings import absolute, get_settings
from ..extensions import db
from ..models import DEFAULT_SLOT_MINUTES, CalendarFeed, ServiceLocation, ServiceRequest, User, WorkOrder, utcnow
from . import availability
from .calendar import calendar, uid

#: The span a feed covers, around the time it is read.
PAST = dt.timedelta(days=30)
AHEAD = dt.timedelta(days=180)
#: No token we hand out is longer (``token_urlsafe(32)`` is 43 characters).
LONGEST_TOKEN = 128


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- what is on the calendar ----------------------------------------------------------------------------

def scheduled_requests(start: dt.datetime, end: dt.datetime, *, location_id: int | None = None) -> list:
    """Booked requests starting in [start, end) (naive UTC), by time; a resolved one only while no
    scheduled work order stands for it (that order is on the calendar instead)."""
    has_order = exists().where(WorkOrder.service_request_id == ServiceRequest.id,
                               WorkOrder.scheduled_start.is_not(None), WorkOrder.status != "cancelled")
    stmt = select(ServiceRequest).where(
        ServiceRequest.scheduled_start >= start, ServiceRequest.scheduled_start < end,
        (ServiceRequest.status == "accepted") | ((ServiceRequest.status == "resolved") & ~has_order))
    if location_id is not None:
        stmt = stmt.where(ServiceRequest.service_location_id == location_id)
    return list(db.session.scalars(stmt.options(
        joinedload(ServiceRequest.customer), joinedload(ServiceRequest.unit),
        joinedload(ServiceRequest.service_type), joinedload(ServiceRequest.service_location),
        joinedload(ServiceRequest.address),
    ).order_by(ServiceRequest.scheduled_start, ServiceRequest.id)))


def scheduled_orders(start: dt.datetime, end: dt.datetime, *, location_id: int | None = None,
                     technician_id: int | None = None) -> list:
    """Work orders scheduled to start in [start, end) that are not cancelled, by time."""
    stmt = select(WorkOrder).where(WorkOrder.scheduled_start >= start, WorkOrder.scheduled_start < end,
                                   WorkOrder.status != "cancelled")
    if location_id is not None:
        stmt = stmt.where(WorkOrder.service_location_id == location_id)
    if technician_id is not None:
        stmt = stmt.where(WorkOrder.technician_id == technician_id)
    return list(db.session.scalars(stmt.options(
        joinedload(WorkOrder.customer), joinedload(WorkOrder.unit), joinedload(WorkOrder.technician),
        joinedload(WorkOrder.service_location),
    ).order_by(WorkOrder.scheduled_start, WorkOrder.id)))


def request_end(req: ServiceRequest) -> dt.datetime:
    return req.scheduled_end or req.scheduled_start + availability.duration(req.service_type, req.service_location)


def order_end(order: WorkOrder) -> dt.datetime:
    return order.scheduled_end or order.scheduled_start + dt.timedelta(minutes=DEFAULT_SLOT_MINUTES)


# --- rotating a feed (the effects of the ``rotate_feed`` rows) ------------------------------------------

def feed_of(owner) -> CalendarFeed | None:
    """The feed of a login or a location, if it has one."""
    column = CalendarFeed.user_id if isinstance(owner, User) else CalendarFeed.service_location_id
    return db.session.scalar(select(CalendarFeed).where(column == owner.id))


def _rotate(owner) -> str:
    """Create or replace the owner's feed with a new random token; return the raw token (kept nowhere)."""
    feed = feed_of(owner)
    if feed is None:
        feed = CalendarFeed(**{"user_id" if isinstance(owner, User) else "service_location_id": owner.id})
        db.session.add(feed)
    token = secrets.token_urlsafe(32)
    feed.token_hash = token_hash(token)
    feed.created_at = utcnow()
    feed.last_read_at = None
    return token


def rotate_location_feed(location: ServiceLocation, actor: Actor, **_) -> str:
    return _rotate(location)


def rotate_user_feed(user: User, actor: Actor, **_) -> str:
    """Staff rotate anyone's feed; a technician only their own."""
    if not actor.is_staff and actor.user_id != user.id:
        raise PermissionDenied(_l("You may rotate only your own calendar feed."))
    return _rotate(user)


def is_technician_login(user: User) -> bool:
    """The guard of the technician's ``rotate_feed`` row: a technician rotates a technician's feed."""
    return any(role.name == "Technician" for role in user.roles or [])


# --- reading a feed ---------------------------------------------------------------------------------------

def person_name(user: User) -> str:
    return " ".join(p for p in (user.first_name, user.last_name) if p) or user.username


def _stamp(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC)


def _request_event(req: ServiceRequest, now: dt.datetime) -> Event:
    event = Event()
    event.add("uid", uid(req))
    event.add("sequence", req.calendar_sequence or 0)
    event.add("dtstamp", _stamp(now))
    event.add("dtstart", _stamp(req.scheduled_start))
    event.add("dtend", _stamp(request_end(req)))
    customer = req.customer.name if req.customer else ""
    event.add("summary", f"{req.number} {req.subject} ({customer})")
    place = (req.service_location.postal_address if req.service_location
             else req.address.one_line() if req.address else "")
    if place:
        event.add("location", place.replace("\n", ", "))
    link = absolute(f"/servicerequestview/show/{req.id}")
    facts = [("Customer", customer), ("Unit", str(req.unit) if req.unit else ""),
             ("Service", req.service_type.local_name if req.service_type else ""), ("Status", req.status)]
    event.add("description", "\n".join(f"{k}: {v}" for k, v in facts if v) + f"\n\n{link}")
    event.add("url", link)
    event.add("status", "CONFIRMED")
    return event


def _order_event(order: WorkOrder, now: dt.datetime, link_base: str) -> Event:
    event = Event()
    event.add("uid", f"{order.number}@portico")
    event.add("sequence", order.version or 0)  # the row's version only grows
    event.add("dtstamp", _stamp(now))
    event.add("dtstart", _stamp(order.scheduled_start))
    event.add("dtend", _stamp(order_end(order)))
    customer = order.customer.name if order.customer else ""
    event.add("summary", f"{order.number} {customer}" + (f": {order.unit}" if order.unit else ""))
    if order.service_location:
        event.add("location", order.service_location.postal_address.replace("\n", ", "))
    link = absolute(f"{link_base}{order.id}")
    facts = [("Customer", customer), ("Unit", str(order.unit) if order.unit else ""),
             ("Technician", person_name(order.technician) if order.technician else "unassigned"),
             ("Status", order.status.replace("_", " ")), ("Job", (order.fault or "").strip())]
    event.add("description", "\n".join(f"{k}: {v}" for k, v in facts if v) + f"\n\n{link}")
    event.add("url", link)
    event.add("status", "TENTATIVE" if order.status == "pending_confirmation" else "CONFIRMED")
    return event


def find_feed(token: str | None) -> CalendarFeed | None:
    """The feed a raw token opens; None for an unknown token or an archived owner."""
    if not token or len(token) > LONGEST_TOKEN:
        return None
    feed = db.session.scalar(select(CalendarFeed).options(
        joinedload(CalendarFeed.user), joinedload(CalendarFeed.service_location),
    ).where(CalendarFeed.token_hash == token_hash(token)))
    owner = feed and (feed.user or feed.service_location)
    if owner is None or not owner.active:
        return None
    return feed


def feed_ics(token: str | None) -> bytes | None:
    """The iCalendar text of the feed ``token`` opens (None: no such feed); notes when it was read."""
    feed = find_feed(token)
    if feed is None:
        return None
    now = utcnow().replace(microsecond=0)
    start, end = now - PAST, now + AHEAD
    cal = calendar()
    if feed.service_location is not None:
        name = feed.service_location.name
        bookings = scheduled_requests(start, end, location_id=feed.service_location_id)
        orders = scheduled_orders(start, end, location_id=feed.service_location_id)
        link_base = "/workorderview/show/"
    else:
        name = person_name(feed.user)
        bookings = []
        orders = scheduled_orders(start, end, technician_id=feed.user_id)
        link_base = "/technicianboard/show/"  # the technician's own screen of their orders
    cal.add("x-wr-calname", f"{get_settings().shop_name}: {name}")
    cal.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    for req in bookings:
        cal.add_component(_request_event(req, now))
    for order in orders:
        cal.add_component(_order_event(order, now, link_base))
    feed.last_read_at = now
    db.session.commit()
    return cal.to_ical()
