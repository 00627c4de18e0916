"""Service requests and their booking (SPEC §3, ServiceRequest)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from ..core.actors import Actor
from ..core.errors import StaleObject, ValidationFailed
from ..core.settings import get_settings, to_local, to_utc
from ..extensions import db
from ..models import (
    Address,
    Customer,
    ServiceLocation,
    ServiceRequest,
    ServiceType,
    Settings,
    TimeProposal,
    Unit,
    utcnow,
)
from . import notify, numbering
from .common import check_version, commit, dispatch
from .workflow import CREATE, StateMachine, Transition

MACHINE = StateMachine("service request", [
    Transition((CREATE,), "submit", ("anyone",), "new"),
    Transition(("new",), "confirm", ("staff",), "accepted"),
    Transition(("new",), "propose", ("staff",), "time_proposed"),
    Transition(("time_proposed",), "accept_time", ("customer",), "accepted"),
    Transition(("time_proposed",), "propose", ("customer",), "new"),
    Transition(("new", "time_proposed"), "decline", ("staff",), "rejected", reason_required=True),
    Transition(("new", "time_proposed", "accepted"), "cancel", ("customer",), "cancelled"),
    Transition(("accepted",), "estimate", ("staff",), "accepted"),
    Transition(("accepted",), "work_order", ("staff",), "resolved"),
    Transition(("accepted",), "estimate_approved", ("customer",), "resolved"),
])

#: Where each preferred slot starts, in the shop's time zone.
SLOT_STARTS = {"morning": dt.time(9, 0), "afternoon": dt.time(13, 0), "evening": dt.time(17, 0)}


def _link(req: ServiceRequest) -> str:
    return f"/portal/requests/{req.id}"


def _validate(req: ServiceRequest) -> None:
    errors: dict[str, list[str]] = {}
    if not (req.subject or "").strip():
        errors["subject"] = ["Say in a few words what the request is about."]
    service_type = db.session.get(ServiceType, req.service_type_id) if req.service_type_id else None
    if service_type is None or not service_type.active:
        errors["service_type"] = ["Choose one of the offered service types."]
    if req.preferred_date is None:
        errors["preferred_date"] = ["Choose a preferred date."]
    elif req.preferred_date < dt.date.today():
        errors["preferred_date"] = ["The preferred date cannot be in the past."]
    if req.preferred_slot not in ("morning", "afternoon", "evening", "custom"):
        errors["preferred_slot"] = ["Choose morning, afternoon, evening or a time of your choice."]
    elif req.preferred_slot == "custom" and req.preferred_time is None:
        errors["preferred_time"] = ["Give the time you would like."]
    for field, model in (("address", Address), ("unit", Unit)):
        ident = getattr(req, f"{field}_id")
        if ident is not None:
            row = db.session.get(model, ident)
            if row is None or row.customer_id != req.customer_id:
                errors[field] = [f"Choose one of the customer's own {field}es." if field == "address"
                                 else "Choose one of the customer's own units."]
    if req.service_location_id is not None and db.session.get(ServiceLocation, req.service_location_id) is None:
        errors["service_location"] = ["Choose one of the service locations."]
    if errors:
        raise ValidationFailed(errors)


def prepare_new(req: ServiceRequest, actor: Actor) -> ServiceRequest:
    """Validate a new request, number it, enter ``new`` and audit (for FAB's ``pre_add`` and ``submit``)."""
    if actor.is_customer:
        req.customer_id = actor.customer_id
    if req.customer_id is None and req.customer is not None:
        req.customer_id = req.customer.id
    if req.customer_id is None:
        raise ValidationFailed({"customer": ["Choose the customer."]})
    if req.service_type is not None and req.service_type_id is None:
        req.service_type_id = req.service_type.id
    for rel in ("address", "unit", "service_location"):
        obj = getattr(req, rel)
        if obj is not None and getattr(req, f"{rel}_id") is None:
            setattr(req, f"{rel}_id", obj.id)
    req.preferred_slot = req.preferred_slot or "morning"
    _validate(req)
    if actor.user_id and req.created_by_id is None:
        req.created_by_id = actor.user_id
    req.source = req.source or ("portal" if actor.is_customer else "staff")
    numbering.assign(req)
    db.session.add(req)
    MACHINE.enter(req, "submit", actor)
    notify.to_staff("request.submitted", f"New service request {req.number}: {req.subject}",
                    link=f"/servicerequestview/show/{req.id}", customer_id=req.customer_id)
    customer = req.customer or db.session.get(Customer, req.customer_id)
    notify.to_customer(customer, "request.received", f"We received your request {req.number}",
                           f"{req.subject}\nPreferred: {req.preferred_date:%Y-%m-%d} ({req.preferred_slot}).",
                           link=_link(req), group="requests")
    return req


def submit(actor: Actor, *, customer_id: int | None = None, **fields) -> ServiceRequest:
    """Create a request (public form, portal or staff on behalf of a customer)."""
    allowed = {"service_type_id", "service_location_id", "address_id", "unit_id", "subject", "summary",
               "preferred_date", "preferred_slot", "preferred_time", "estimate_required", "source",
               "contact_name", "contact_email", "contact_phone"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationFailed({name: ["Unknown field."] for name in sorted(unknown)})
    req = ServiceRequest(customer_id=actor.customer_id if actor.is_customer else customer_id, **fields)
    prepare_new(req, actor)
    commit("service request", req)
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
            raise ValidationFailed({"start": ["Give the date and time as YYYY-MM-DDTHH:MM."]}) from None
    if not isinstance(start, dt.datetime):
        raise ValidationFailed({"start": ["Give a date and time."]})
    start = to_utc(start)
    if start < utcnow() - dt.timedelta(minutes=5):
        raise ValidationFailed({"start": ["The time cannot be in the past."]})
    return start


def _capacity(req: ServiceRequest) -> int:
    location = req.service_location
    return (location.slot_capacity if location and location.slot_capacity else None) or get_settings().slot_capacity


def _check_capacity(req: ServiceRequest, start: dt.datetime) -> None:
    """At most ``capacity`` accepted bookings per location and start time.

    The location's row (or the settings row) is locked first, so two advisors confirming the last seat at
    once are serialised: the second one counts the first one's booking and is refused (PostgreSQL's READ
    COMMITTED gives each statement a fresh snapshot, so the count after the lock sees every committed
    booking; tests/test_booking_concurrency.py races two real connections). The request's own change is
    flushed first: if someone else changed the same request meanwhile, that is a stale form, not a 500.
    """
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise StaleObject("service request", req.status) from None
    if req.service_location_id is not None:
        db.session.execute(select(ServiceLocation.id).where(ServiceLocation.id == req.service_location_id)
                           .with_for_update())
    else:
        db.session.execute(select(Settings.id).where(Settings.id == get_settings().id).with_for_update())
    booked = db.session.scalar(
        select(func.count(ServiceRequest.id)).where(
            ServiceRequest.id != req.id,
            ServiceRequest.status.in_(("accepted", "resolved")),
            ServiceRequest.service_location_id.is_(req.service_location_id)
            if req.service_location_id is None else ServiceRequest.service_location_id == req.service_location_id,
            ServiceRequest.scheduled_start == start,
        )
    )
    if booked >= _capacity(req):
        local = to_local(start)
        raise ValidationFailed({"start": [f"{local:%Y-%m-%d %H:%M} is fully booked. Suggest another time."]})


def _book(req: ServiceRequest, start: dt.datetime) -> None:
    _check_capacity(req, start)
    req.scheduled_start = start
    req.confirmed_at = utcnow()


def confirm(req: ServiceRequest, actor: Actor, start=None, estimate: bool = False, expected_version=None,
            **_ignored):
    check_version(req, expected_version, "service request")
    booking = _normalise_start(start) if start else slot_start(req)
    MACHINE.apply(req, "confirm", actor)
    _book(req, booking)
    created = None
    if estimate:
        created = _create_estimate(req, actor)
    _notify_booking(req)
    commit("service request", req)
    return created or req


def _notify_booking(req: ServiceRequest) -> None:
    from .calendar import booking_ics

    local = to_local(req.scheduled_start)
    notify.to_customer(
        req.customer, "request.confirmed", f"Your booking {req.number} is confirmed",
        f"We expect you on {local:%A %d %B %Y at %H:%M}.", link=_link(req), group="requests",
        attachments=[booking_ics(req)],
    )


def propose(req: ServiceRequest, actor: Actor, start=None, note: str | None = None, expected_version=None,
            **_ignored):
    check_version(req, expected_version, "service request")
    if not start:
        raise ValidationFailed({"start": ["Give the date and time you propose."]})
    when = _normalise_start(start)
    side = "customer" if actor.is_customer else "staff"
    MACHINE.apply(req, "propose", actor, reason=note)
    for open_proposal in req.proposals:
        if open_proposal.outcome == "open":
            open_proposal.outcome = "superseded"
    db.session.add(TimeProposal(service_request=req, proposed_by=side, user_id=actor.user_id, start=when, note=note))
    local = to_local(when)
    if side == "staff":
        notify.to_customer(req.customer, "request.time_proposed", f"A new time for {req.number}",
                           f"We suggest {local:%A %d %B %Y at %H:%M}." + (f"\n{note}" if note else ""),
                           link=_link(req), group="requests")
    else:
        notify.to_staff("request.counter_proposed", f"{req.number}: the customer proposes {local:%Y-%m-%d %H:%M}",
                        note or "", link=f"/servicerequestview/show/{req.id}", customer_id=req.customer_id)
    commit("service request", req)
    return req


def latest_proposal(req: ServiceRequest, side: str = "staff") -> TimeProposal | None:
    for proposal in reversed(req.proposals):
        if proposal.proposed_by == side and proposal.outcome == "open":
            return proposal
    return None


def accept_time(req: ServiceRequest, actor: Actor, expected_version=None, **_ignored):
    check_version(req, expected_version, "service request")
    MACHINE.find(req.status, "accept_time", actor, req)
    proposal = latest_proposal(req)
    if proposal is None:  # only possible for data entered outside Portico
        raise ValidationFailed({"start": ["There is no proposed time to accept."]})
    MACHINE.apply(req, "accept_time", actor)
    proposal.outcome = "accepted"
    _book(req, proposal.start)
    notify.to_staff("request.time_accepted", f"{req.number}: the customer accepted the proposed time",
                    link=f"/servicerequestview/show/{req.id}", customer_id=req.customer_id)
    _notify_booking(req)
    commit("service request", req)
    return req


def decline(req: ServiceRequest, actor: Actor, reason: str | None = None, expected_version=None, **_ignored):
    check_version(req, expected_version, "service request")
    MACHINE.apply(req, "decline", actor, reason=reason)
    req.decline_reason = reason.strip()
    notify.to_customer(req.customer, "request.declined", f"We cannot take request {req.number}",
                       req.decline_reason, link=_link(req), group="requests")
    commit("service request", req)
    return req


def cancel(req: ServiceRequest, actor: Actor, reason: str | None = None, expected_version=None, **_ignored):
    check_version(req, expected_version, "service request")
    MACHINE.apply(req, "cancel", actor, reason=reason)
    req.cancel_reason = (reason or "").strip() or None
    notify.to_staff("request.cancelled", f"{req.number} was cancelled by the customer", reason or "",
                    link=f"/servicerequestview/show/{req.id}", customer_id=req.customer_id)
    commit("service request", req)
    return req


def _create_estimate(req: ServiceRequest, actor: Actor):
    from . import estimates

    MACHINE.apply(req, "estimate", actor)
    return estimates.new_draft(actor, customer_id=req.customer_id, service_request_id=req.id, unit_id=req.unit_id)


def create_estimate(req: ServiceRequest, actor: Actor, expected_version=None, **_ignored):
    """The request stays ``accepted``; a draft estimate is created for it."""
    check_version(req, expected_version, "service request")
    estimate = _create_estimate(req, actor)
    commit("service request", req)
    return estimate


def create_work_order(req: ServiceRequest, actor: Actor, expected_version=None, **_ignored):
    from . import work_orders

    check_version(req, expected_version, "service request")
    MACHINE.apply(req, "work_order", actor)
    order = work_orders.new_order(actor, customer_id=req.customer_id, kind="job", unit_id=req.unit_id,
                                  service_request_id=req.id, service_location_id=req.service_location_id,
                                  fault=req.summary or req.subject, scheduled_start=req.scheduled_start)
    commit("service request", req)
    return order


def resolve_by_estimate(req: ServiceRequest, actor: Actor) -> None:
    """Its estimate was approved: accepted → resolved (called inside the estimate's transaction)."""
    if req.status == "accepted":
        MACHINE.apply(req, "estimate_approved", actor)


ACTIONS = {
    "confirm": confirm,
    "propose": propose,
    "accept_time": accept_time,
    "decline": decline,
    "cancel": cancel,
    "estimate": create_estimate,
    "work_order": create_work_order,
}


def perform(req: ServiceRequest, action: str, actor: Actor, **params):
    return dispatch(ACTIONS, req, action, actor, MACHINE, **params)
