"""Service exceptions carry their meaning and a translatable message.

The API answers them as JSON with their status code, screens and the portal as a flash message or field
errors on the form they came from (``app.views.errors``). Messages are ``lazy_gettext`` strings: they are
put into words in the language of whoever reads them, when they are read (``.message`` and ``.errors``
are plain strings in the current locale).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


def words(code: str | None) -> str:
    """``time_proposed`` → ``time proposed`` (states and actions inside a sentence)."""
    return (code or "").replace("_", " ")


#: Actions whose name is not a verb, as they read in "Cannot … this estimate".
VERBS = {"payments": "pay", "pay_online": "pay", "messages": "send a message on", "notes": "add a note to",
         "attach": "attach a file to", "lines": "change the lines of", "item": "tick the work items of",
         "work_order": "create a work order for", "estimate": "create an estimate for",
         "invoice": "invoice", "tracking": "set the tracking number of", "query": "query",
         "answer": "answer the query of", "reissue": "void and re-issue", "offer_again": "offer the declined lines "
         "of", "reschedule": "move the booking of", "remind": "send the reminder of", "rotate_feed": "renew the "
         "feed of", "invite": "invite a person to the portal of", "send_login_link": "send a login link for",
         "send_password_reset": "send a password reset for", "login_link": "make a login link for",
         "lock_user": "lock a login of", "unlock_user": "unlock a login of"}


def verb(action: str) -> str:
    return VERBS.get(action, words(action))


class ServiceError(Exception):
    status_code = 400

    def __init__(self, message):
        super().__init__(message)
        self._message = message

    @property
    def message(self) -> str:
        return str(self._message)

    def __str__(self) -> str:
        return self.message


class NotFound(ServiceError):
    """Absent, or not the actor's to see. Both answer the same (404) so ids cannot be probed."""

    status_code = 404

    def __init__(self, what=None):
        super().__init__(what or _l("Not found"))


class PermissionDenied(ServiceError):
    status_code = 403

    def __init__(self, message=None):
        super().__init__(message or _l("Your role may not do this."))

    @classmethod
    def for_action(cls, action: str, entity: str, creating: bool = False) -> PermissionDenied:
        if creating:
            return cls(_l("Your role may not %(action)s a %(entity)s.", action=words(action), entity=entity))
        return cls(_l("Your role may not %(action)s this %(entity)s.", action=words(action), entity=entity))


class InvalidTransition(ServiceError):
    """The action is not allowed in the record's current state (409; the body names the state)."""

    status_code = 409

    def __init__(self, entity: str, current_status: str, action: str):
        self.entity = entity
        self.current_status = current_status
        self.action = action
        super().__init__(_l("Cannot %(action)s this %(entity)s: it is %(status)s.", action=verb(action),
                            entity=entity, status=words(current_status)))


class Conflict(ServiceError):
    """The record's history forbids it (409): a delete that would orphan history, a closed document's lines."""

    status_code = 409


class StaleObject(ServiceError):
    status_code = 409

    def __init__(self, entity: str, current_status: str | None = None):
        self.current_status = current_status
        super().__init__(_l("This %(entity)s was changed by someone else since you opened it. "
                            "Reload it and try again.", entity=entity))


class ValidationFailed(ServiceError):
    """Field errors: ``{"field": ["message", ...]}`` (``labour_lines.0.hours`` for nested fields)."""

    status_code = 422

    def __init__(self, errors, field: str = "_schema"):
        if not isinstance(errors, dict):
            errors = {field: [errors]}
        self._errors = errors
        first = next(iter(errors.values()), None)
        super().__init__(first[0] if first else _l("Invalid input"))

    @property
    def errors(self) -> dict[str, list[str]]:
        return {name: [str(m) for m in messages] for name, messages in self._errors.items()}


def flatten_messages(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as ``{"labour_lines.0.hours": [...]}`` (the services' own shape)."""
    if isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            return {prefix or "_schema": list(messages)}
        flat: dict[str, list[str]] = {}
        for i, item in enumerate(messages):
            flat.update(flatten_messages(item, f"{prefix}.{i}" if prefix else str(i)))
        return flat
    if isinstance(messages, dict):
        flat = {}
        for key, value in messages.items():
            flat.update(flatten_messages(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix or "_schema": [str(messages)]}


BUSY_MESSAGE = _l("The shop is busy for a moment: please try again.")


def database_busy(error: Exception) -> bool:
    """A database error that means "try again in a moment": SQLite's write lock held past the busy timeout,
    a PostgreSQL serialization failure or deadlock. Answered 503 with ``Retry-After``, never 500."""
    text = str(getattr(error, "orig", error)).lower()
    return any(sign in text for sign in ("database is locked", "database table is locked", "busy",
                                         "could not serialize", "deadlock detected"))
