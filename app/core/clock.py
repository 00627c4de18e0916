"""The one clock Portico reads: "now" (naive UTC), with one seam to set it.

Every timestamp the models and services write comes from ``utcnow()`` (``app.models.utcnow`` reads it here), and
the shop's "today" (``app.core.settings.shop_today``) is the date of that moment in the shop's time zone, never
the machine's date. Normally it is the real time. ``frozen(moment)`` sets it for the code run inside it: the
demo seed (``seed/demo.py``) plays each step of its history at its own past day and hour through the real
services, so audit events, notifications, numbers, invoice due dates and time
entries carry the times a real shop would have produced. Nothing else uses it.

The setting lives in a ``ContextVar``: other threads (or requests served meanwhile) keep the real time.
Standard library only, so that ``app.models`` can import it without an import cycle.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_frozen: ContextVar[dt.datetime | None] = ContextVar("portico_clock", default=None)


def utcnow() -> dt.datetime:
    """Naive UTC: every timestamp is stored in UTC and shown in the shop's time zone."""
    moment = _frozen.get()
    return moment if moment is not None else dt.datetime.now(dt.UTC).replace(tzinfo=None)


@contextmanager
def frozen(moment: dt.datetime) -> Iterator[dt.datetime]:
    """Within the block "now" is ``moment`` (naive UTC, or aware and converted); the previous clock after it."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    token = _frozen.set(moment)
    try:
        yield moment
    finally:
        _frozen.reset(token)
