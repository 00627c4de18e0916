"""Service errors become answers: JSON with the right status under /api/, a flash message elsewhere."""
from __future__ import annotations

import logging

from flask import current_app, flash, jsonify, redirect, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from ..core.errors import (
    BUSY_MESSAGE,
    InvalidTransition,
    ServiceError,
    StaleObject,
    ValidationFailed,
    database_busy,
)


def error_body(error: ServiceError) -> dict:
    if isinstance(error, ValidationFailed):
        return {"message": error.errors}
    body = {"message": error.message}
    if isinstance(error, (InvalidTransition, StaleObject)) and error.current_status:
        body["status"] = error.current_status
    return body


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


#: The pages a person sees instead of Werkzeug's bare "Forbidden" / "Not Found": title and explanation.
ERROR_PAGES = {
    403: (_l("You may not open this page"),
          _l("Your account has no access to it. If you think it should, ask the shop's administrator.")),
    404: (_l("Page not found"),
          _l("This page does not exist, has moved, or is not one you may see.")),
    405: (_l("This page cannot do that"),
          _l("The page does not take this kind of request. Go back and use its buttons.")),
    500: (_l("Something went wrong on our side"),
          _l("It is not your fault, and it has been logged. Try again in a moment; if it happens again, "
             "tell the shop the reference below.")),
}


def _portal_side() -> bool:
    """Portal pages, the public form and everyone who is not staff get the portal's layout."""
    from flask_login import current_user

    from ..core.actors import CUSTOMER_ROLES

    if request.path.startswith(("/portal", "/request")):
        return True
    if not getattr(current_user, "is_authenticated", False):
        return True
    return not {role.name for role in (current_user.roles or [])} - CUSTOMER_ROLES


def _same_site_back() -> str | None:
    referrer = request.referrer or ""
    host = request.host_url
    if referrer.startswith(host) and referrer.rstrip("/") != request.url.rstrip("/"):
        return "/" + referrer[len(host):]
    return None


def error_page(code: int):
    """The error page for ``code`` in the layout of whoever asked, with a way back; plain text if the layout
    itself cannot be drawn (a 500 because the database is gone must still answer)."""
    from ..ops.context import current_request_id

    title, text = ERROR_PAGES[code]
    portal = _portal_side()
    page = {"title": title, "text": text, "back": _same_site_back(),
            "home": "/portal/" if portal else "/",
            "reference": current_request_id() if code >= 500 else None}
    try:
        if portal:
            from flask_babel import get_locale

            from ..core.settings import get_settings

            html = render_template("errors/portal.html", page=page, shop=get_settings(), portal_customer=None,
                                   portal_locale=str(get_locale() or "en"))
        else:
            appbuilder = current_app.appbuilder
            html = render_template("errors/staff.html", page=page, appbuilder=appbuilder,
                                   base_template=appbuilder.base_template)
    except Exception:  # noqa: BLE001 - the error page must answer even when the layout cannot be drawn
        logging.getLogger("portico.web").exception("The %s page could not be drawn", code)
        html = f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{text}</p><p><a href=\"/\">/</a></p>"
    return html, code


def register(app) -> None:
    def html_error(error: HTTPException):
        allow = {"Allow": ", ".join(error.valid_methods)} if getattr(error, "valid_methods", None) else {}
        if wants_json():
            return jsonify({"message": error.description or error.name}), error.code, allow
        return (*error_page(error.code), allow)

    for code in (403, 404, 405):
        app.register_error_handler(code, html_error)

    @app.errorhandler(500)
    def internal_error(error):
        """An unhandled exception (never shown to the user as a trace): logged by Flask, answered here."""
        from ..extensions import db

        db.session.rollback()
        if wants_json():
            return jsonify({"message": "Internal error"}), 500
        return error_page(500)

    @app.errorhandler(ServiceError)
    def handle_service_error(error: ServiceError):
        if wants_json():
            return jsonify(error_body(error)), error.status_code
        flash(error.message, "danger")
        return redirect(request.referrer or "/")

    @app.errorhandler(400)
    def bad_request(error):
        """Malformed input (CSRF, unstorable characters, a broken ``q``): JSON under /api/, text elsewhere."""
        message = getattr(error, "description", None) or "The request is malformed."
        if wants_json():
            return jsonify({"message": message}), 400
        return message, 400

    @app.errorhandler(OperationalError)
    def busy_database(error: OperationalError):
        """SQLite's single writer held the lock past the busy timeout (or PostgreSQL refused for a moment):
        503 with ``Retry-After``; the unit of work was rolled back and nothing half-done stays."""
        from ..extensions import db

        db.session.rollback()
        if not database_busy(error):
            raise error
        logging.getLogger("portico.web").warning("Database busy on %s %s: %s", request.method, request.path,
                                                 getattr(error, "orig", error))
        message = str(BUSY_MESSAGE)
        if wants_json():
            return jsonify({"message": message}), 503, {"Retry-After": "2"}
        return message, 503, {"Retry-After": "2"}

    @app.errorhandler(413)
    def too_large(_error):
        message = "The upload is too large."
        if wants_json():
            return jsonify({"message": message}), 413
        return message, 413
