"""Report schedules: standard five-field cron, read aloud ("every Monday at 07:00"), in the shop's zone.

APScheduler 3's ``CronTrigger.from_crontab`` numbers weekdays from Monday = 0, unlike cron (Sunday = 0):
``0 7 * * 1`` would run on Tuesdays. ``trigger_for`` translates the day-of-week field to weekday names
first, so the expression means what it means everywhere else. Every trigger gets the shop's zone, so
"07:00" stays 07:00 local across daylight-saving changes.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from babel import dates as babel_dates
from flask_babel import gettext as _

from ..core import formatting

ALIASES = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
           "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *"}
DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
EXAMPLES = "such as 0 7 * * 1 (every Monday at 07:00) or 30 6 1 * * (the 1st of every month at 06:30)"


def examples() -> str:
    """``EXAMPLES`` in the reader's language."""
    return _("such as 0 7 * * 1 (every Monday at 07:00) or 30 6 1 * * (the 1st of every month at 06:30)")


class CronError(ValueError):
    pass


def normalise(expr: str) -> str:
    expr = " ".join((expr or "").split())
    return ALIASES.get(expr.lower(), expr)


def _day_number(token: str) -> int:
    token = token.lower()
    if token[:3] in DAY_NAMES:
        return DAY_NAMES.index(token[:3])
    value = int(token)
    if not 0 <= value <= 7:
        raise CronError(_("Day of week %(day)s is not 0–7 (0 or 7 is Sunday).", day=token))
    return value % 7


def weekdays(field: str) -> list[int] | None:
    """The cron day-of-week field as day numbers (Sunday = 0), or None for every day."""
    if field in ("*", "?"):
        return None
    days: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise CronError(_("A step must be 1 or more."))
        if span in ("*", "?"):
            first, last = 0, 6
        elif "-" in span:
            first_text, last_text = span.split("-", 1)
            first, last = _day_number(first_text), _day_number(last_text)
            if last_text.strip() == "7":
                last = 7
        else:
            first = last = _day_number(span)
        if last < first:
            last += 7
        days.update(day % 7 for day in range(first, last + 1, step))
    return sorted(days)


def trigger_for(expr: str, zone: ZoneInfo | str) -> CronTrigger:
    """A ``CronTrigger`` for a standard cron expression in ``zone``; ``CronError`` with a clear message."""
    fields = normalise(expr).split()
    if len(fields) != 5:
        raise CronError(_("Give five fields: minute hour day month weekday, %(examples)s.", examples=examples()))
    minute, hour, day, month, dow = fields
    try:
        days = weekdays(dow)
        day_of_week = "*" if days is None else ",".join(DAY_NAMES[d] for d in days)
        # APScheduler's names run mon..sun; "sun" is the same day either way.
        return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week,
                           timezone=zone)
    except CronError:
        raise
    except (ValueError, TypeError, IndexError) as exc:
        raise CronError(_("Not a schedule Portico understands (%(problem)s); write it %(examples)s.", problem=exc,
                          examples=examples())) from None


def next_runs(expr: str, zone: ZoneInfo, now: dt.datetime, count: int = 5) -> list[dt.datetime]:
    """The next ``count`` run times after ``now`` (aware, in ``zone``)."""
    trigger = trigger_for(expr, zone)
    moment = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
    runs: list[dt.datetime] = []
    previous = None
    while len(runs) < count:
        fire = trigger.get_next_fire_time(previous, moment)
        if fire is None:
            break
        runs.append(fire.astimezone(zone))
        previous, moment = fire, fire + dt.timedelta(seconds=1)
    return runs


def latest_fire_time(trigger: CronTrigger, now: dt.datetime) -> dt.datetime | None:
    """The last time ``trigger`` fired at or before ``now`` (aware), looking back at most a year."""
    for window in (dt.timedelta(minutes=2), dt.timedelta(hours=2), dt.timedelta(days=2),
                   dt.timedelta(days=35), dt.timedelta(days=370)):
        fire = trigger.get_next_fire_time(None, now - window)
        if fire is None or fire > now:
            continue
        while True:
            following = trigger.get_next_fire_time(fire, fire + dt.timedelta(seconds=1))
            if following is None or following > now:
                return fire
            fire = following
    return None


# --- reading a schedule aloud ------------------------------------------------------------------------------

def _time(minute: str, hour: str) -> str | None:
    if minute.isdecimal() and hour.isdecimal():
        return f"{int(hour):02d}:{int(minute):02d}"
    return None


def _join(words: list[str]) -> str:
    if len(words) == 1:
        return words[0]
    return _("%(first)s and %(last)s", first=", ".join(words[:-1]), last=words[-1])


def _day_word(day: int) -> str:
    """A cron day (Sunday = 0) as the reader names it: "Monday" / "Montag"."""
    return formatting.weekday((day - 1) % 7)


def _month_word(month: int) -> str:
    return babel_dates.get_month_names("wide", locale=formatting.locale_name())[month]


def _day_phrase(days: list[int] | None) -> str:
    if days is None:
        return _("every day")
    if days == [1, 2, 3, 4, 5]:
        return _("every weekday (Monday to Friday)")
    if days == [0, 6]:
        return _("every Saturday and Sunday")
    return _("every %(days)s", days=_join([_day_word(d) for d in sorted(days, key=lambda d: (d - 1) % 7)]))


def describe(expr: str) -> str:
    """``0 7 * * 1`` → ``every Monday at 07:00`` (in the reader's language); unusual expressions are described
    as far as possible."""
    fields = normalise(expr).split()
    if len(fields) != 5:
        return expr
    minute, hour, day, month, dow = fields
    try:
        days = weekdays(dow)
    except (CronError, ValueError):
        return expr
    at = _time(minute, hour)
    if at is None:
        if minute.startswith("*/") and hour == "*" and day == month == "*" and days is None:
            return _("every %(count)s minutes", count=minute[2:])
        if minute == "*" and hour == "*" and day == month == "*" and days is None:
            return _("every minute")
        if minute.isdecimal() and hour == "*" and day == month == "*":
            past = f"{int(minute):02d}"
            if days is None:
                return _("every hour at %(minute)s minutes past", minute=past)
            return _("every hour at %(minute)s minutes past, %(days)s", minute=past, days=_day_phrase(days))
        if minute.isdecimal() and hour.startswith("*/") and day == month == "*" and days is None:
            return _("every %(count)s hours at %(minute)s minutes past", count=hour[2:], minute=f"{int(minute):02d}")
        return _("cron %(expression)s", expression=expr)
    if day == "*" and month == "*":
        return _("%(days)s at %(time)s", days=_day_phrase(days), time=at)
    if day.isdecimal() and month == "*" and days is None:
        return _("on day %(day)s of every month at %(time)s", day=int(day), time=at)
    if day.isdecimal() and month.isdecimal() and days is None and 1 <= int(month) <= 12:
        return _("every year on %(day)s %(month)s at %(time)s", day=int(day), month=_month_word(int(month)),
                 time=at)
    return _("cron %(expression)s (%(time)s)", expression=expr, time=at)
