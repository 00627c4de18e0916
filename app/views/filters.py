"""Jinja helpers for every template: money, local times, status labels."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l

from ..core.settings import get_settings, to_local

#: What the audit trail and the outbox call a record (a table name) in words.
RECORD_TYPES = {
    "service_request": _l("Service request"), "estimate": _l("Estimate"), "work_order": _l("Work order"),
    "invoice": _l("Invoice"), "credit_note": _l("Credit note"), "shipment": _l("Shipment"),
    "customer": _l("Customer"), "unit": _l("Unit"), "address": _l("Address"), "ab_user": _l("Login"),
    "report_definition": _l("Scheduled report"), "report_run": _l("Report run"), "request": _l("Service request"),
    "report": _l("Report"), "settings": _l("Settings"), "service_type": _l("Service type"),
    "service_location": _l("Service location"), "shipping_method": _l("Shipping method"),
    "work_item_template": _l("Work item template"), "import_batch": _l("Import"), "portal_user": _l("Portal user"),
}


def format_money(value) -> str:
    if value is None:
        return ""
    return f"{Decimal(value):,.2f} {get_settings().currency}"


def format_local(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = to_local(value)
    return local.strftime(fmt) if local else ""


def format_day(value, style: str = "medium") -> str:
    """A date in the reader's language: "Mon, 7 Dec 2026" (``full``: "Monday, 7 December")."""
    from babel.dates import format_date
    from flask_babel import get_locale

    if value is None:
        return ""
    pattern = {"full": "EEEE, d MMMM", "medium": "EEE, d MMM yyyy"}.get(style, style)
    return format_date(value, pattern, locale=str(get_locale() or "en"))


def format_when(value) -> str:
    """A stored UTC time in shop time and the reader's language: "Mon, 7 Dec 2026, 17:30"."""
    from ..services.availability import when

    return when(value) if value is not None else ""


#: Every state value of SPEC section 3 (requests, estimates, work orders, invoices, shipments), report runs
#: and work-order kinds, in the reader's language. One table for staff pages, portal, PDFs and mails.
STATE_LABELS = {
    "new": _l("New"), "time_proposed": _l("Time proposed"), "accepted": _l("Accepted"),
    "rejected": _l("Rejected"), "cancelled": _l("Cancelled"), "resolved": _l("Resolved"),
    "draft": _l("Draft"), "sent": _l("Sent"), "approved": _l("Approved"), "declined": _l("Declined"),
    "disputed": _l("Disputed"), "superseded": _l("Superseded"),
    "pending_confirmation": _l("Pending confirmation"), "confirmed": _l("Confirmed"), "received": _l("Received"),
    "in_progress": _l("In progress"), "ready": _l("Ready"), "completed": _l("Completed"),
    "awaiting_authorization": _l("Awaiting authorization"), "open": _l("Open"), "paid": _l("Paid"),
    "void": _l("Void"), "queued": _l("Queued"), "running": _l("Running"), "succeeded": _l("Succeeded"),
    "failed": _l("Failed"), "job": _l("Job"), "inspection": _l("Inspection"), "repair": _l("Repair"),
}


def status_label(value) -> str:
    """``confirmed`` → "Confirmed" (German: "Bestätigt"); an unknown value falls back to its words."""
    if not value:
        return ""
    label = STATE_LABELS.get(str(value))
    return str(label) if label is not None else str(value).replace("_", " ").capitalize()


def record_label(value) -> str:
    """``work_order`` → "Work order"; an event such as ``request.time_proposed`` → "Service request: time
    proposed"."""
    if not value:
        return ""
    record, _sep, what = str(value).partition(".")
    name = str(RECORD_TYPES.get(record) or status_label(record))
    return f"{name}: {status_label(what).lower()}" if what else name


def may(obj, action: str) -> bool:
    """For templates: may the logged-in user take ``action`` on ``obj`` now? The entity's action table
    answers (a button is shown from this, never from a status written into a template)."""
    from ..core.scope import current_actor
    from ..services.workflow import table_of

    return table_of(obj).may(obj, action, current_actor())


def staff_unread() -> int:
    """For the staff navbar's badge: the logged-in user's unread staff notifications."""
    from ..core.scope import current_actor, unread_staff_notifications

    return unread_staff_notifications(current_actor())


def report_form_fields() -> dict:
    """For the scheduled report form's script: the generated parameter fields each report uses."""
    from .report_form import used_by

    return used_by()


def register(app) -> None:
    app.add_template_global(may, "may")
    app.add_template_global(report_form_fields, "report_form_fields")
    app.add_template_global(staff_unread, "staff_unread")
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["local"] = format_local
    app.jinja_env.filters["status_label"] = status_label
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["when"] = format_when
