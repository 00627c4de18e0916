"""Shared column types and mixins for Portico's models.

Every Portico table subclasses Flask-AppBuilder's ``Model`` so that FAB's generated screens and REST API
work on it; those tables live in ``Model.metadata`` (not ``db.metadata``), which Alembic targets.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_appbuilder import Model
from sqlalchemy import JSON, DateTime, ForeignKey, Integer, Numeric, text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from ..core import clock
from ..core.i18n import localized_name

Model.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(12, 2, asdecimal=True)
Quantity = Numeric(10, 2, asdecimal=True)
ZERO = Decimal("0.00")


def restrict(target: str) -> ForeignKey:
    """A key from history to what it names: the database refuses to delete the named row (nothing lost)."""
    return ForeignKey(target, ondelete="RESTRICT")


def utcnow() -> dt.datetime:
    """Naive UTC: every timestamp is stored in UTC and shown in the shop's time zone (``app.core.clock``)."""
    return clock.utcnow()


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class LocalizedNameMixin:
    """Reference rows a customer reads (service types, locations, shipping methods): the English ``name``
    (required, the fallback) and ``names``, the other languages' names ({"de": "Inspektion"}; each optional).
    ``local_name`` and ``str()`` speak the current locale (``app.core.i18n``)."""

    names: Mapped[dict] = mapped_column(JSON, default=dict, server_default=text("'{}'"), nullable=False)

    @property
    def local_name(self) -> str:
        return localized_name(self)

    def __str__(self) -> str:
        return localized_name(self)


class ArchivableMixin:
    """Rows that history refers to are archived, never deleted: hidden from pickers and default lists,
    restorable, and still shown on every document that names them (``services.history``)."""

    archived_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


class VersionedMixin:
    """Optimistic locking: a form opened on version N cannot overwrite version N+1.

    The column is SQLAlchemy's version counter, so two transactions that both loaded version N cannot
    both write; services also compare a form's ``expected_version`` before they change anything.
    """

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.__table__.c.version}


class NumberedMixin:
    """Documents with a human number such as ``WO-000001`` (see ``services.numbering``)."""

    NUMBER_PREFIX = ""

    def __str__(self) -> str:
        return getattr(self, "number", None) or f"{type(self).__name__} #{self.id}"
