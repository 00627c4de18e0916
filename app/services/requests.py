"""Service requests and their booking (SPEC §3, ServiceRequest)."""
from __future__ import annotations

import datetime as dt

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from ..core import formatting
from ..core.actors import Actor
from ..core.errors import ServiceError, StaleObject, ValidationFailed, flatten_messages
from ..core.fields import ClockTime, Day, Key
from ..core.settings import get_settings, shop_today, to_local, to_utc
from ..extensions import db
from ..models import (
    Address,
    Customer,
    ServiceLocation,
    ServiceRequest,
    ServiceType,
    TimeProposal,
    Unit,
    utcnow,
)
from . import availability, estimates, notify, numbering, uploads, work_orders
from .common import commit, edit_fields
from .params import Attach, Booking, Params, Proposal, Reason, ReasonRequired
from .workflow import CREATE, Action, ActionTable, perform, register  # noqa: F401 (perform: the one door)

#: Where each preferred slot starts, in the shop's time zone.
SLOT_STARTS = {"morning": dt.time(9, 0), "afternoon": dt.time(13, 0), "evening": dt.time(17, 0)}


def _link(req: ServiceRequest) -> str:
    return f"/portal/requests/{req.id}"


#: What a request's fields are checked against, worded for whoever reads them (``lazy_gettext``).
OWN = {"address": (_l("Choose one of your own addresses."), _l("Choose one of the customer's own addresses.")),
       "unit": (_l("Choose one of your own units."), _l("Choose one of the customer's own units."))}


def _validate(req: ServiceRequest, allow_past: bool = False, by_customer: bool = False) -> None:
    errors: dict[str, list] = {}
    if not (req.subject or "").strip():
        errors["subject"] = [_l("Say in a few words what the request is about.")]
    service_type = db.session.get(ServiceType, req.service_type_id) if req.service_type_id else None
    if service_type is None or not service_type.active:
        errors["service_type"] = [_l("Choose one of the offered service types.")]
    if req.preferred_date is None:
        errors["preferred_date"] = [_l("Choose a preferred date.")]
    elif req.preferred_date < shop_today() and not allow_past:
        errors["preferred_date"] = [_l("The preferred date cannot be in the past.")]
    if req.preferred_slot not in ("morning", "afternoon", "evening", "custom"):
        errors["preferred_slot"] = [_l("Choose morning, afternoon, evening or a time of your choice.")]
    elif req.preferred_slot == "custom" and req.preferred_time is None:
        errors["preferred_time"] = [_l("Give the time you would like.")]
    for field, model in (("address", Address), ("unit", Unit)):
        ident = getattr(req, f"{field}_id")
        if ident is not None:
            row = db.session.get(model, ident)
            if row is None or row.customer_id != req.customer_id:
                errors[field] = [OWN[field][0 if by_customer else 1]]
    location = db.session.get(ServiceLocation, req.service_location_id) if req.service_location_id else None
    if req.service_location_id is not None and (location is None or not location.active):
        errors["service_location"] = [_l("Choose one of the service locations.")]
    if errors:
        raise ValidationFailed(errors)


def prepare_new(req: ServiceRequest, actor: Actor) -> ServiceRequest:
    """Validate a new request, number it, enter ``new`` and audit (for FAB's ``pre_add`` and ``submit``)."""
    if actor.is_customer:
        req.customer_id = actor.customer_id
    if req.customer_id is None and req.customer is not None:
        req.customer_id = req.customer.id
    if req.customer_id is None:
        raise ValidationFailed({"customer": [_l("Choose the customer.")]})
    if req.service_type is not None and req.service_type_id is None:
        req.service_type_id = req.service_type.id
    for rel in ("address", "unit", "service_location"):
        obj = getattr(req, rel)
        if obj is not None and getattr(req, f"{rel}_id") is None:
            setattr(req, f"{rel}_id", obj.id)
    req.preferred_slot = req.preferred_slot or "morning"
    _validate(req, by_customer=actor.is_customer)
    if actor.user_id and req.created_by_id is None:
        req.created_by_id = actor.user_id
    req.source = req.source or ("portal" if actor.is_customer else "staff")
    numbering.assign(req)
    db.session.add(req)
    TABLE.enter(req, "submit", actor)
    notify.to_staff("request.submitted", _l("New service request %(number)s: %(subject)s",
                                            number=req.number, subject=req.subject),
                    link=f"/servicerequestview/show/{req.id}", customer_id=req.customer_id)
    customer = req.customer or db.session.get(Customer, req.customer_id)
    notify.to_customer(customer, "request.received", _l("We received your request %(number)s", number=req.number),
                           _l("%(subject)s\nPreferred: %(day)s (%(slot)s).", subject=req.subject,
                              day=LazyString(formatting.date, req.preferred_date), slot=_slot(req)),
                           link=_link(req), group="requests")
    return req


