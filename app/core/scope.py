"""Row-level security in one place.

A customer's portal user sees only their own customer account's rows, and of those only what the shop
has given them (``CUSTOMER_VISIBLE``: no draft or never-sent estimate, no unissued invoice, no internal
message, attachment or staff notification; a child row only when its parent is visible). A technician
sees the work orders assigned to them and the unassigned ones. Every portal page, API route, document,
export, picker and search that a customer can reach gets its rows through ``scoped()`` or ``get_for()``,
and ``perform`` checks ``ensure_visible`` first. A row that is not the actor's answers ``NotFound``
(404), exactly like a row that does not exist.
"""
from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy import false, func, or_, select

from ..extensions import db
from ..models import (
    Address,
    Attachment,
    CreditNote,
    CreditNoteLine,
    Customer,
    DisputeNote,
    Estimate,
    Invoice,
    InvoiceLine,
    LabourLine,
    Notification,
    OrderMessage,
    PartLine,
    Payment,
    PortalUser,
    ServiceRequest,
    Shipment,
    TimeEntry,
    TimeProposal,
    Unit,
    WorkItem,
    WorkOrder,
)
from .actors import Actor
from .errors import NotFound

#: Rows that carry ``customer_id`` themselves.
OWNED = (Address, Attachment, CreditNote, Estimate, Invoice, Notification, ServiceRequest, Shipment, Unit,
         WorkOrder)

#: Child rows reach their customer through a parent: (parent model, the child's foreign key).
CHILDREN = {
    LabourLine: (Estimate, LabourLine.estimate_id),
    DisputeNote: (Estimate, DisputeNote.estimate_id),
    WorkItem: (WorkOrder, WorkItem.work_order_id),
    TimeEntry: (WorkOrder, TimeEntry.work_order_id),
    OrderMessage: (WorkOrder, OrderMessage.work_order_id),
    InvoiceLine: (Invoice, InvoiceLine.invoice_id),
    CreditNoteLine: (CreditNote, CreditNoteLine.credit_note_id),
    Payment: (Invoice, Payment.invoice_id),
    TimeProposal: (ServiceRequest, TimeProposal.service_request_id),
}


#: What a customer sees of their own account's rows: the one definition of "visible to the customer".
CUSTOMER_VISIBLE = {
    Estimate: Estimate.sent_at.is_not(None),  # drafts and estimates never sent are the shop's
    Invoice: Invoice.issued_at.is_not(None),  # so are invoices never submitted (drafts, voided drafts)
    Notification: Notification.audience == "customer",
    Attachment: Attachment.public.is_(True),
    OrderMessage: OrderMessage.public.is_(True),
}


def _visible(model, stmt):
    condition = CUSTOMER_VISIBLE.get(model)
    return stmt.where(condition) if condition is not None else stmt


def customer_for_user(user) -> Customer | None:
    """The customer account a FAB user acts for (cached on ``g`` for the request)."""
    if user is None or not getattr(user, "id", None):
        return None
    cache = g.setdefault("_portico_customer", {}) if has_request_context() else {}
    if user.id not in cache:
        cache[user.id] = db.session.scalar(
            select(Customer).join(PortalUser, PortalUser.customer_id == Customer.id)
            .where(PortalUser.user_id == user.id)
        )
    return cache[user.id]


def actor_for(user) -> Actor:
    customer = customer_for_user(user)
    actor = Actor.for_user(user, customer)
    if customer is not None and "Reseller" in actor.roles and not actor.is_reseller:
        actor = Actor(actor.user_id, actor.label, actor.roles, actor.customer_id, True)
    return actor


def current_user_obj():
    """The logged-in FAB user (web session or JWT), or None."""
    if not has_request_context():
        return None
    user = g.get("user")
    if user is not None and getattr(user, "is_authenticated", False):
        return user
    try:
        from flask_login import current_user
    except ImportError:  # pragma: no cover
        return None
    return current_user if getattr(current_user, "is_authenticated", False) else None


def current_actor() -> Actor:
    user = current_user_obj()
    if user is None:
        return Actor.public()
    return actor_for(user)


