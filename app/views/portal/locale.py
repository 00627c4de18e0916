"""The locale selector of every request, staff screens and portal alike (``core.languages.for_request``).

It replaces Flask-AppBuilder's (which only read its session key and never the browser or a profile), and a
staff user's pick in FAB's language menu is kept in their profile (``StaffPreference``), so it follows them
to the next browser and to the e-mails they receive. The catalogue is ``app/translations/de`` merged with
FAB's own German catalogue; how to add strings is written at the top of its ``messages.po``.
"""
from __future__ import annotations

from flask import current_app, has_request_context, request, session

from ...core import languages as lang

SESSION_KEY = lang.PORTAL_SESSION_KEY


def languages() -> dict:
    return current_app.config.get("LANGUAGES") or {"en": {}}


def portal_locale() -> str:
    from ...core.scope import current_user_obj

    return lang.for_request(current_user_obj())


def select_locale() -> str:
    from ...core.scope import current_user_obj

    chosen = lang.for_request(current_user_obj())
    if has_request_context() and not request.path.startswith("/portal") and session.get(lang.FAB_SESSION_KEY) != chosen:
        session[lang.FAB_SESSION_KEY] = chosen  # FAB's language menu shows the flag of its session key
    return chosen


def _remember_menu_choice() -> None:
    """FAB's language menu (``/lang/<code>``): a logged-in staff user's choice goes into their profile."""
    if request.endpoint != "LocaleView.index":
        return
    from ...core.scope import current_user_obj
    from ...extensions import db

    code = (request.view_args or {}).get("locale")
    user = current_user_obj()
    if code not in languages() or user is None:
        return
    if lang.is_portal_login(user):
        session[SESSION_KEY] = code  # a customer's language is chosen in the portal's own profile
        return
    lang.set_staff_language(user, code)
    db.session.commit()


def install(app) -> None:
    """Make ``select_locale`` Flask-Babel's selector and keep FAB language-menu choices."""
    state = app.extensions["babel"]
    if getattr(state.locale_selector, "_portico", False):
        return
    select_locale._portico = True
    state.locale_selector = select_locale
    app.before_request(_remember_menu_choice)
