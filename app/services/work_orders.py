"""Work orders: jobs, inspections and repair orders, technician time and messages (SPEC §3, WorkOrder)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..core.actors import Actor
from ..core.errors import NotFound, PermissionDenied, ValidationFailed
from ..core.fields import Key
from ..core.settings import to_utc
from ..extensions import db
from ..models import (
    Customer,
    OrderMessage,
    ServiceLocation,
    ShippingMethod,
    TimeEntry,
    Unit,
    User,
    WorkItem,
    WorkOrder,
    utcnow,
)
from . import invoices, notify, numbering, uploads
from .audit import record
from .common import commit, edit_fields
from .params import Assignment, Attach, Message, Note, Params, ReasonRequired
from .workflow import CREATE, Action, ActionTable, perform, register  # noqa: F401 (perform: the one door)

BEFORE_COMPLETED = ("pending_confirmation", "confirmed", "received", "in_progress", "ready")
#: Messages go both ways in every state (a question about a completed job is still a question).
OPEN_FOR_MESSAGES = (*BEFORE_COMPLETED, "completed", "cancelled")


def _link(order: WorkOrder) -> str:
    return f"/portal/orders/{order.id}"


def _staff_link(order: WorkOrder) -> str:
    return f"/workorderview/show/{order.id}"


# ---------------------------------------------------------------- creation
def _validate(order: WorkOrder, actor: Actor) -> None:
    errors = {}
    if order.kind not in ("job", "inspection", "repair"):
        errors["kind"] = [_l("Choose job, inspection or repair.")]
    if db.session.get(Customer, order.customer_id) is None:
        errors["customer"] = [_l("Choose the customer.")]
    if order.unit_id is not None:
        unit = db.session.get(Unit, order.unit_id)
        if unit is None or unit.customer_id != order.customer_id:
            errors["unit"] = [_l("Choose one of the customer's units.")]
    for field, model in (("service_location", ServiceLocation), ("shipping_method", ShippingMethod)):
        ident = getattr(order, f"{field}_id")
        if ident is not None and db.session.get(model, ident) is None:
            errors[field] = [f"Choose one of the {field.replace('_', ' ')}s."]
    if order.technician_id is not None:
        if actor.is_customer:
            errors["technician"] = [_l("Only the shop assigns technicians.")]
        else:
            tech = db.session.get(User, order.technician_id)
            if tech is None or not any(r.name == "Technician" for r in tech.roles):
                errors["technician"] = [_l("Choose a technician.")]
    if actor.is_customer and not (order.fault or "").strip():
        errors["fault"] = [_l("Describe the fault or the job.")]
    if errors:
        raise ValidationFailed(errors)


def prepare_new(order: WorkOrder, actor: Actor) -> WorkOrder:
    """Validate, number, enter the first state and audit (FAB ``pre_add`` and every creation path)."""
    for rel in ("customer", "unit", "service_location", "shipping_method", "technician"):
        obj = getattr(order, rel)
        if obj is not None and getattr(order, f"{rel}_id") is None:
            setattr(order, f"{rel}_id", obj.id)
    if actor.is_customer:
        order.customer_id = actor.customer_id
        order.internal_reference = order.internal_notes = None
    if order.customer_id is None:
        raise ValidationFailed({"customer": [_l("Choose the customer.")]})
    order.kind = order.kind or "job"
    _validate(order, actor)
    order.created_by_id = order.created_by_id or actor.user_id
    numbering.assign(order)
    db.session.add(order)
    TABLE.enter(order, "create", actor)
    if order.status == "pending_confirmation":
        notify.to_staff("work_order.requested", _l("New order %(number)s waits for confirmation", number=order.number),
                        order.fault or "", link=_staff_link(order), customer_id=order.customer_id)
    elif actor.is_customer:
        notify.to_staff("work_order.created", _l("New order %(number)s from %(customer)s",
                                                 number=order.number, customer=order.customer or ""),
                        order.fault or "", link=_staff_link(order), customer_id=order.customer_id)
    return order


def new_order(actor: Actor, **fields) -> WorkOrder:
    """A work order inside the caller's transaction."""
    return prepare_new(WorkOrder(**fields), actor)


def create(actor: Actor, **fields) -> WorkOrder:
    """A new work order, committed (the portal's, a reseller's, staff's and the API's)."""
    order = new_order(actor, **fields)
    commit("work order", order)
    return order


