"""The portal's language: English or German (``LANGUAGES`` in config.py), with Flask-Babel.

Under ``/portal/`` the language is, in this order: the logged-in customer's profile (``PortalUser.language``,
else ``Customer.language``), the visitor's own choice (the language buttons in the portal footer, kept in
the session), the browser's ``Accept-Language``, the default (``BABEL_DEFAULT_LOCALE``). Staff screens
keep Flask-AppBuilder's own choice (its language menu). The catalogue is ``app/translations/de``; how to
add strings is written at the top of its ``messages.po``.
"""
from __future__ import annotations

from flask import current_app, has_request_context, request, session

SESSION_KEY = "portal_locale"


def languages() -> dict:
    return current_app.config.get("LANGUAGES") or {"en": {}}


def portal_locale() -> str:
    from ...core.scope import current_user_obj
    from ...services.portal_auth import user_language

    known = languages()
    user = current_user_obj()
    if user is not None:
        wanted = user_language(user)
        if wanted in known:
            return wanted
    chosen = session.get(SESSION_KEY)
    if chosen in known:
        return chosen
    best = request.accept_languages.best_match(list(known))
    return best or current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


def install(app) -> None:
    """Wrap Flask-AppBuilder's locale selector: the portal's rules under ``/portal/``, FAB's elsewhere."""
    state = app.extensions["babel"]
    fab_selector = state.locale_selector
    if getattr(fab_selector, "_portico_portal", False):
        return

    def select_locale():
        if has_request_context() and (request.path == "/portal" or request.path.startswith("/portal/")):
            return portal_locale()
        return fab_selector() if fab_selector else None

    select_locale._portico_portal = True
    state.locale_selector = select_locale
