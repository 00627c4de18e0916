"""Rison filters (``q=(filters:!((col:status,opr:eq,value:new)))``) checked before they reach the database.

Only the caller's own filter columns are accepted, and each value must fit its column's type, so a
filter can neither probe a hidden column nor make the database fail (SPEC §6: 400, never 500).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from .common import ApiError


def _date(value):
    return dt.date.fromisoformat(str(value))


def _datetime(value):
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def _boolean(value):
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1", "yes"):
        return True
    if str(value).lower() in ("false", "0", "no"):
        return False
    raise ValueError(value)


def _integer(value):
    if isinstance(value, bool):
        raise ValueError(value)
    number = int(str(value))
    if not -(2**31) < number < 2**31:
        raise ValueError(value)
    return number


def _decimal(value):
    if isinstance(value, bool):
        raise ValueError(value)
    number = Decimal(str(value))
    if not number.is_finite() or abs(number) >= 10**12:
        raise ValueError(value)
    return number


def _string(value):
    if isinstance(value, (dict, list)):
        raise ValueError(value)
    text = str(value)
    if len(text) > 255 or "\x00" in text:
        raise ValueError(value)
    return text


def converter(datamodel, column: str):
    if datamodel.is_relation(column) or datamodel.is_integer(column):
        return _integer
    if datamodel.is_boolean(column):
        return _boolean
    if datamodel.is_datetime(column):
        return _datetime
    if datamodel.is_date(column):
        return _date
    if datamodel.is_numeric(column) or datamodel.is_float(column):
        return _decimal
    return _string


def coerce_filters(datamodel, columns: list[str], raw) -> list[dict]:
    if not isinstance(raw, list):
        raise ApiError(400, "filters must be a list of (col, opr, value).")
    cleaned = []
    for item in raw:
        if not isinstance(item, dict) or not {"col", "opr", "value"} <= set(item):
            raise ApiError(400, "Each filter needs col, opr and value.")
        column, value = item["col"], item["value"]
        if column not in columns:
            allowed = ", ".join(columns) or "none"
            raise ApiError(400, f"You cannot filter on {column!r}. Filter columns: {allowed}.")
        convert = converter(datamodel, column)
        try:
            value = [convert(v) for v in value] if isinstance(value, list) else convert(value)
        except (TypeError, ValueError, InvalidOperation, OverflowError):
            raise ApiError(400, f"{value!r} is not a valid value for {column}.") from None
        cleaned.append({"col": column, "opr": item["opr"], "value": value})
    return cleaned
