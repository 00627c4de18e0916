"""Numbers, money and times as the reader says them, through Babel (issue 16, item 2).

Every helper takes the current locale (the request's language, or the one ``force_locale`` set for a
document or a mail), so a German customer reads ``1.234,50 €`` and ``Donnerstag, 3. Dezember 2026`` and an
English one ``€1,234.50`` and ``Thursday, 3 December 2026``. Times are stored in UTC and shown in the
shop's time zone (``to_local``). Machine formats (CSV exports, the REST API, form values) do not come here:
they keep dot decimals and ISO dates.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask_babel import get_locale

from .settings import get_settings, shop_zone, to_local

#: The CLDR region a language's dates follow: the shop's English is British ("Thursday, 3 December 2026",
#: "14:30"), not the American default of plain "en" ("Thursday, December 3, 2026", "2:30 PM").
REGIONS = {"en": "en_GB"}


def locale_name(locale=None) -> str:
    name = str(locale or get_locale() or "en")
    return REGIONS.get(name, name)


def currency_code() -> str:
    try:
        return get_settings().currency or "EUR"
    except Exception:  # no settings row yet (a fresh database, a chart drawn outside the app)
        return "EUR"


def money(value, currency: str | None = None, locale=None) -> str:
    """``1.234,50 €`` in German, ``€1,234.50`` in English, in the shop's currency."""
    if value is None or value == "":
        return ""
    return babel_numbers.format_currency(Decimal(str(value)), currency or currency_code(),
                                         locale=locale_name(locale))


def number(value, places: int | None = None, locale=None) -> str:
    """``1.234,5`` / ``1,234.5``; ``places`` fixes the decimals (``number(2, 2)`` → ``2,00``)."""
    if value is None or value == "":
        return ""
    value = Decimal(str(value))
    if places is None:
        return babel_numbers.format_decimal(value, locale=locale_name(locale))
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return babel_numbers.format_decimal(value, format=pattern, locale=locale_name(locale),
                                        decimal_quantization=True)


def percent(value, places: int = 0, locale=None, *, fraction: bool = False) -> str:
    """A rate stored as a percentage (``19.00``) → ``19 %`` / ``19%``; ``fraction=True`` for ``0.19``."""
    if value is None or value == "":
        return ""
    from babel import Locale

    value = Decimal(str(value)) / (1 if fraction else 100)
    name = locale_name(locale)
    # The locale's own pattern decides the spacing (German "19 %"); the places are ours.
    own = Locale.parse(name).percent_formats[None].pattern.split(";")[0]
    pattern = own.replace("#,##0", "#,##0" + ("." + "0" * places if places else ""), 1)
    return babel_numbers.format_percent(value, format=pattern, locale=name, decimal_quantization=True)


def _local(value):
    """A stored time (naive UTC or aware) in shop time, naive; a date stays a date."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:  # already aware (a slot's local start): into the shop's zone
            return value.astimezone(shop_zone()).replace(tzinfo=None)
        return to_local(value).replace(tzinfo=None)
    return value


#: Day styles that follow each language's order and punctuation (CLDR skeletons): ``weekday_day`` "Tue, Dec 8"
#: / "Di., 8. Dez."; ``weekday_date`` "Thu, Dec 3, 2026" / "Do., 3. Dez. 2026"; ``weekday_long`` "Thursday,
#: December 3" / "Donnerstag, 3. Dezember".
SKELETONS = {"weekday_day": "MMMEd", "weekday_date": "yMMMEd", "day_month": "MMMd", "day_month_long": "MMMMd"}


@lru_cache(maxsize=32)
def _babel_locale(name: str) -> Locale:
    return Locale.parse(name)


@lru_cache(maxsize=256)
def _day_pattern(style: str, name: str):
    """The CLDR pattern of a day style, parsed once per language (Babel parses it on every call: a list of
    100 rows with two times each spent a fifth of its time there)."""
    locale = _babel_locale(name)
    if style in SKELETONS:
        skeleton = SKELETONS[style]
        if skeleton not in locale.datetime_skeletons:
            skeleton = babel_dates.match_skeleton(skeleton, locale.datetime_skeletons)
        return locale.datetime_skeletons[skeleton]
    if style in ("short", "medium", "long", "full"):
        return locale.date_formats[style]
    return babel_dates.parse_pattern(style)


@lru_cache(maxsize=64)
def _clock_pattern(style: str, name: str):
    locale = _babel_locale(name)
    if style in ("short", "medium", "long", "full"):
        return locale.time_formats[style]
    return babel_dates.parse_pattern(style)


@lru_cache(maxsize=64)
def _joined_pattern(style: str, name: str) -> str:
    return str(babel_dates.get_datetime_format(style if style in ("short", "medium", "long", "full") else "medium",
                                               locale=_babel_locale(name)))


def date(value, style: str = "medium", locale=None) -> str:
    """A day: ``medium`` "3 Dec 2026" / "03.12.2026", ``long`` "3 December 2026" / "3. Dezember 2026",
    ``full`` "Thursday, 3 December 2026" / "Donnerstag, 3. Dezember 2026", ``short``, one of ``SKELETONS``
    or a CLDR pattern."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    if style == "weekday_long":  # CLDR has no such skeleton in every language: the weekday, then the day
        return f"{weekday(value, locale=locale)}, {date(value, 'day_month_long', locale=locale)}"
    name = locale_name(locale)
    day = _local(value)
    if isinstance(day, dt.datetime) and style not in SKELETONS:
        day = day.date()
    return _day_pattern(style, name).apply(day, _babel_locale(name))


