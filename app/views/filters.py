"""Jinja helpers for every template: money, local times, status labels."""
from __future__ import annotations

from decimal import Decimal

from ..core.settings import get_settings, to_local


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


def status_label(value) -> str:
    return (value or "").replace("_", " ").capitalize()


def may(obj, action: str) -> bool:
    """For templates: may the logged-in user take ``action`` on ``obj`` now? The entity's action table
    answers (a button is shown from this, never from a status written into a template)."""
    from ..core.scope import current_actor
    from ..services.workflow import table_of

    return table_of(obj).may(obj, action, current_actor())


def register(app) -> None:
    app.add_template_global(may, "may")
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["local"] = format_local
    app.jinja_env.filters["status_label"] = status_label
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["when"] = format_when