def from_estimate(est, actor: Actor) -> WorkOrder:
    """The work order of an approved estimate: its approved labour lines become work items, their parts go
    under them (lines the customer declined stay on the estimate)."""
    req = est.service_request
    order = WorkOrder(customer_id=est.customer_id, kind="job", unit_id=est.unit_id, estimate_id=est.id,
                      service_request_id=est.service_request_id,
                      service_location_id=req.service_location_id if req else None,
                      scheduled_start=req.scheduled_start if req else None,
                      fault=(req.summary or req.subject) if req else None)
    position = 0
    for line in (line for line in est.labour_lines if line.decision != "declined"):
        item = WorkItem(position=position, kind="labour", description=line.description, quantity=line.hours,
                        unit_price=line.rate, labour_line_id=line.id)
        order.items.append(item)
        position += 1
        for part in line.parts:
            order.items.append(WorkItem(position=position, kind="part", parent=item, part_number=part.part_number,
                                        description=part.description, quantity=part.quantity,
                                        unit_price=part.unit_price))
            position += 1
    return prepare_new(order, actor.on_behalf_of_system(f"estimate {est.display_number} approved"))


# ---------------------------------------------------------------- actions
def confirm(order: WorkOrder, actor: Actor):
    notify.to_customer(order.customer, "work_order.confirmed", _l("Your order %(number)s is confirmed",
                                                                            number=order.number),
                       link=_link(order), group="work_orders")
    return order


def receive(order: WorkOrder, actor: Actor):
    order.received_at = utcnow()
    notify.to_customer(order.customer, "work_order.received", _l("We have received %(number)s", number=order.number),
                       link=_link(order), group="work_orders")
    return order


def open_entry(technician_id: int) -> TimeEntry | None:
    return db.session.scalar(select(TimeEntry).where(TimeEntry.technician_id == technician_id,
                                                     TimeEntry.ended_at.is_(None)))


def clock_on(order: WorkOrder, actor: Actor, note=None):
    """Open a time entry; clocking on to an unassigned order assigns it to the technician."""
    if order.technician_id not in (None, actor.user_id):
        raise PermissionDenied(_l("This work order is assigned to another technician."))
    running = open_entry(actor.user_id)
    if running is not None:
        raise ValidationFailed({"clock": [f"You are still clocked on to {running.work_order.number}. "
                                          "Clock off there first."]})
    if order.technician_id is None:
        order.technician_id = actor.user_id
    db.session.add(TimeEntry(work_order=order, technician_id=actor.user_id, started_at=utcnow(), note=note))
    try:
        db.session.flush()
    except IntegrityError:  # a second clock-on raced this one: the partial unique index refused it
        raise ValidationFailed({"clock": [_l("You are already clocked on elsewhere.")]}) from None
    return order


def _close_entries(order: WorkOrder, technician_id: int | None = None) -> int:
    closed = 0
    now = utcnow()
    for entry in order.time_entries:
        if entry.ended_at is None and (technician_id is None or entry.technician_id == technician_id):
            entry.ended_at = max(now, entry.started_at)
            closed += 1
    return closed


def clock_off(order: WorkOrder, actor: Actor, note=None):
    if not any(e.ended_at is None and e.technician_id == actor.user_id for e in order.time_entries):
        raise ValidationFailed({"clock": [f"You are not clocked on to {order.number}."]})
    _close_entries(order, actor.user_id)
    return order


def ready(order: WorkOrder, actor: Actor, note=None):
    _close_entries(order)
    order.ready_at = utcnow()
    notify.to_customer(order.customer, "work_order.ready", _l("%(number)s is ready", number=order.number),
                       _l("Your unit is ready.%(notes)s",
                          notes=f"\n{order.public_notes}" if order.public_notes else ""),
                       link=_link(order), group="work_orders")
    notify.to_staff("work_order.ready", _l("%(number)s is ready to complete and invoice", number=order.number),
                    link=_staff_link(order), customer_id=order.customer_id)
    return order


def complete(order: WorkOrder, actor: Actor):
    order.completed_at = utcnow()
    notify.to_customer(order.customer, "work_order.completed", _l("%(number)s is completed", number=order.number),
                       link=_link(order), group="work_orders")
    return order


def cancel(order: WorkOrder, actor: Actor, reason: str):
    order.cancel_reason = reason.strip()
    _close_entries(order)
    notify.to_customer(order.customer, "work_order.cancelled", _l("%(number)s was cancelled", number=order.number),
                       order.cancel_reason,
                       link=_link(order), group="work_orders")
    return order


def assign(order: WorkOrder, actor: Actor, technician_id=None, scheduled_start=None, scheduled_end=None):
    """Staff assign a technician and a time window (audited; not a state change).

    Times given as text (a form, JSON) arrive aware and are stored as UTC; ``datetime`` objects from
    other services are already UTC."""
    start, end = (to_utc(t) if t is not None and t.tzinfo else t for t in (scheduled_start, scheduled_end))
    if start and end and end < start:
        raise ValidationFailed({"scheduled_end": [_l("The end must be after the start.")]})
    order.technician_id = technician_id or None
    order.scheduled_start, order.scheduled_end = start, end
    _validate(order, actor)
    technician = db.session.get(User, order.technician_id) if order.technician_id else None
    record(order, "assign", order.status, order.status, actor,  # a name in the history, not "technician 4"
           f"Assigned to {technician.get_full_name()}" if technician is not None else "Unassigned")
    if order.technician_id:
        notify.to_staff("work_order.assigned", _l("%(number)s is assigned to you", number=order.number),
                        order.fault or "",
                        link=f"/technicianboard/show/{order.id}", user_id=order.technician_id)
    return order