class RequestNew(Schema):
    """A new request's fields as the portal form, the public form, the API and staff send them (text or
    values); the checks of the request as a whole are ``_validate``'s."""

    class Meta:
        unknown = RAISE

    service_type_id = Key(allow_none=True)
    service_location_id = Key(allow_none=True)
    address_id = Key(allow_none=True, error_messages={"invalid": OWN["address"][0]})
    unit_id = Key(allow_none=True, error_messages={"invalid": OWN["unit"][0]})
    subject = fields.String(allow_none=True, validate=validate.Length(max=200))
    summary = fields.String(allow_none=True, validate=validate.Length(max=10000))
    preferred_date = Day(allow_none=True, error_messages={"invalid": _l("Enter a date such as 2025-03-14.")})
    preferred_slot = fields.String(allow_none=True)
    preferred_time = ClockTime(allow_none=True, error_messages={"invalid": _l("Enter a time such as 09:30.")})
    estimate_required = fields.Boolean()
    source = fields.String(validate=validate.Length(max=20))
    contact_name = fields.String(allow_none=True, validate=validate.Length(max=200))
    contact_email = fields.String(allow_none=True, validate=validate.Length(max=255))
    contact_phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    slot = fields.String(allow_none=True, validate=validate.Length(max=40),
                         metadata={"description": "A free start from the availability (local YYYY-MM-DDTHH:MM)."})

    @pre_load
    def _blanks(self, data, **_):
        return {k: (None if v == "" and k in self.fields and self.fields[k].allow_none else v)
                for k, v in dict(data).items()}


def check_new(actor: Actor, *, customer_id: int | None = None, **fields) -> None:
    """Check a new request's fields without saving anything (a form that also asks for more, such as a
    new address, shows every problem at once); ``ValidationFailed`` with the errors at the fields."""
    values = _load_new(fields)
    slot = values.pop("slot", None)
    req = ServiceRequest(customer_id=actor.customer_id if actor.is_customer else customer_id,
                         **{"preferred_slot": "morning", **{k: v for k, v in values.items() if v is not None}})
    start = _wish_slot(req, slot)
    _validate(req, by_customer=actor.is_customer)
    if start is not None:
        _check_slot(req, start)


def _wish_slot(req: ServiceRequest, slot: str | None) -> dt.datetime | None:
    """A chosen free slot is the preferred date and time (naive UTC start, or None without one)."""
    if not slot:
        return None
    start = availability.local_start(slot)
    if start is None:
        raise ValidationFailed({"slot": [_l("Choose one of the free times shown.")]})
    if start <= utcnow():
        raise ValidationFailed({"slot": [_l("This time has passed. Choose one of the free times shown.")]})
    local = to_local(start)
    req.preferred_date, req.preferred_slot, req.preferred_time = local.date(), "custom", local.time().replace(
        tzinfo=None)
    return start


def _location_of(req: ServiceRequest) -> ServiceLocation | None:
    if req.service_location is not None:
        return req.service_location
    return db.session.get(ServiceLocation, req.service_location_id) if req.service_location_id else None


def _check_slot(req: ServiceRequest, start: dt.datetime, *, lock: bool = False) -> dt.datetime:
    """A chosen slot: a future start at a location booked by slot, still free (the message names the next
    free ones)."""
    location = _location_of(req)
    if not availability.by_slot(location):
        raise ValidationFailed({"slot": [_l("Choose a service location to pick a free time.")]})
    local = to_local(start)
    if (local.hour * 60 + local.minute) % availability.slot_minutes(location) or local.second:
        raise ValidationFailed({"slot": [_l("Choose one of the free times shown.")]})
    service_type = req.service_type or db.session.get(ServiceType, req.service_type_id)
    return availability.check(location, service_type, start, exclude_id=req.id, lock=lock, field="slot")


