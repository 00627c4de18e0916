"""Jinja helpers for every template: money, local times, status labels."""
from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from ..core import formatting
from ..core.numbers import shown_number
from ..services.invoices import METHOD_WORDS

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
    """Money in the shop's currency, as the reader writes it: ``1.234,50 €`` / ``€1,234.50``."""
    return formatting.money(value)


#: The strftime patterns templates used to pass to ``|local``, → the day style and whether a time follows.
_LOCAL_STYLES = {"%Y-%m-%d": ("medium", False), "%H:%M": (None, True), "%Y-%m-%d %H:%M": ("medium", True),
                 "%A %d %B %Y": ("full", False), "%A %d %B %Y, %H:%M": ("full", True),
                 "%a %d %b %H:%M": ("weekday_day", True)}


def format_local(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time in shop time and the reader's language ("03.12.2026, 14:30" / "Dec 3, 2026, 2:30 PM").
    ``fmt`` is a style (``medium``, ``full``, ``time``, ``date``…) or one of the former strftime patterns."""
    if value is None:
        return ""
    day, clock = _LOCAL_STYLES.get(fmt, (fmt, True))
    if fmt == "time" or day is None:
        return formatting.time(value)
    if fmt == "date" or not clock:
        return formatting.date(value, "medium" if fmt == "date" else day)
    if day in ("short", "medium", "long", "full"):
        return formatting.datetime(value, day)
    return f"{formatting.date(value, day)} {formatting.time(value)}"  # "Tue 8 Dec 10:00", as the sentences say


def format_day(value, style: str = "medium") -> str:
    """A date in the reader's language: "Mon, Dec 7, 2026" / "Mo., 7. Dez. 2026" (``full``: "Monday,
    December 7" / "Montag, 7. Dezember")."""
    if value is None:
        return ""
    return formatting.date(value, {"full": "weekday_long", "medium": "weekday_date"}.get(style, style))


def format_when(value) -> str:
    """A stored UTC time in shop time and the reader's language: "Mon, 7 Dec 2026, 17:30"."""
    from ..services.availability import when

    return when(value) if value is not None else ""


#: Every fixed value a person reads — states, kinds, slots, weekdays, methods, line kinds —
#: in words of the reader's language. A value missing here reads as itself, prettified (``in_progress`` →
#: "In progress"); report periods are named in reports.periods. tests/test_value_words.py checks that every
#: state and kind of the models is here.
VALUE_WORDS = {
    # states (SPEC §3)
    "new": _l("New"), "time_proposed": _l("Time proposed"), "accepted": _l("Accepted"), "rejected": _l("Rejected"),
    "cancelled": _l("Cancelled"), "resolved": _l("Resolved"), "draft": _l("Draft"), "sent": _l("Sent"),
    "approved": _l("Approved"), "declined": _l("Declined"), "disputed": _l("Disputed"),
    "superseded": _l("Superseded"), "pending_confirmation": _l("Pending confirmation"),
    "confirmed": _l("Confirmed"), "received": _l("Received"), "in_progress": _l("In progress"),
    "ready": _l("Ready"), "completed": _l("Completed"), "awaiting_authorization": _l("Awaiting authorization"),
    "open": _l("Open"), "paid": _l("Paid"), "void": _l("Void"),
    "uploaded": _l("Uploaded"), "checked": _l("Checked"), "queued": _l("Queued"), "running": _l("Running"),
    "imported": _l("Imported"), "failed": _l("Failed"), "undone": _l("Undone"), "archived": _l("Archived"),
    "succeeded": _l("Succeeded"), "pending": _l("Pending"), "given_up": _l("Given up"), "done": _l("Done"),
    "enabled": _l("Enabled"), "disabled": _l("Disabled"), "active": _l("Active"), "locked": _l("Locked"),
    # kinds
    "job": _l("Job"), "inspection": _l("Inspection"), "repair": _l("Repair"),
    "vehicle": _l("Vehicle"), "device": _l("Device"), "equipment": _l("Equipment"),
    "individual": _l("Individual"), "business": _l("Business"), "reseller": _l("Reseller"),
    "customers": _l("Customers"), "units": _l("Units"), "labour": _l("Labour"), "part": _l("Part"),
    "schedule": _l("Scheduled"), "manual": _l("By hand"),
    # who and where from: the sides of a dispute, a request's source
    "staff": _l("Staff"), "customer": _l("Customer"), "portal": _l("Portal"), "public": _l("Public form"),
    # notification groups
    "requests": _l("Requests"), "estimates": _l("Estimates"), "work_orders": _l("Work orders"),
    "invoices": _l("Invoices"), "shipments": _l("Shipments"), "messages": _l("Messages"),
    # slots, booking modes, weekdays
    "morning": _l("Morning"), "afternoon": _l("Afternoon"), "evening": _l("Evening"), "custom": _l("Custom time"),
    "request": _l("Request"), "instant": _l("Instant booking"),
    "mon": _l("Monday"), "tue": _l("Tuesday"), "wed": _l("Wednesday"), "thu": _l("Thursday"),
    "fri": _l("Friday"), "sat": _l("Saturday"), "sun": _l("Sunday"),
    # payment methods: the invoice service's words (it names them in its own messages)
    **METHOD_WORDS,
}


#: The states of SPEC §3 and the other values above: one table (the name tests/test_state_labels.py reads).
STATE_LABELS = VALUE_WORDS


def status_label(value) -> str:
    """A state, kind or other fixed value in the reader's words (``time_proposed`` → "Termin vorgeschlagen")."""
    from ..reports.periods import PERIODS

    word = (VALUE_WORDS.get(value) or PERIODS.get(value)) if isinstance(value, str) else None
    return str(word) if word is not None else (value or "").replace("_", " ").capitalize()


#: Languages whose nouns start with a capital letter wherever they stand.
NOUN_CAPITALS = {"de", "lb"}


def record_label(value) -> str:
    """``work_order`` → "Work order"; an event such as ``request.time_proposed`` → "Service request: time
    proposed"."""
    if not value:
        return ""
    record, _sep, what = str(value).partition(".")
    name = str(RECORD_TYPES.get(record) or status_label(record))
    if not what:
        return name
    word = status_label(what)
    # English lowers the state after the colon ("time proposed"); German keeps its nouns' capitals
    # ("Termin vorgeschlagen"): only languages that do not capitalize nouns lower the word.
    return f"{name}: {word.lower() if str(get_locale() or 'en')[:2] not in NOUN_CAPITALS else word}"


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


def action_word(value) -> str:
    """An action of an entity's table (``accept_time``) as the button names it, in the reader's language."""
    from .workflow import action_label

    return action_label(value) if value else ""


def history_reason(reason) -> str:
    """The "why" of a history line as the reader reads it: a payment's stored ``80.00 by transfer`` (new rows
    and old alike) → "€80.00 by bank transfer" / "80,00 € (Überweisung)"; any other reason as it was written."""
    from ..services.invoices import read_payment_line
    from .workflow import in_sentence

    payment = read_payment_line(reason)
    if payment is None:
        return reason or ""
    amount, method = payment
    return str(_l("%(amount)s by %(method)s", amount=formatting.money(amount),
                  method=in_sentence(status_label(method))))


def register(app) -> None:
    app.add_template_global(may, "may")
    app.add_template_global(report_form_fields, "report_form_fields")
    app.add_template_global(staff_unread, "staff_unread")
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["local"] = format_local
    app.jinja_env.filters["status_label"] = status_label
    app.jinja_env.filters["action_word"] = action_word
    app.jinja_env.filters["history_reason"] = history_reason
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["when"] = format_when
    # Issue 16: numbers, money and times in the reader's language (app/core/formatting.py).
    app.jinja_env.filters["number"] = formatting.number
    app.jinja_env.filters["percent"] = formatting.percent
    app.jinja_env.filters["date"] = formatting.date
    app.jinja_env.filters["time"] = formatting.time
    app.jinja_env.filters["datetime"] = formatting.datetime
    app.jinja_env.filters["weekday"] = formatting.weekday
    app.jinja_env.filters["age"] = formatting.age
    app.jinja_env.filters["shown_number"] = shown_number  # a form's value: 1234,50 on a German page
