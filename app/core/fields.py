"""Marshmallow fields for the REST API's JSON conventions (SPEC §6).

- Money is a string with two decimals (``"205.50"``) on the way out and a string or a number on the way in.
- Times are ISO 8601 with their offset, always UTC on the way out; an input without an offset is shop time.
- Relations are ids: ``"unit": 3`` reads and writes the ``unit_id`` column.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError, fields

from .settings import money, shop_zone, to_utc


def not_blank(value: str) -> None:
    if value is None or not str(value).strip():
        raise ValidationError("This field cannot be empty.")


#: Dates a shop works with. Outside them the calendar's ends are near (a day after 9999-12-31, a UTC
#: time before 0001-01-01 00:00 in Berlin) and date arithmetic overflows: refused at the field.
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2999, 12, 31)
OUT_OF_CALENDAR = "Choose a date between 1900-01-01 and 2999-12-31."


def in_calendar(value) -> bool:
    day = value.date() if isinstance(value, dt.datetime) else value
    return day is None or EARLIEST <= day <= LATEST


def calendar_checked(value):
    if not in_calendar(value):
        raise ValidationError(OUT_OF_CALENDAR)
    return value


class Money(fields.Field):
    """A two-decimal amount: ``"205.50"`` out; ``"205.5"``, ``205.5`` or ``"205.50"`` in."""

    default_error_messages = {"invalid": "Enter an amount such as 120.50 (at most two decimals)."}

    def __init__(self, **kwargs):
        metadata = {"type": "string", "format": "decimal", "example": "205.50", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return f"{money(value):.2f}"

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
            raise self.make_error("invalid")
        raw = repr(value) if isinstance(value, float) else str(value).strip()
        try:
            amount = money(raw)
            exact = Decimal(raw)
        except (TypeError, ValueError, InvalidOperation):
            raise self.make_error("invalid") from None
        if exact != amount:
            raise ValidationError("Use at most two decimals.")
        if amount < 0:
            raise ValidationError("Cannot be negative.")
        if amount >= 10**10:
            raise ValidationError("The amount is too large.")
        return amount


class Quantity(Money):
    """Hours and quantities: same shape as money (``"1.50"``)."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"example": "1.50"}, **kwargs)


class UTCDateTime(fields.DateTime):
    """Stored naive UTC; shown as ``2025-03-14T08:30:00+00:00``; read with an offset or as shop time."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat()

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid", input=value, obj_type="datetime")
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("Give a date and time such as 2025-03-14T09:30 (ISO 8601).") from None
        return calendar_checked(parsed)


class When(fields.Field):
    """A time an action is given: a ``datetime`` as it is, or text as a person or a client writes it.

    Text is ISO 8601 (``2025-03-14T09:30``, a ``datetime-local`` input, or with an offset); text without
    an offset is the shop's local time and comes back aware in the shop's zone. A ``datetime`` object is
    passed through untouched (what the caller means by it is the effect's convention).
    """

    default_error_messages = {"invalid": "Enter a date and time such as 2025-03-14 09:30."}

    def __init__(self, **kwargs):
        metadata = {"type": "string", "format": "date-time", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return value.isoformat() if value is not None else None

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dt.datetime):
            return value
        if not isinstance(value, str):
            raise self.make_error("invalid")
        text = value.strip()
        if not text:
            return None
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise self.make_error("invalid") from None
        calendar_checked(parsed)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=shop_zone())


def to_storage(value: dt.datetime | None) -> dt.datetime | None:
    """An input time (aware, or naive shop time) as naive UTC."""
    return to_utc(value) if value is not None else None


class Ref(fields.Integer):
    """A relation written and read as the related row's id: ``"unit": 3`` (attribute ``unit_id``)."""

    def __init__(self, attribute: str | None = None, **kwargs):
        kwargs.setdefault("strict", True)
        metadata = {"description": kwargs.pop("description", "Id of the related row."), "minimum": 1,
                    **kwargs.pop("metadata", {})}
        super().__init__(attribute=attribute, metadata=metadata, **kwargs)

    def _validated(self, value):
        result = super()._validated(value)
        if result is not None and not 0 < result < 2**31:
            raise ValidationError("Not a valid id.")
        return result


class ClockTime(fields.Field):
    """A time of day as ``"HH:MM"`` (shop time)."""

    default_error_messages = {"invalid": "Give the time as HH:MM, e.g. 14:30."}

    def __init__(self, **kwargs):
        metadata = {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$", "example": "14:30",
                    **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return value.strftime("%H:%M") if value is not None else None

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dt.time):
            return value
        try:
            return dt.datetime.strptime(str(value), "%H:%M").time()
        except ValueError:
            raise self.make_error("invalid") from None


class Day(fields.Date):
    """A date: a ``date`` as it is, or ``YYYY-MM-DD``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return calendar_checked(value)
        return calendar_checked(super()._deserialize(value, attr, data, **kwargs))


class Key(fields.Field):
    """The id of a related row, given as an id or as the row itself (a screen's picker): the id."""

    default_error_messages = {"invalid": "Not a valid id."}

    def __init__(self, **kwargs):
        metadata = {"type": "integer", "minimum": 1, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return value

    def _deserialize(self, value, attr, data, **kwargs):
        if hasattr(value, "__table__"):
            return value.id
        if isinstance(value, bool) or value in ("", None):
            if value in ("", None) and self.allow_none:
                return None
            raise self.make_error("invalid")
        try:
            ident = int(str(value))
        except ValueError:
            raise self.make_error("invalid") from None
        if not 0 < ident < 2**31:
            raise self.make_error("invalid")
        return ident