def check_slot_choice(service_type_id, service_location_id, slot: str) -> None:
    """Is ``slot`` still a free time for this service type and location (the public form's check before
    its summary)? With no location chosen, the one location booked by slot. ``ValidationFailed`` at
    ``slot``."""
    if not service_location_id:
        locations = availability.bookable_locations()
        service_location_id = locations[0].id if len(locations) == 1 else None
    try:
        ids = [int(service_type_id), int(service_location_id) if service_location_id else None]
        if any(ident is not None and not 0 < ident < 2**31 for ident in ids):
            raise ValueError(ids)
    except (TypeError, ValueError):
        raise ValidationFailed({"slot": [_l("Choose one of the free times shown.")]}) from None
    req = ServiceRequest(service_type_id=ids[0], service_location_id=ids[1])
    _check_slot(req, _wish_slot(req, slot))


def instant(req: ServiceRequest) -> bool:
    """Is a request of this type with a free slot booked at once ("instant booking")?"""
    service_type = req.service_type or db.session.get(ServiceType, req.service_type_id)
    return service_type is not None and service_type.booking_mode == "instant"


def _load_new(fields: dict) -> dict:
    try:
        return RequestNew().load(fields)
    except ValidationError as error:
        raise ValidationFailed(flatten_messages(error.messages)) from None


def submit(actor: Actor, *, customer_id: int | None = None, **fields) -> ServiceRequest:
    """Create a request (public form, portal or staff on behalf of a customer), from raw field values.

    With a chosen ``slot`` the request asks for that time: re-checked here (a place taken meanwhile is a
    message at the slot naming the next free ones, and nothing is saved); a service type with instant
    booking is booked at once (the internal ``book`` row, under the location's lock)."""
    values = _load_new(fields)
    slot = values.pop("slot", None)
    req = ServiceRequest(customer_id=actor.customer_id if actor.is_customer else customer_id, **values)
    start = _wish_slot(req, slot)
    try:
        prepare_new(req, actor)
        if start is not None:
            if instant(req):
                _flush_own_change(req)
                end = _check_slot(req, start, lock=True)
                TABLE.move(req, "book", actor)
                req.scheduled_start, req.scheduled_end, req.confirmed_at = start, end, utcnow()
                _notify_booking(req)
            else:
                _check_slot(req, start)
        commit("service request", req)
    except Exception:
        db.session.rollback()
        raise
    return req


def slot_start(req: ServiceRequest) -> dt.datetime:
    """The preferred date and slot as a naive UTC datetime."""
    start_time = req.preferred_time if req.preferred_slot == "custom" else SLOT_STARTS[req.preferred_slot]
    return to_utc(dt.datetime.combine(req.preferred_date, start_time or SLOT_STARTS["morning"]))


def _normalise_start(start) -> dt.datetime:
    if isinstance(start, str):
        try:
            start = dt.datetime.fromisoformat(start)
        except ValueError:
            raise ValidationFailed({"start": [_l("Give the date and time as YYYY-MM-DDTHH:MM.")]}) from None
    if not isinstance(start, dt.datetime):
        raise ValidationFailed({"start": [_l("Give a date and time.")]})
    start = to_utc(start)
    if start < utcnow() - dt.timedelta(minutes=5):
        raise ValidationFailed({"start": [_l("The time cannot be in the past.")]})
    return start


def _flush_own_change(req: ServiceRequest) -> None:
    """The request's own change is flushed first: if someone else changed it meanwhile, that is a stale
    form, not a 500."""
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise StaleObject("service request", req.status) from None


def _book(req: ServiceRequest, start: dt.datetime) -> None:
    """Book ``start``: inside the opening hours, with a place in every slot the booking overlaps
    (``availability.check`` under the location's lock; tests/test_booking_concurrency.py races it)."""
    _flush_own_change(req)
    end = availability.check(req.service_location, req.service_type, start, exclude_id=req.id, lock=True)
    req.scheduled_start = start
    req.scheduled_end = end
    req.confirmed_at = utcnow()
    req.reminder_sent_at = None


