"""Small helpers every workflow module shares."""
from __future__ import annotations

from sqlalchemy.orm.exc import StaleDataError

from ..core.errors import StaleObject, ValidationFailed
from ..extensions import db


def check_version(obj, expected_version, entity: str) -> None:
    """Refuse a stale form: it was opened on a version of ``obj`` that is no longer current."""
    if expected_version in (None, ""):
        return
    try:
        expected = int(expected_version)
    except (TypeError, ValueError):
        raise ValidationFailed({"version": ["Not a version number."]}) from None
    if expected != obj.version:
        raise StaleObject(entity, getattr(obj, "status", None))


def commit(entity: str = "record", obj=None) -> None:
    """Commit the unit of work; a concurrent update of the same row becomes ``StaleObject``."""
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise StaleObject(entity, getattr(obj, "status", None)) from None


def require_text(value, field: str, message: str = "This field is required.") -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed({field: [message]})
    return value


def dispatch(actions: dict, obj, action: str, actor, machine, **params):
    """Run the service function registered for ``action`` (used by screens and the API alike)."""
    from ..core.errors import InvalidTransition, ServiceError

    handler = actions.get(action)
    if handler is None:
        raise InvalidTransition(machine.entity, getattr(obj, "status", "unknown"), action)
    try:
        return handler(obj, actor, **params)
    except ServiceError:
        db.session.rollback()
        raise