def time(value, style: str = "short", locale=None) -> str:
    """A time of day in shop time: "14:30" / "2:30 PM"."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        value = _local(value).time()
    name = locale_name(locale)
    return _clock_pattern(style, name).apply(value, _babel_locale(name))


def zone(value, locale=None) -> str:
    """The shop's time zone at a stored UTC time (or an aware time), by its short name in the reader's
    language: "MESZ" / "CEST" (summer), "MEZ" / "CET"; an offset such as "+0530" where the language has none."""
    if value is None or value == "":
        return ""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return babel_dates.format_datetime(aware, "z", tzinfo=shop_zone(), locale=locale_name(locale))


def datetime(value, style: str = "medium", locale=None) -> str:
    """A stored UTC time in shop time: the day in ``style`` and the time without seconds
    ("3 Dec 2026, 14:30" / "03.12.2026, 14:30"; ``full``: "Donnerstag, 3. Dezember 2026, 14:30");
    ``weekday_zone``: the short weekday and the zone too ("Mon, 30 Mar 2026 07:00 CEST" /
    "Mo., 30.03.2026 07:00 MESZ"), for times either side of a clock change (a schedule's next runs)."""
    if value is None or value == "":
        return ""
    name = locale_name(locale)
    local = _local(value)
    if not isinstance(local, dt.datetime):
        return date(local, style, name)
    if style == "weekday_zone":
        return (f"{weekday(value, 'abbreviated', name)}, {date(local.date(), 'medium', name)} "
                f"{time(local.time(), 'short', name)} {zone(value, name)}")
    day, clock = date(local.date(), style, name), time(local.time(), "short", name)
    return _joined_pattern(style, name).replace("{1}", day).replace("{0}", clock).replace("'", "")


def weekday(value, width: str = "wide", locale=None) -> str:
    """``Donnerstag`` / ``Thursday`` (``abbreviated``: ``Do.`` / ``Thu``); a date, a time or 0 = Monday."""
    if value is None or value == "":
        return ""
    index = value if isinstance(value, int) else _local(value).weekday()
    return babel_dates.get_day_names(width, locale=locale_name(locale))[index]


def age(value, now: dt.datetime | None = None, locale=None) -> str:
    """How long ago a stored UTC time was: "vor 3 Tagen" / "3 days ago" (or "in 2 Stunden" ahead)."""
    if value is None or value == "":
        return ""
    from .clock import utcnow

    now = now or utcnow()
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    return babel_dates.format_timedelta(value - now, add_direction=True, locale=locale_name(locale))


def chart_number(value, places: int = 0, locale=None) -> str:
    """An axis tick: grouped in the reader's language (``12.500`` / ``12,500``)."""
    return number(value, places, locale)


def chart_money(value, locale=None) -> str:
    """A money axis tick without cents: ``12.500 €`` / ``€12,500``."""
    from babel import Locale

    name = locale_name(locale)
    pattern = Locale.parse(name).currency_formats["standard"].pattern.split(";")[0].replace(".00", "")
    return babel_numbers.format_currency(Decimal(str(value)), currency_code(), format=pattern, locale=name,
                                         currency_digits=False, decimal_quantization=True)
