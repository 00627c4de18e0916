"""Human document numbers (``WO-000042``), unique and safe under concurrency.

Each prefix has a row in ``document_sequence``. ``UPDATE … SET value = value + 1 RETURNING value`` takes
a row lock on PostgreSQL (and the write lock on SQLite), so two transactions never get the same value;
the unique constraint on each document's ``number`` column is the last guard.
"""
from __future__ import annotations

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import DocumentSequence

PREFIXES = ("REQ", "EST", "WO", "INV", "SHP", "CN")


def format_number(prefix: str, value: int) -> str:
    return f"{prefix}-{value:06d}"


def next_number(prefix: str) -> str:
    if prefix not in PREFIXES:
        raise ValueError(f"unknown document prefix {prefix!r}")
    session = db.session
    stmt = (
        update(DocumentSequence)
        .where(DocumentSequence.name == prefix)
        .values(value=DocumentSequence.value + 1)
        .returning(DocumentSequence.value)
    )
    value = session.execute(stmt).scalar()
    if value is None:
        # First document of this kind on a database whose sequence row is missing.
        try:
            with session.begin_nested():
                session.execute(insert(DocumentSequence).values(name=prefix, value=1))
            value = 1
        except IntegrityError:
            value = session.execute(stmt).scalar()
    return format_number(prefix, value)


def assign(obj) -> str:
    """Give ``obj`` its next number by its class's ``NUMBER_PREFIX`` unless it already has one."""
    if not getattr(obj, "number", None):
        obj.number = next_number(obj.NUMBER_PREFIX)
    return obj.number
