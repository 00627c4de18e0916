"""What a service location can still take: opening hours, closed days, slots and capacity (SPEC §8 Booking).

A location's day is a grid of slots of ``slot_minutes`` (60 unless set; it divides the day, so every slot
starts at the same minutes every day). Its opening hours are windows on that grid per weekday (a day may
have several: 08:00–12:00 and 13:00–17:00); a closed day (the location's own, or the whole shop's) has
none. Each slot holds ``capacity`` bookings (the location's, else the shop-wide setting).

A booking runs from its start for its service type's duration (one slot unless the type says otherwise)
and takes a place in **every slot it overlaps**: with four places, four bookings at 15:00 fill the 15:00
slot, and 15:01, 15:30 or 14:30 are refused as well. At a location with opening hours every slot a booking
overlaps must be open. A location without opening hours is not offered by slot (its requests keep a
preferred day and time of day); its bookings still take capacity on the 60-minute grid, and so do bookings
without a location (the shop-wide pool).

``check`` is what every booking passes (``confirm``, ``accept_time``, ``reschedule``, instant booking) and
what every proposal passes (without the lock); ``free_slots`` is what the forms, the board and
``GET /api/v1/availability`` show. Both count from one query of the bookings around the time asked for.
"""
from __future__ import annotations

import bisect
import datetime as dt
import math
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..core import formatting
from ..core.errors import ValidationFailed
from ..core.settings import get_settings, to_local, to_utc
from ..extensions import db
from ..models import (
    DEFAULT_SLOT_MINUTES,
    ClosedDay,
    OpeningHours,
    ServiceLocation,
    ServiceRequest,
    ServiceType,
    Settings,
    utcnow,
)

#: Request states that hold a place.
BOOKED = ("accepted", "resolved")
#: The longest booking the counting looks back for (a booking starting earlier cannot overlap).
LONGEST = dt.timedelta(hours=24)
#: At most this many days per question (a form shows a week, the API answers up to 62 days).
MAX_DAYS = 62
#: How far ahead "the next free times" are looked for.
LOOKAHEAD_DAYS = 31


@dataclass(frozen=True)
class Slot:
    """A bookable start: ``start``/``end`` naive UTC (the booking's end, after the type's duration)."""

    start: dt.datetime
    end: dt.datetime
    capacity: int
    free: int

    @property
    def local_start(self) -> dt.datetime:
        return to_local(self.start)

    @property
    def local_end(self) -> dt.datetime:
        return to_local(self.end)

    def value(self) -> str:
        """The form value of this slot: the local start as ``YYYY-MM-DDTHH:MM``."""
        return self.local_start.strftime("%Y-%m-%dT%H:%M")


# --- the location's rules -----------------------------------------------------------------------------


def slot_minutes(location: ServiceLocation | None) -> int:
    return (location.slot_minutes if location is not None and location.slot_minutes else None) or DEFAULT_SLOT_MINUTES


def capacity(location: ServiceLocation | None) -> int:
    return (location.slot_capacity if location is not None and location.slot_capacity else None) \
        or get_settings().slot_capacity


def duration(service_type: ServiceType | None, location: ServiceLocation | None) -> dt.timedelta:
    minutes = service_type.duration_minutes if service_type is not None else None
    return dt.timedelta(minutes=minutes or slot_minutes(location))


def by_slot(location: ServiceLocation | None) -> bool:
    """Is this location booked by slot (it has opening hours)?"""
    return location is not None and bool(location.hours)


def closed_days(location: ServiceLocation | None, first: dt.date, last: dt.date) -> dict[dt.date, str]:
    """The location's and the whole shop's closed days between ``first`` and ``last``: day → name."""
    stmt = select(ClosedDay).where(ClosedDay.day >= first, ClosedDay.day <= last)
    owner = ClosedDay.service_location_id.is_(None)
    if location is not None:
        owner = owner | (ClosedDay.service_location_id == location.id)
    return {row.day: row.name or "" for row in db.session.scalars(stmt.where(owner))}


def windows(location: ServiceLocation, day: dt.date, closed: dict | None = None) -> list[tuple[dt.time, dt.time]]:
    """The opening windows of ``day`` (local times); none on a closed day."""
    if closed is None:
        closed = closed_days(location, day, day)
    if day in closed:
        return []
    return [(h.opens, h.closes) for h in location.hours if h.weekday == day.weekday()]


def _local(day: dt.date, minutes: int) -> dt.datetime:
    """``minutes`` after the local midnight of ``day`` as naive UTC (24:00 is the next midnight)."""
    return to_utc(dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minutes))