def current_customer_id() -> int:
    """For FAB ``base_filters``: the logged-in customer's id, or -1 (matches nothing)."""
    actor = current_actor()
    return actor.customer_id if actor.customer_id is not None else -1


def is_scoped(actor: Actor) -> bool:
    """Customers (and anonymous callers) are limited to one account; staff see all."""
    return not (actor.is_staff or actor.system or actor.is_technician)


def scoped(stmt, model, actor: Actor):
    """Narrow a ``select()`` of ``model`` to what ``actor`` may see."""
    if actor.is_technician and model is WorkOrder:
        return stmt.where(or_(WorkOrder.technician_id == actor.user_id, WorkOrder.technician_id.is_(None)))
    if not is_scoped(actor):
        return stmt
    if actor.customer_id is None:
        return stmt.where(false())
    if model is Customer:
        return stmt.where(Customer.id == actor.customer_id)
    if model in OWNED:
        return _visible(model, stmt.where(model.customer_id == actor.customer_id))
    if model is PartLine:
        stmt = stmt.join(LabourLine, PartLine.labour_line_id == LabourLine.id).join(
            Estimate, LabourLine.estimate_id == Estimate.id
        ).where(Estimate.customer_id == actor.customer_id)
        return _visible(Estimate, stmt)
    if model in CHILDREN:
        parent, fk = CHILDREN[model]
        stmt = stmt.join(parent, fk == parent.id).where(parent.customer_id == actor.customer_id)
        return _visible(parent, _visible(model, stmt))
    # Anything else (settings, users, audit, reports…) is staff-only.
    return stmt.where(false())


def staff_feed(actor: Actor):
    """The where-clause of a staff user's notifications: what is addressed to them, and for staff (not
    technicians) the shop-wide feed too. The notification list and the navbar's unread badge both use it."""
    mine = Notification.user_id == (actor.user_id or -1)
    return (Notification.audience == "staff") & (or_(mine, Notification.user_id.is_(None)) if actor.is_staff else mine)


def unread_staff_notifications(actor: Actor) -> int:
    """How many of the actor's staff notifications are unread (one indexed count)."""
    stmt = select(func.count(Notification.id)).where(staff_feed(actor), Notification.read_at.is_(None))
    return db.session.scalar(stmt) or 0


def get_for(model, ident, actor: Actor):
    """The row with primary key ``ident`` if ``actor`` may see it; ``NotFound`` otherwise."""
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not 0 < ident < 2**31:  # no key is beyond 32 bits (PostgreSQL would refuse the comparison)
        raise NotFound()
    row = db.session.scalar(scoped(select(model).where(model.id == ident), model, actor))
    if row is None:
        raise NotFound(f"{model.__name__} {ident} not found")
    return row


def ensure_visible(obj, actor: Actor) -> None:
    """``perform``'s first check: an actor acting on a row they may not see gets 404, like an absent row."""
    if obj is None:
        raise NotFound()
    if not (is_scoped(actor) or (actor.is_technician and isinstance(obj, WorkOrder))):
        return
    if obj.id is None:  # not saved yet: only its owner field can tell
        if is_scoped(actor) and getattr(obj, "customer_id", actor.customer_id) != actor.customer_id:
            raise NotFound()
        return
    model = type(obj)
    found = db.session.scalar(scoped(select(model.id).where(model.id == obj.id), model, actor))
    if found is None:
        raise NotFound()


def archived_clause(model, archived: bool = False):
    """Rows in use (``archived`` False: what pickers and default lists offer) or the archived ones.

    Customers, units and addresses carry ``archived_at``; reference rows and users are archived when
    inactive. ``None`` for a model that is never archived."""
    if hasattr(model, "archived_at"):
        return model.archived_at.is_not(None) if archived else model.archived_at.is_(None)
    if hasattr(model, "active"):
        return model.active.is_(False) if archived else model.active.is_(True)
    return None


def in_use(stmt, model):
    """``stmt`` without archived rows of ``model`` (pickers, the portal's lists)."""
    clause = archived_clause(model)
    return stmt.where(clause) if clause is not None else stmt
