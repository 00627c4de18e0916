"""The shop's settings row and the helpers that depend on it (time zone, money, links)."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, g, has_app_context

from ..extensions import db
from ..models import Settings
from . import clock

CENT = Decimal("0.01")


def get_settings() -> Settings:
    """The one settings row, created with defaults on first use; cached for the request."""
    cached = g.get("_portico_settings") if has_app_context() else None
    if cached is not None:
        return cached
    settings = db.session.query(Settings).order_by(Settings.id).first()
    if settings is None:
        settings = Settings()
        db.session.add(settings)
        db.session.flush()
    if has_app_context():
        g._portico_settings = settings
    return settings


def money(value) -> Decimal:
    """A two-decimal ``Decimal`` from a string, int or Decimal (never via float)."""
    if isinstance(value, float):
        value = repr(value)
    try:
        result = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"{value!r} is not an amount") from exc
    # Finite and small enough for a Numeric(12, 2) column (1e30 would make quantize raise).
    if not result.is_finite() or abs(result) >= Decimal("1e10"):
        raise ValueError(f"{value!r} is not an amount")
    return result.quantize(CENT, rounding=ROUND_HALF_UP)


def tax_for(subtotal: Decimal, rate: Decimal) -> Decimal:
    return (subtotal * rate / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)


def tax_rows(lines, rate: Decimal) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(rate, net, tax) per tax rate of a document's lines, lowest rate first: a line's own ``tax_rate``,
    else the document's ``rate``; the tax is rounded once per rate (what an invoice states per rate)."""
    nets: dict[Decimal, Decimal] = {}
    for line in lines:
        own = getattr(line, "tax_rate", None)
        key = Decimal(rate or 0) if own is None else Decimal(own)
        nets[key] = nets.get(key, Decimal("0.00")) + line.amount
    return [(key, net, tax_for(net, key)) for key, net in sorted(nets.items())]


def shop_zone() -> ZoneInfo:
    name = get_settings().time_zone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):  # an unknown zone name must not break a page
        return ZoneInfo("UTC")


def shop_today() -> dt.date:
    """Today in the shop's time zone, whatever the machine's zone (of the frozen moment while the demo seed plays
    its history): "in the past", "today" on a board, an invoice's date and its due date all mean the shop's day."""
    return clock.utcnow().replace(tzinfo=dt.UTC).astimezone(shop_zone()).date()


def to_local(value: dt.datetime | None) -> dt.datetime | None:
    """A stored naive-UTC time in the shop's zone."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC).astimezone(shop_zone())


def to_utc(value: dt.datetime) -> dt.datetime:
    """A shop-local (naive) or aware time as naive UTC for storage."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=shop_zone())
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def base_url() -> str:
    """Links in e-mails: the configured address, never the request's Host header."""
    return (get_settings().base_url or current_app.config["PORTICO_BASE_URL"]).rstrip("/")


def absolute(path: str) -> str:
    return f"{base_url()}/{path.lstrip('/')}"
