"""One language decision per person (issue 16, item 1): English or German (``LANGUAGES`` in config.py).

For a request (a staff screen, a portal page, a flash, a form error): the logged-in person's profile (a
staff user's ``StaffPreference.language``; a portal user's ``PortalUser.language``, else their customer's
``Customer.language``), else the visitor's own choice in this session (Flask-AppBuilder's language menu,
the portal footer's buttons), else the browser's ``Accept-Language``, else the shop's default
(``Settings.default_language``), else ``BABEL_DEFAULT_LOCALE``.

For something sent to someone (an e-mail, a notification, a document, a calendar invite):
``for_user`` / ``for_customer`` give the recipient's language, whoever presses the button; render it
inside ``flask_babel.force_locale(...)``.
"""
from __future__ import annotations

from flask import current_app, has_request_context, request, session
from sqlalchemy import select

from ..extensions import db
from ..models import PortalUser, StaffPreference

#: The session keys of a visitor's choice: the portal footer's and Flask-AppBuilder's language menu.
PORTAL_SESSION_KEY = "portal_locale"
FAB_SESSION_KEY = "locale"


def known() -> dict:
    return current_app.config.get("LANGUAGES") or {"en": {}}


def _valid(language) -> str | None:
    return language if language and language in known() else None


def shop_default() -> str:
    """The shop's default language (Setup → Shop settings), else ``BABEL_DEFAULT_LOCALE``."""
    from .settings import get_settings

    try:
        chosen = get_settings().default_language
    except Exception:  # noqa: BLE001 - no settings table yet (a first migration run)
        db.session.rollback()
        chosen = None
    return _valid(chosen) or current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


def staff_language(user) -> str | None:
    """A staff user's own choice, or None."""
    if user is None or getattr(user, "id", None) is None:
        return None
    return _valid(db.session.scalar(select(StaffPreference.language).where(StaffPreference.user_id == user.id)))


def set_staff_language(user, language: str | None) -> None:
    """Keep a staff user's choice (None: no choice); the caller commits."""
    language = _valid(language)
    row = db.session.get(StaffPreference, user.id)
    if row is None:
        row = StaffPreference(user_id=user.id)
        db.session.add(row)
    row.language = language


def is_portal_login(user) -> bool:
    return db.session.scalar(select(PortalUser.id).where(PortalUser.user_id == user.id)) is not None


def profile_language(user) -> str | None:
    """The language a login chose in its profile: a portal user's (else its customer's), a staff user's."""
    if user is None or getattr(user, "id", None) is None:
        return None
    link = db.session.scalar(select(PortalUser).where(PortalUser.user_id == user.id))
    if link is not None:
        return _valid(link.language) or _valid(link.customer.language if link.customer else None)
    return staff_language(user)


def browser_language() -> str | None:
    if not has_request_context():
        return None
    return request.accept_languages.best_match(list(known()))


def for_user(user) -> str:
    """The language to write to a login in (an e-mail, a notification): its profile, else the shop's."""
    return profile_language(user) or shop_default()


def for_customer(customer) -> str:
    """The language to write to a customer account in: the account's, else the shop's default."""
    return _valid(getattr(customer, "language", None)) or shop_default()


def for_request(user=None) -> str:
    """The language of the current request (see the module's docstring)."""
    if has_request_context():
        for arg, value in request.args.items():  # Flask-AppBuilder's APIs: ?_l_=de
            if arg == "_l_" and _valid(value):
                return value
    chosen = profile_language(user)
    if chosen:
        return chosen
    if has_request_context():
        portal = request.path == "/portal" or request.path.startswith("/portal/")
        keys = (PORTAL_SESSION_KEY, FAB_SESSION_KEY) if portal else (FAB_SESSION_KEY, PORTAL_SESSION_KEY)
        for key in keys:
            if _valid(session.get(key)):
                return session[key]
    return browser_language() or shop_default()