def add_message(order: WorkOrder, actor: Actor, text: str, public: bool = True) -> OrderMessage:
    """A message between customer and technicians (public) or an internal note (staff, public=False)."""
    side = "customer" if actor.is_customer else "staff"
    message = OrderMessage(work_order=order, author_id=actor.user_id, side=side,
                           public=True if side == "customer" else bool(public), text=text.strip())
    db.session.add(message)
    if side == "customer":
        notify.to_staff("work_order.message", _l("Message on %(number)s", number=order.number), message.text,
                        link=_staff_link(order),
                        user_id=order.technician_id, customer_id=order.customer_id)
    elif message.public:
        notify.to_customer(order.customer, "work_order.message", _l("A message about %(number)s", number=order.number),
                           message.text,
                           link=_link(order), group="messages")
    return message


def set_item_done(order: WorkOrder, actor: Actor, item: int, done: bool) -> WorkItem:
    """A technician (or the office) marks one of the order's work items done, or not done again."""
    found = next((i for i in order.items if i.id == item), None)
    if found is None:  # another order's item: the same answer as a missing one
        raise NotFound()
    if found.done != done:
        found.done = done
        record(order, "item_done" if done else "item_not_done", order.status, order.status, actor,
               found.description)
    return found


def create_invoice(order: WorkOrder, actor: Actor):
    return invoices.new_from_work_order(order, actor)


class WorkItemDone(Params):
    item = fields.Integer(required=True, strict=False)
    done = fields.Boolean(required=True)


class WorkOrderEdit(Params):
    kind = fields.String(validate=validate.OneOf(("job", "inspection", "repair")))
    unit = Key(attribute="unit_id", allow_none=True)
    service_location = Key(attribute="service_location_id", allow_none=True)
    shipping_method = Key(attribute="shipping_method_id", allow_none=True)
    fault = fields.String(allow_none=True, validate=validate.Length(max=10000))
    accessories = fields.String(allow_none=True, validate=validate.Length(max=10000))
    customer_reference = fields.String(allow_none=True, validate=validate.Length(max=80))
    internal_reference = fields.String(allow_none=True, validate=validate.Length(max=80))
    tracking_number = fields.String(allow_none=True, validate=validate.Length(max=80))
    public_notes = fields.String(allow_none=True, validate=validate.Length(max=10000))
    internal_notes = fields.String(allow_none=True, validate=validate.Length(max=10000))


def edit(order: WorkOrder, actor: Actor, **changes):
    edit_fields(order, actor, **changes)
    _validate(order, actor)
    return order


#: Work items are ticked while the unit is in the workshop.
ITEM_STATES = ("received", "in_progress")
WORKSHOP = ("staff", "technician")

TABLE = register(WorkOrder, ActionTable("work order", [
    Action((CREATE,), "create", ("reseller", "staff", "system"), "confirmed"),
    Action((CREATE,), "create", ("customer",), "pending_confirmation"),
    Action(("pending_confirmation",), "confirm", ("staff",), "confirmed", confirm),
    Action(("confirmed",), "receive", ("staff",), "received", receive),
    Action(("received", "in_progress"), "clock_on", ("technician",), "in_progress", clock_on, Note),
    Action(("in_progress",), "clock_off", ("technician",), None, clock_off, Note),
    Action(("in_progress",), "ready", ("technician",), "ready", ready, Note),
    Action(("ready",), "complete", ("staff",), "completed", complete),
    Action(BEFORE_COMPLETED, "cancel", ("staff",), "cancelled", cancel, ReasonRequired, reason_required=True),
    Action(("ready", "completed"), "invoice", ("staff",), None, create_invoice),
    Action(BEFORE_COMPLETED, "assign", ("staff",), None, assign, Assignment, audited=False),
    Action(OPEN_FOR_MESSAGES, "messages", ("customer", "staff", "technician"), None, add_message, Message),
    Action(ITEM_STATES, "item", WORKSHOP, None, set_item_done, WorkItemDone, audited=False),
    Action(BEFORE_COMPLETED, "edit", ("staff",), None, edit, WorkOrderEdit, audited=False),
    Action(BEFORE_COMPLETED, "attach", ("customer", "staff", "technician"), None, uploads.attach, Attach,
           audited=False),
    Action(BEFORE_COMPLETED, "lines", ("staff",), None),  # work items added, changed or removed on a screen
]))