def _bookable(req: ServiceRequest, start: dt.datetime) -> None:
    """A proposal must be a time that could be booked now (open, a place free); not locked."""
    availability.check(req.service_location, req.service_type, start, exclude_id=req.id)


def open_proposal(req: ServiceRequest) -> TimeProposal | None:
    """The proposal on the table: the latest still open, from either side."""
    return next((p for p in reversed(req.proposals) if p.outcome == "open"), None)


def _settle_proposals(req: ServiceRequest, accepted: TimeProposal | None = None,
                      otherwise: str = "superseded") -> None:
    """Every open proposal ends: the booked one ``accepted``, the others ``otherwise`` (superseded by a
    booking or a newer proposal; ``withdrawn`` when the request is declined or cancelled)."""
    for proposal in req.proposals:
        if proposal.outcome == "open":
            proposal.outcome = "accepted" if proposal is accepted else otherwise


def booking_default(req: ServiceRequest) -> dt.datetime:
    """What ``confirm`` without a start books: the open proposal, else the preferred time."""
    chosen = open_proposal(req)
    return chosen.start if chosen is not None else slot_start(req)


def confirm(req: ServiceRequest, actor: Actor, start=None, estimate: bool = False):
    """Book the request (SPEC §8): at ``start``, else at the open proposal (the customer's counter-proposal
    included), else at the preferred time. The proposal booked is accepted, any other superseded."""
    chosen = open_proposal(req)
    if start:
        booking = _normalise_start(start)
        chosen = chosen if chosen is not None and chosen.start == booking else None
    else:
        booking = chosen.start if chosen is not None else slot_start(req)
    _book(req, booking)
    _settle_proposals(req, chosen)
    created = None
    if estimate:
        created = _create_estimate(req, actor)
    _notify_booking(req)
    return created or req


#: The preferred slots in the words of whoever reads them (a custom slot shows its time).
SLOT_WORDS = {"morning": _l("morning"), "afternoon": _l("afternoon"), "evening": _l("evening")}


def _slot(req: ServiceRequest):
    if req.preferred_slot == "custom" and req.preferred_time is not None:
        return LazyString(formatting.time, req.preferred_time)
    return SLOT_WORDS.get(req.preferred_slot, req.preferred_slot)


def _when(moment) -> LazyString:
    """A booked time in words, in the language of whoever reads it (``availability.when`` when read)."""
    return LazyString(availability.when, moment)


def _notify_booking(req: ServiceRequest, event: str = "request.confirmed") -> None:
    """The customer's booking mail with the invitation (.ics): confirmed, or moved (the same UID with a
    higher SEQUENCE, so calendars update the event instead of adding one)."""
    from .calendar import booking_ics

    title = (_l("Your booking %(number)s is confirmed", number=req.number) if event == "request.confirmed"
             else _l("Your booking %(number)s was moved", number=req.number))
    notify.to_customer(req.customer, event, title, _l("We expect you on %(when)s.", when=_when(req.scheduled_start)),
                       link=_link(req), group="requests", attachments=[booking_ics(req)])


def propose(req: ServiceRequest, actor: Actor, start=None, note: str | None = None):
    when = _normalise_start(start)
    _bookable(req, when)
    side = "customer" if actor.is_customer else "staff"
    _settle_proposals(req)  # a newer proposal supersedes the one on the table, whoever made it
    db.session.add(TimeProposal(service_request=req, proposed_by=side, user_id=actor.user_id, start=when, note=note))
    if side == "staff":
        notify.to_customer(req.customer, "request.time_proposed", _l("A new time for %(number)s", number=req.number),
                           _l("We suggest %(when)s.%(note)s", when=_when(when), note=f"\n{note}" if note else ""),
                           link=_link(req), group="requests")
    else:
        notify.to_staff("request.counter_proposed", _l("%(number)s: the customer proposes %(when)s",
                                                       number=req.number, when=_when(when)),
                        note or "", link=f"/servicerequestview/show/{req.id}", customer_id=req.customer_id)
    return req


def latest_proposal(req: ServiceRequest, side: str = "staff") -> TimeProposal | None:
    for proposal in reversed(req.proposals):
        if proposal.proposed_by == side and proposal.outcome == "open":
            return proposal
    return None


