"""What the dashboard shows: everything that waits for the customer, each row through ``scope``."""
from __future__ import annotations

from sqlalchemy import func, select

from ...core.scope import scoped
from ...extensions import db
from ...models import Estimate, Invoice, Notification, ServiceRequest, WorkOrder, utcnow

LIMIT = 10


def _rows(stmt, model, actor):
    return list(db.session.scalars(scoped(stmt, model, actor).limit(LIMIT)))


def _count(model, actor, *where) -> int:
    return db.session.scalar(scoped(select(func.count(model.id)), model, actor).where(*where)) or 0


def dashboard_context(actor) -> dict:
    now = utcnow()
    due = (Invoice.status.in_(("open", "awaiting_authorization")), Invoice.total > Invoice.amount_paid)
    waiting_estimates = (Estimate.status == "sent",)
    open_requests = (ServiceRequest.status.in_(("new", "time_proposed")),)
    upcoming = (ServiceRequest.status == "accepted", ServiceRequest.scheduled_start > now)
    unread = (Notification.read_at.is_(None),)
    return {
        "payments_due": _rows(select(Invoice).where(*due).order_by(Invoice.due_date, Invoice.id), Invoice, actor),
        "payments_due_count": _count(Invoice, actor, *due),
        "estimates_waiting": _rows(select(Estimate).where(*waiting_estimates).order_by(Estimate.sent_at),
                                   Estimate, actor),
        "estimates_waiting_count": _count(Estimate, actor, *waiting_estimates),
        "open_requests": _rows(select(ServiceRequest).where(*open_requests)
                               .order_by(ServiceRequest.created_at.desc()), ServiceRequest, actor),
        "open_requests_count": _count(ServiceRequest, actor, *open_requests),
        "upcoming_bookings": _rows(select(ServiceRequest).where(*upcoming).order_by(ServiceRequest.scheduled_start),
                                   ServiceRequest, actor),
        "upcoming_count": _count(ServiceRequest, actor, *upcoming),
        "orders_at_shop_count": _count(WorkOrder, actor,
                                       WorkOrder.status.in_(("received", "in_progress", "ready"))),
        "notifications": _rows(select(Notification).where(*unread)
                               .order_by(Notification.created_at.desc(), Notification.id.desc()),
                               Notification, actor),
        "notifications_count": _count(Notification, actor, *unread),
    }
