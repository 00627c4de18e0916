"""Small helpers every workflow module shares."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from ..core.errors import StaleObject, ValidationFailed
from ..extensions import db


def check_version(obj, expected_version, entity: str) -> None:
    """Refuse a stale form: it was opened on a version of ``obj`` that is no longer current."""
    if expected_version in (None, "") or not hasattr(obj, "version"):
        return
    try:
        expected = int(expected_version)
    except (TypeError, ValueError):
        raise ValidationFailed({"version": [_l("Not a version number.")]}) from None
    if expected != obj.version:
        raise StaleObject(entity, getattr(obj, "status", None))


def commit(entity: str = "record", obj=None) -> None:
    """Commit the unit of work; a concurrent update of the same row becomes ``StaleObject``."""
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise StaleObject(entity, getattr(obj, "status", None)) from None




def edit_fields(obj, actor, **changes):
    """The plain ``edit`` effect: set the parsed fields and audit which changed. Effects that validate the
    record as a whole call this first, then check it."""
    from .audit import record_edit

    for name, value in changes.items():
        getattr(obj, name)  # loaded first, so the audit line can say what it was
        setattr(obj, name, value)
    record_edit(obj, actor)
    return obj