def accept_time(req: ServiceRequest, actor: Actor):
    proposal = latest_proposal(req)
    if proposal is None:  # only possible for data entered outside Portico
        raise ValidationFailed({"start": [_l("There is no proposed time to accept.")]})
    _book(req, proposal.start)
    _settle_proposals(req, proposal)
    notify.to_staff("request.time_accepted", _l("%(number)s: the customer accepted the proposed time",
                                                number=req.number),
                    link=f"/servicerequestview/show/{req.id}", customer_id=req.customer_id)
    _notify_booking(req)
    return req


def decline(req: ServiceRequest, actor: Actor, reason: str):
    req.decline_reason = reason.strip()
    _settle_proposals(req, otherwise="withdrawn")
    notify.to_customer(req.customer, "request.declined", _l("We cannot take request %(number)s", number=req.number),
                       req.decline_reason, link=_link(req), group="requests")
    return req


def cancel(req: ServiceRequest, actor: Actor, reason: str | None = None):
    """The customer cancels; a booked time is released and their calendar gets a CANCEL."""
    from .calendar import booking_ics

    req.cancel_reason = (reason or "").strip() or None
    _settle_proposals(req, otherwise="withdrawn")
    notify.to_staff("request.cancelled", _l("%(number)s was cancelled by the customer",
                                            number=req.number), reason or "",
                    link=f"/servicerequestview/show/{req.id}", customer_id=req.customer_id)
    if req.scheduled_start is not None and req.confirmed_at is not None:
        req.calendar_sequence += 1
        notify.to_customer(req.customer, "request.cancelled",
                           _l("Your booking %(number)s is cancelled", number=req.number),
                           _l("%(when)s: cancelled.", when=_when(req.scheduled_start)), link=_link(req),
                           group="requests", attachments=[booking_ics(req, cancelled=True)])
    return req


def reschedule(req: ServiceRequest, actor: Actor, start=None, note: str | None = None):
    """Move a booking to another time that fits (either side): the place is re-checked under the lock,
    open proposals are superseded, the customer gets the updated invitation and a new reminder."""
    when = _normalise_start(start)
    before = req.scheduled_start
    if before == when:
        raise ValidationFailed({"start": [_l("The booking is already at this time.")]})
    _book(req, when)
    _settle_proposals(req)
    req.calendar_sequence += 1
    _notify_booking(req, "request.rescheduled")
    if actor.is_customer:
        notify.to_staff("request.rescheduled", _l("%(number)s: the customer moved the booking to %(when)s",
                                                  number=req.number, when=_when(when)),
                        note or "", link=f"/servicerequestview/show/{req.id}",
                        customer_id=req.customer_id)
    return req


def remind(req: ServiceRequest, actor: Actor):
    """The day-before reminder (once per booked time), with the invitation and the portal page's link to
    move or cancel it; sent where the customer's preferences want request mail."""
    from .calendar import booking_ics

    req.reminder_sent_at = utcnow()
    notify.to_customer(req.customer, "request.reminder", _l("Reminder: %(number)s tomorrow", number=req.number),
                       _l("We expect you on %(when)s.\nTo move or cancel the booking, open the link below.",
                          when=_when(req.scheduled_start)),
                       link=_link(req), group="requests", attachments=[booking_ics(req)])
    return req


def due_reminders(now: dt.datetime | None = None) -> list[ServiceRequest]:
    """Bookings of tomorrow (shop time) without a reminder, once the shop's reminder time has come."""
    at = get_settings().reminder_time
    now = now or utcnow()
    local = to_local(now)
    if at is None or local.time().replace(tzinfo=None) < at:
        return []
    tomorrow = local.date() + dt.timedelta(days=1)
    begin = to_utc(dt.datetime.combine(tomorrow, dt.time()))
    end = to_utc(dt.datetime.combine(tomorrow + dt.timedelta(days=1), dt.time()))
    return list(db.session.scalars(select(ServiceRequest).where(
        ServiceRequest.status == "accepted", ServiceRequest.scheduled_start >= begin,
        ServiceRequest.scheduled_start < end, ServiceRequest.reminder_sent_at.is_(None),
    ).order_by(ServiceRequest.scheduled_start)))


