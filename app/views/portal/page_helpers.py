"""Helpers the logged-in customer's pages share: scoped fetches that answer 404, paging, form parsing,
the navigation and translated status labels."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from flask import abort, flash, g, has_request_context, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ...core import addresses
from ...core.errors import InvalidTransition, NotFound, PermissionDenied, ServiceError, StaleObject
from ...core.scope import get_for, scoped
from ...extensions import db

PAGE_SIZE = 25

STATUS_LABELS = {
    "new": _l("New"), "time_proposed": _l("Time proposed"), "accepted": _l("Booked"), "rejected": _l("Declined"),
    "cancelled": _l("Cancelled"), "resolved": _l("Resolved"), "draft": _l("Draft"),
    "sent": _l("Awaiting your approval"),
    "approved": _l("Approved"), "declined": _l("Declined"), "disputed": _l("Disputed"),
    "superseded": _l("Superseded"), "pending_confirmation": _l("Awaiting confirmation"),
    "confirmed": _l("Confirmed"), "received": _l("Received"), "in_progress": _l("In progress"),
    "ready": _l("Ready"), "completed": _l("Completed"), "awaiting_authorization": _l("Awaiting your authorization"),
    "open": _l("Open"), "paid": _l("Paid"), "void": _l("Void"),
}
SLOT_LABELS = {"morning": _l("Morning"), "afternoon": _l("Afternoon"), "evening": _l("Evening"),
               "custom": _l("At a time I choose")}
UNIT_KIND_LABELS = {"vehicle": _l("Vehicle"), "device": _l("Device"), "equipment": _l("Equipment")}


def status_text(value) -> str:
    label = STATUS_LABELS.get(value)
    return str(label) if label is not None else (value or "").replace("_", " ").capitalize()


def actor():
    return g.get("portal_actor")


def get_or_404(model, ident):
    """The actor's row, or 404 (absent and another customer's look the same)."""
    try:
        return get_for(model, ident, actor())
    except NotFound:
        abort(404)


def mine(model, stmt=None):
    """``select(model)`` narrowed to the logged-in customer's rows."""
    return scoped(stmt if stmt is not None else select(model), model, actor())


@dataclass
class Page:
    items: list
    page: int
    pages: int
    total: int
    per_page: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def page_number() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except (TypeError, ValueError):
        return 1


def paginate(stmt, per_page: int = PAGE_SIZE) -> Page:
    """One page of ``stmt`` (already scoped and ordered) and the total, for lists of any length."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(page_number(), pages)
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique())
    return Page(items, page, pages, total, per_page)


def form_value(name: str, default: str = "") -> str:
    return (request.form.get(name) or default).strip()


def parse_date(value: str, field: str, errors: dict) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors.setdefault(field, []).append(_("Enter a date such as 2025-03-14."))
        return None


def parse_time(value: str, field: str, errors: dict) -> dt.time | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        errors.setdefault(field, []).append(_("Enter a time such as 09:30."))
        return None


def flash_service_error(error: ServiceError) -> None:
    """A refused transition (409), a stale form or a role refusal: say why, in the user's words."""
    if isinstance(error, InvalidTransition):
        flash(_("This could not be done: it is now %(status)s.", status=status_text(error.current_status)),
              "danger")
    elif isinstance(error, StaleObject):
        flash(_("This was changed in the meantime. Look at the current state and try again."), "danger")
    elif isinstance(error, PermissionDenied):
        flash(_("You may not do this."), "danger")
    else:
        flash(error.message, "danger")


def back_to(endpoint: str, **values):
    return redirect(url_for(endpoint, **values))


# ---------------------------------------------------------------- navigation (the nav block of base.html)
def _unread() -> int:
    from ...services.customers import unread_count

    current = actor()
    return unread_count(current) if current is not None else 0


def portal_nav() -> list[dict]:
    """The portal's menu for the logged-in customer; the current section is marked."""
    current = actor() if has_request_context() else None
    if current is None:
        return []
    items = [
        ("dashboard", _("Dashboard"), url_for("PortalHomeView.index"), None),
        ("requests", _("Requests"), url_for("PortalRequestsView.list"), None),
        ("estimates", _("Estimates"), url_for("PortalEstimatesView.list"), None),
        ("orders", _("Orders"), url_for("PortalOrdersView.list"), None),
        ("invoices", _("Invoices"), url_for("PortalInvoicesView.list"), None),
    ]
    if current.is_reseller:
        items.append(("shipments", _("Shipments"), url_for("PortalShipmentView.list"), None))
    items += [
        ("profile", _("Profile"), url_for("PortalProfileView.show"), None),
        ("notifications", _("Notifications"), url_for("PortalNotificationsView.list"), _unread()),
    ]
    path = request.path.rstrip("/")
    nav = []
    for key, label, href, badge in items:
        target = href.rstrip("/")
        active = path == target if key == "dashboard" else (path == target or path.startswith(target + "/"))
        nav.append({"key": key, "label": label, "href": href, "badge": badge, "active": active})
    return nav


def install(app) -> None:
    """Template globals for the portal pages (called once from ``portal.register``)."""
    app.add_template_global(portal_nav, "portal_nav")
    app.add_template_global(status_text, "portal_status")
    app.add_template_global(SLOT_LABELS, "portal_slots")
    app.add_template_global(UNIT_KIND_LABELS, "portal_unit_kinds")
    app.add_template_global(addresses.form, "address_form")
