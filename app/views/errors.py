"""Service errors become answers: JSON with the right status under /api/, a flash message elsewhere."""
from __future__ import annotations

import logging

from flask import flash, jsonify, redirect, request
from sqlalchemy.exc import OperationalError

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


def register(app) -> None:
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