def send_reminders(now: dt.datetime | None = None) -> int:
    """The scheduler's reminder run: one ``remind`` action per due booking (each its own commit)."""
    actor = Actor.system_actor("booking reminders")
    sent = 0
    for req in due_reminders(now):
        try:
            TABLE.perform(req, "remind", actor)
        except ServiceError:  # moved or cancelled meanwhile: its state decides
            continue
        sent += 1
    return sent


def _create_estimate(req: ServiceRequest, actor: Actor):
    TABLE.move(req, "estimate", actor)
    return estimates.new_draft(actor, customer_id=req.customer_id, service_request_id=req.id, unit_id=req.unit_id)


def create_estimate(req: ServiceRequest, actor: Actor):
    """The request stays ``accepted``; a draft estimate is created for it."""
    return estimates.new_draft(actor, customer_id=req.customer_id, service_request_id=req.id, unit_id=req.unit_id)


def create_work_order(req: ServiceRequest, actor: Actor):
    return work_orders.new_order(actor, customer_id=req.customer_id, kind="job", unit_id=req.unit_id,
                                 service_request_id=req.id, service_location_id=req.service_location_id,
                                 fault=req.summary or req.subject, scheduled_start=req.scheduled_start)


def _resolve_by_estimate(est, actor: Actor, order) -> None:
    """Its estimate was approved: accepted → resolved (inside the estimate's unit of work)."""
    req = est.service_request
    if req is not None and req.status == "accepted":
        TABLE.move(req, "estimate_approved", actor)


#: What staff may change on a request, and while it is open (a cancelled or resolved request is history).
EDITABLE = ("new", "time_proposed", "accepted")


class RequestEdit(Params):
    service_type = Key(attribute="service_type_id")
    service_location = Key(attribute="service_location_id", allow_none=True)
    address = Key(attribute="address_id", allow_none=True)
    unit = Key(attribute="unit_id", allow_none=True)
    subject = fields.String(validate=validate.Length(max=200))
    summary = fields.String(allow_none=True, validate=validate.Length(max=10000))
    preferred_date = Day()
    preferred_slot = fields.String()
    preferred_time = ClockTime(allow_none=True)
    estimate_required = fields.Boolean()
    contact_name = fields.String(allow_none=True, validate=validate.Length(max=120))
    contact_email = fields.String(allow_none=True, validate=validate.Length(max=255))
    contact_phone = fields.String(allow_none=True, validate=validate.Length(max=40))


def edit(req: ServiceRequest, actor: Actor, **changes):
    """Change an open request's details; checked exactly like a new one (a past date only if unchanged)."""
    previous_date = req.preferred_date
    edit_fields(req, actor, **changes)
    _validate(req, allow_past=req.preferred_date == previous_date)
    return req


TABLE = register(ServiceRequest, ActionTable("service request", [
    Action((CREATE,), "submit", ("anyone",), "new"),
    Action(("new",), "confirm", ("staff",), "accepted", confirm, Booking),
    Action(("new", "time_proposed"), "propose", ("staff",), "time_proposed", propose, Proposal),
    Action(("time_proposed",), "accept_time", ("customer",), "accepted", accept_time),
    Action(("time_proposed",), "propose", ("customer",), "new", propose, Proposal),
    Action(("new", "time_proposed"), "decline", ("staff",), "rejected", decline, ReasonRequired,
           reason_required=True),
    Action(("new", "time_proposed", "accepted"), "cancel", ("customer",), "cancelled", cancel, Reason),
    Action(("accepted",), "reschedule", ("staff", "customer"), "accepted", reschedule, Proposal),
    Action(("accepted",), "remind", ("system",), None, remind,
           guard=lambda req: req.scheduled_start is not None and req.reminder_sent_at is None),
    Action(("new",), "book", ("customer", "staff"), "accepted", internal=True),  # instant booking at submit
    Action(("accepted",), "estimate", ("staff",), "accepted", create_estimate),
    Action(("accepted",), "work_order", ("staff",), "resolved", create_work_order),
    Action(("accepted",), "estimate_approved", ("customer",), "resolved", internal=True),
    Action(EDITABLE, "edit", ("staff",), None, edit, RequestEdit, audited=False),
    Action(EDITABLE, "attach", ("customer", "staff"), None, uploads.attach, Attach, audited=False),
]))
estimates.TABLE.after("approve", _resolve_by_estimate)
