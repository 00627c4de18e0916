"""What every REST resource shares: error answers, the JSON body, schema loading, audiences and row scope.

Errors follow SPEC §6: 400 malformed, 401 not logged in, 403 role not allowed, 404 absent or not yours,
409 transition not allowed (the body names the current ``status``), 413 too large, 422 validation with
``{"message": {field: [..]}}``. Service exceptions carry their meaning (``app.core.errors``) and are
mapped here; nothing a client sends may end in a 500.
"""
from __future__ import annotations

import functools
import json
import logging

from flask import current_app, jsonify, make_response, request
from flask_appbuilder.models.filters import BaseFilter
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError, StatementError
from werkzeug.exceptions import RequestEntityTooLarge

from ..core.errors import BUSY_MESSAGE, ServiceError, database_busy, flatten_messages
from ..core.scope import current_actor, current_user_obj, customer_for_user, scoped
from ..extensions import db
from ..views.errors import error_body
from ..web import storable_json

log = logging.getLogger(__name__)

#: Largest JSON body the API reads (uploads go elsewhere and have their own limit).
DEFAULT_MAX_BODY = 1024 * 1024


class ApiError(Exception):
    """An answer other than success: ``status`` and a message (a string or ``{field: [messages]}``)."""

    def __init__(self, code: int, message, /, **extra):
        super().__init__(message if isinstance(message, str) else json.dumps(message))
        self.status = code
        self.message = message
        self.extra = extra


def respond(code: int, /, **body):
    response = make_response(jsonify(body), code)
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    return response




def refuse_locked_account() -> None:
    """A locked customer account is shut out of the API too (its JWTs and API keys included)."""
    customer = customer_for_user(current_user_obj())
    if customer is not None and customer.shut_out:
        raise ApiError(403, "This customer account is locked. Contact the shop.")


def guarded(view):
    """Turn the errors of one API call into SPEC §6 answers; roll back whatever the call had begun."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            refuse_locked_account()
            return view(*args, **kwargs)
        except ApiError as error:
            db.session.rollback()
            return respond(error.status, message=error.message, **error.extra)
        except ServiceError as error:
            db.session.rollback()
            return respond(error.status_code, **error_body(error))
        except ValidationError as error:
            db.session.rollback()
            return respond(422, message=flatten_messages(error.messages))
        except IntegrityError as error:
            db.session.rollback()
            log.info("API write refused by a constraint: %s", error.orig)
            return respond(409, message="This conflicts with existing data (a duplicate, or a row still in use). "
                                        "Reload and try again.")
        except (StatementError, DBAPIError) as error:
            db.session.rollback()
            if database_busy(error):
                response = respond(503, message=str(BUSY_MESSAGE))
                response.headers["Retry-After"] = "2"
                return response
            log.info("API query refused by the database: %s", error)
            return respond(400, message="A value in the request does not fit its field.")
        except SQLAlchemyError:
            db.session.rollback()
            raise

    return wrapper


def max_body() -> int:
    return int(current_app.config.get("PORTICO_API_MAX_BODY", DEFAULT_MAX_BODY))


def json_body(required: bool = True) -> dict:
    """The request's JSON object. Empty is ``{}`` unless ``required``; anything else malformed is 400."""
    limit = max_body()
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"The request body is too large (at most {limit} bytes).")
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise ApiError(413, f"The request body is too large (at most {limit} bytes).") from None
    if len(raw) > limit:
        raise ApiError(413, f"The request body is too large (at most {limit} bytes).")
    if not raw.strip():
        if required:
            raise ApiError(400, "Send a JSON object as the request body (Content-Type: application/json).")
        return {}
    if request.mimetype and request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise ApiError(400, "Send the body as JSON (Content-Type: application/json).")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise ApiError(400, f"The body is not valid JSON: {error}") from None
    if data is None and not required:
        return {}
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object.")
    if not storable_json(data):
        raise ApiError(400, "A value in the body contains characters that cannot be stored (a NUL byte or a "
                            "lone surrogate).")
    return data


def load(schema, data: dict, **kwargs) -> dict:
    """Validate ``data`` with a marshmallow schema; field messages become a 422."""
    try:
        return schema.load(data, **kwargs)
    except ValidationError as error:
        raise ApiError(422, flatten_messages(error.messages)) from None


def audience(actor) -> str:
    """Whose view of the data an actor gets: ``staff``, ``technician`` (no prices) or ``customer``."""
    if actor.is_staff or actor.system:
        return "staff"
    if actor.is_technician:
        return "technician"
    return "customer"


class FilterScope(BaseFilter):
    """A base filter for every resource: only the rows ``scope.scoped`` lets the current actor see."""

    name = "Rows the user may see"
    arg_name = None

    def apply(self, query, value):
        return scoped(query, self.model, current_actor())


class FilterArchived(BaseFilter):
    """Archivable rows: ``value`` True lists only the archived, False (the default) leaves them out."""

    name = "Archived"
    arg_name = None

    def apply(self, query, value):
        column = self.model.archived_at
        return query.filter(column.is_not(None) if value else column.is_(None))


def parse_int(value) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None