def midnight(day: dt.date) -> dt.datetime:
    """The local midnight starting ``day`` as naive UTC."""
    return _local(day, 0)


def _minutes(value: dt.time) -> int:
    return value.hour * 60 + value.minute


def _open_slots(location: ServiceLocation, first: dt.date, last: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """Every open slot from ``first`` to ``last`` (inclusive) as UTC (start, end), in order."""
    length = slot_minutes(location)
    closed = closed_days(location, first, last)
    slots = []
    day = first
    while day <= last:
        for opens, closes in windows(location, day, closed):
            begin = _minutes(opens)
            for minute in range(begin, _minutes(closes) - length + 1, length):
                slots.append((_local(day, minute), _local(day, minute + length)))
        day += dt.timedelta(days=1)
    return slots


def _grid(start: dt.datetime, end: dt.datetime, length: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """The grid slots (UTC) that [start, end) overlaps; the grid runs from local midnight."""
    local = to_local(start).replace(tzinfo=None)
    minute = (local.hour * 60 + local.minute) // length * length
    cursor = _local(local.date(), minute)
    slots = []
    while cursor < end:
        following = cursor + dt.timedelta(minutes=length)
        slots.append((cursor, following))
        cursor = following
    return slots


# --- the bookings -------------------------------------------------------------------------------------


def _booking_rows(location_id: int | None, start: dt.datetime, end: dt.datetime):
    """(id, start, end) of every booking at this location (None: the shop-wide pool) that may overlap
    [start, end), in one query on (service_location_id, scheduled_start)."""
    stmt = select(ServiceRequest.id, ServiceRequest.scheduled_start, ServiceRequest.scheduled_end).where(
        ServiceRequest.status.in_(BOOKED),
        ServiceRequest.scheduled_start < end,
        ServiceRequest.scheduled_start > start - LONGEST,
        ServiceRequest.service_location_id.is_(None) if location_id is None
        else ServiceRequest.service_location_id == location_id,
    )
    found = []
    for ident, begin, finish in db.session.execute(stmt):
        finish = finish or begin + dt.timedelta(minutes=DEFAULT_SLOT_MINUTES)
        if finish > start:
            found.append((ident, begin, finish))
    return found


def _bookings(location_id: int | None, start: dt.datetime, end: dt.datetime,
              exclude_id: int | None = None) -> list[tuple[dt.datetime, dt.datetime]]:
    return [(begin, finish) for ident, begin, finish in _booking_rows(location_id, start, end) if ident != exclude_id]


def _taken(slots: list[tuple[dt.datetime, dt.datetime]], bookings) -> list[int]:
    """How many bookings overlap each slot (slots in order of start)."""
    starts = [s for s, _ in slots]
    counts = [0] * len(slots)
    for begin, finish in bookings:
        index = max(bisect.bisect_right(starts, begin) - 1, 0)
        while index < len(slots) and slots[index][0] < finish:
            if slots[index][1] > begin:
                counts[index] += 1
            index += 1
    return counts


# --- what is free -------------------------------------------------------------------------------------


def free_slots(service_type: ServiceType | None, location: ServiceLocation, first: dt.date, last: dt.date,
               *, after: dt.datetime | None = None, exclude_id: int | None = None,
               limit: int | None = None) -> list[Slot]:
    """The starts from ``first`` to ``last`` (local days) where a booking of ``service_type`` fits: every slot
    it overlaps open and with a free place. Only starts after ``after`` (default: now)."""
    if not by_slot(location):
        return []
    after = after or utcnow()
    length = dt.timedelta(minutes=slot_minutes(location))
    span = duration(service_type, location)
    needed = max(1, math.ceil(span / length))
    slots = _open_slots(location, first, last + dt.timedelta(days=1))  # a long booking may run into the next day
    if not slots:
        return []
    taken = _taken(slots, _bookings(location.id, slots[0][0], slots[-1][1], exclude_id))
    places = capacity(location)
    index_of = {start: i for i, (start, _) in enumerate(slots)}
    last_start = _local(last + dt.timedelta(days=1), 0)
    found = []
    for i, (start, _) in enumerate(slots):
        if start <= after or start >= last_start:
            continue
        run = [i]
        for k in range(1, needed):
            following = index_of.get(start + k * length)
            if following is None:
                break
            run.append(following)
        if len(run) < needed:
            continue
        free = min(places - taken[j] for j in run)
        if free > 0:
            found.append(Slot(start, start + span, places, free))
            if limit is not None and len(found) >= limit:
                break
    return found


def next_free(service_type: ServiceType | None, location: ServiceLocation, after: dt.datetime, count: int = 3,
              exclude_id: int | None = None) -> list[Slot]:
    """The first ``count`` free starts after ``after`` within the next month."""
    day = to_local(max(after, utcnow())).date()
    return free_slots(service_type, location, day, day + dt.timedelta(days=LOOKAHEAD_DAYS),
                      after=max(after, utcnow()), exclude_id=exclude_id, limit=count)


def when(value: dt.datetime) -> str:
    """A UTC time as the reader says it: "Mon, 7 Dec 2026, 17:30" (their language)."""
    return formatting.datetime(value, "weekday_date")


def day_text(day: dt.date) -> str:
    return formatting.date(day, "weekday_date")


def _offer(service_type, location, after, exclude_id) -> str:
    options = next_free(service_type, location, after, exclude_id=exclude_id) if by_slot(location) else []
    if not options:
        return str(_l("Suggest another time."))
    return str(_l("The next free times: %(times)s.", times="; ".join(when(s.start) for s in options)))


def check(location: ServiceLocation | None, service_type: ServiceType | None, start: dt.datetime, *,
          exclude_id: int | None = None, lock: bool = False, field: str = "start") -> dt.datetime:
    """Refuse a booking at ``start`` (naive UTC) that is outside the opening hours, on a closed day or in a
    slot without a free place, with a message naming the next free times; return its end.

    ``lock`` (every booking) first locks the location's row (or the settings row for the shop-wide pool),
    so concurrent bookings of the last place are serialised: PostgreSQL's READ COMMITTED gives the count
    after the lock a fresh snapshot, so the second one sees the first one's booking and is refused."""
    if lock:
        if location is not None:
            db.session.execute(select(ServiceLocation.id).where(ServiceLocation.id == location.id).with_for_update())
        else:
            db.session.execute(select(Settings.id).where(Settings.id == get_settings().id).with_for_update())
    end = start + duration(service_type, location)
    grid = _grid(start, end, slot_minutes(location))
    if by_slot(location):
        first, last = to_local(grid[0][0]).date(), to_local(grid[-1][0]).date()
        open_ = set(_open_slots(location, first, last))
        if not all(slot in open_ for slot in grid):
            closed = closed_days(location, first, last)
            local = to_local(start)
            if local.date() in closed:
                reason = _l("%(location)s is closed on %(day)s%(name)s.", location=location.local_name,
                            day=day_text(local.date()),
                            name=f" ({closed[local.date()]})" if closed[local.date()] else "")
            else:
                reason = _l("%(time)s is outside the opening hours of %(location)s.", time=when(start),
                            location=location.local_name)
            raise ValidationFailed({field: [f"{reason} {_offer(service_type, location, start, exclude_id)}"]})
    bookings = _bookings(location.id if location is not None else None, grid[0][0], grid[-1][1], exclude_id)
    if any(count >= capacity(location) for count in _taken(grid, bookings)):
        message = _l("%(time)s is fully booked.", time=when(start))
        raise ValidationFailed({field: [f"{message} {_offer(service_type, location, start, exclude_id)}"]})
    return end


def verdicts(items: list[tuple]) -> list[dict]:
    """For many (location, service_type, start, exclude_id) at once — the cards of the booking board —
    whether each would book: ``{"open", "free", "capacity"}``. One bookings query and one closed-days query
    per location, whatever the number of items."""
    answers: list[dict | None] = [None] * len(items)
    groups: dict[int | None, list[int]] = {}
    for index, (location, *_rest) in enumerate(items):
        groups.setdefault(location.id if location is not None else None, []).append(index)
    for location_id, indexes in groups.items():
        location = items[indexes[0]][0]
        spans = []
        for index in indexes:
            _, service_type, start, _ = items[index]
            spans.append(_grid(start, start + duration(service_type, location), slot_minutes(location)))
        begin, end = min(g[0][0] for g in spans), max(g[-1][1] for g in spans)
        rows = _booking_rows(location_id, begin, end)
        open_ = None
        if by_slot(location):
            open_ = set(_open_slots(location, to_local(begin).date(), to_local(end).date()))
        places = capacity(location)
        for index, grid in zip(indexes, spans, strict=True):
            exclude = items[index][3]
            taken = _taken(grid, [(b, f) for ident, b, f in rows if ident != exclude])
            answers[index] = {"open": open_ is None or all(slot in open_ for slot in grid),
                              "free": max(0, min(places - count for count in taken)), "capacity": places}
    return answers


# --- a question about free slots (the API and the forms) ----------------------------------------------


def parse_days(first: str | None, last: str | None, *, default_days: int = 7) -> tuple[dt.date, dt.date]:
    """``from``/``to`` as local days (``YYYY-MM-DD``): default today and a week; at most ``MAX_DAYS``."""
    from ..core.fields import in_calendar

    errors = {}
    days = {}
    for name, text in (("from", first), ("to", last)):
        if not text:
            continue
        try:
            day = dt.date.fromisoformat(text)
        except (ValueError, TypeError):
            errors[name] = [_l("Enter a date such as 2025-03-14.")]
            continue
        if not in_calendar(day):
            errors[name] = [_l("Enter a date between 1900 and 2999.")]
        days[name] = day
    if errors:
        raise ValidationFailed(errors)
    today = to_local(utcnow()).date()
    begin = days.get("from") or today
    end = days.get("to") or begin + dt.timedelta(days=default_days - 1)
    if end < begin:
        raise ValidationFailed({"to": [_l("The end is before the start.")]})
    if (end - begin).days >= MAX_DAYS:
        raise ValidationFailed({"to": [_l("Ask for at most %(days)s days at a time.", days=MAX_DAYS)]})
    return begin, end


def _active(model, value, field: str, message):
    if value in (None, ""):
        return None
    try:
        ident = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed({field: [message]}) from None
    row = db.session.get(model, ident) if 0 < ident < 2**31 else None
    if row is None or not row.active:
        raise ValidationFailed({field: [message]})
    return row


def question(service_type_id, location_id, first: str | None, last: str | None, *, default_days: int = 7):
    """A question "what is free?" as the API and the forms ask it, checked: an offered service type
    (optional: one slot), an active location booked by slot (optional when there is exactly one), and up
    to ``MAX_DAYS`` days. Returns ``(service_type, location, first, last)``; ``ValidationFailed`` naming
    the parameter otherwise."""
    errors: dict[str, list] = {}
    service_type = location = None
    try:
        service_type = _active(ServiceType, service_type_id, "service_type",
                               _l("Choose one of the offered service types."))
    except ValidationFailed as error:
        errors.update(error.errors)
    try:
        location = _active(ServiceLocation, location_id, "location", _l("Choose one of the service locations."))
        if location is None:
            choices = bookable_locations()
            if len(choices) != 1:
                raise ValidationFailed({"location": [_l("Choose one of the service locations.")]})
            location = choices[0]
        elif not by_slot(location):
            raise ValidationFailed({"location": [_l(
                "%(location)s takes requests without fixed times: it has no opening hours.",
                location=location.local_name)]})
    except ValidationFailed as error:
        errors.update(error.errors)
    try:
        begin, end = parse_days(first, last, default_days=default_days)
    except ValidationFailed as error:
        errors.update(error.errors)
    if errors:
        raise ValidationFailed(errors)
    return service_type, location, begin, end


def by_day(slots: list[Slot]) -> list[tuple[dt.date, list[Slot]]]:
    """Slots grouped by their local day, in order (the week a form shows)."""
    grouped: dict[dt.date, list[Slot]] = {}
    for slot in slots:
        grouped.setdefault(slot.local_start.date(), []).append(slot)
    return list(grouped.items())


def bookable_locations() -> list[ServiceLocation]:
    """Active locations with opening hours, by name (the ones a customer can pick a slot at)."""
    rows = db.session.scalars(select(ServiceLocation).where(ServiceLocation.active.is_(True))
                              .where(ServiceLocation.id.in_(select(OpeningHours.service_location_id)))
                              .order_by(ServiceLocation.name))
    return list(rows)


def local_start(value: str | None) -> dt.datetime | None:
    """A slot's form value (local ``YYYY-MM-DDTHH:MM``) as naive UTC; None for blank or nonsense."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.year < 1900 or parsed.year > 2999:
        return None
    return to_utc(parsed.replace(tzinfo=None) if parsed.tzinfo is None else parsed)


# --- the rules as staff type them (Setup → Service locations, Shop settings) ----------------------------

HOURS_HELP = _l("Like 08:00-12:00, 13:00-17:00; empty: closed.")


def check_slot_minutes(minutes: int) -> None:
    if minutes < 5 or minutes > 720 or (24 * 60) % minutes:
        raise ValidationFailed({"slot_minutes": [_l(
            "A slot of %(minutes)s minutes does not divide the day: choose 15, 20, 30, 60, 90 or 120, for example.",
            minutes=minutes)]})


def _clock(text: str) -> dt.time:
    hours, _, minutes = text.strip().partition(":")
    if not (hours.isdecimal() and minutes.isdecimal() and len(minutes) == 2):
        raise ValueError(text)
    return dt.time(int(hours), int(minutes))


def parse_hours(text: str | None, length: int) -> list[tuple[dt.time, dt.time]]:
    """"08:00-12:00, 13:00-17:00" as windows: each opening before it closes, on the slot grid of ``length``
    minutes and not overlapping another; ``ValueError`` with the reader's message."""
    found = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        opens, sep, closes = part.replace("–", "-").replace("—", "-").partition("-")
        try:
            window = (_clock(opens), _clock(closes))
        except ValueError:
            raise ValueError(str(_l("%(text)s is not a time range such as 08:00-12:00.", text=part))) from None
        if not sep or window[0] >= window[1]:
            raise ValueError(str(_l("%(text)s: the opening time must come before the closing time.", text=part)))
        if any(_minutes(t) % length for t in window):
            raise ValueError(str(_l("%(text)s is not on the %(minutes)s-minute slot grid (slots start at "
                                    "midnight and every %(minutes)s minutes).", text=part, minutes=length)))
        found.append(window)
    found.sort()
    for before, after in zip(found, found[1:], strict=False):
        if after[0] < before[1]:
            raise ValueError(str(_l("The opening hours overlap: %(a)s and %(b)s.",
                                    a=f"{before[0]:%H:%M}-{before[1]:%H:%M}", b=f"{after[0]:%H:%M}-{after[1]:%H:%M}")))
    return found


def hours_text(location: ServiceLocation, weekday: int) -> str:
    return ", ".join(f"{h.opens:%H:%M}-{h.closes:%H:%M}" for h in location.hours if h.weekday == weekday)


def set_hours(location: ServiceLocation, windows_by_day: dict[int, list[tuple[dt.time, dt.time]]]) -> bool:
    """Replace the given weekdays' windows; True when anything changed."""
    changed = False
    for weekday, wanted in windows_by_day.items():
        current = sorted((h.opens, h.closes) for h in location.hours if h.weekday == weekday)
        if current == sorted(wanted):
            continue
        changed = True
        for row in [h for h in location.hours if h.weekday == weekday]:
            location.hours.remove(row)
        for opens, closes in wanted:
            location.hours.append(OpeningHours(weekday=weekday, opens=opens, closes=closes))
    return changed


def parse_closed(text: str | None) -> dict[dt.date, str]:
    """One closed day per line, "2026-12-24 Christmas Eve" or a range "2026-12-24..2026-12-26 Christmas";
    ``ValueError`` naming the line."""
    days: dict[dt.date, str] = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        head, _, name = line.partition(" ")
        first, sep, last = head.partition("..")
        try:
            begin = dt.date.fromisoformat(first)
            end = dt.date.fromisoformat(last) if sep else begin
        except ValueError:
            raise ValueError(str(_l("%(line)s: start the line with a date such as 2026-12-24 (or a range "
                                    "2026-12-24..2026-12-26).", line=line[:40]))) from None
        if end < begin or (end - begin).days > 366 or not 1900 <= begin.year <= 2999 or not 1900 <= end.year <= 2999:
            raise ValueError(str(_l("%(line)s: not a range of at most a year.", line=line[:40])))
        while begin <= end:
            days[begin] = name.strip()[:120]
            begin += dt.timedelta(days=1)
    return days


def closed_text(location: ServiceLocation | None) -> str:
    """The closed days from today on, one per line (what the form shows and takes back)."""
    today = to_local(utcnow()).date()
    stmt = select(ClosedDay).where(ClosedDay.day >= today).order_by(ClosedDay.day)
    stmt = stmt.where(ClosedDay.service_location_id.is_(None) if location is None
                      else ClosedDay.service_location_id == location.id)
    return "\n".join(f"{row.day.isoformat()} {row.name or ''}".strip() for row in db.session.scalars(stmt))


def set_closed(location: ServiceLocation | None, days: dict[dt.date, str]) -> bool:
    """Make the closed days from today on exactly ``days`` (past ones are history and stay)."""
    today = to_local(utcnow()).date()
    owner = ClosedDay.service_location_id.is_(None) if location is None \
        else ClosedDay.service_location_id == location.id
    current = {row.day: row for row in db.session.scalars(select(ClosedDay).where(owner, ClosedDay.day >= today))}
    changed = False
    for day, row in current.items():
        if day not in days:
            db.session.delete(row)
            changed = True
        elif (row.name or "") != days[day]:
            row.name = days[day] or None
            changed = True
    for day, name in days.items():
        if day not in current and day >= today:
            db.session.add(ClosedDay(service_location_id=location.id if location is not None else None,
                                     day=day, name=name or None))
            changed = True
    return changed
