"""The free-slot picker of the portal's new request and the public form (and its fragment route).

Both forms ask ``availability.question`` for the chosen service type and location and show a week of free
starts as radio buttons grouped by day (keyboard- and phone-friendly, no JavaScript needed): "Earlier" /
"Later" are submit buttons that show another week with everything typed kept. With JavaScript the
picker reloads itself in place from ``GET /portal/slots`` (so chosen files stay chosen).
"""
from __future__ import annotations

import datetime as dt

from flask import render_template, request
from flask_appbuilder import expose

from ...core.errors import ValidationFailed
from ...core.settings import to_local
from ...models import utcnow
from ...services import availability
from .base import PortalView


def _week_start(value: str | None) -> dt.date:
    today = to_local(utcnow()).date()
    try:
        day = dt.date.fromisoformat(value) if value else today
    except ValueError:
        day = today
    return min(max(day, today), today + dt.timedelta(days=availability.LOOKAHEAD_DAYS * 6))


def picker(service_type_id, location_id, week: str | None = None, selected: str | None = None) -> dict:
    """What the picker shows: the week's free slots by day, or why there are none to pick."""
    locations = availability.bookable_locations()
    context = {"offered": bool(locations), "selected": selected or "", "days": [], "problem": None,
               "location": None, "service_type": None}
    if not locations:
        return context
    if not service_type_id:
        context["problem"] = "service_type"
        return context
    first = _week_start(week)
    try:
        service_type, location, first, last = availability.question(
            service_type_id, location_id or (locations[0].id if len(locations) == 1 else None),
            first.isoformat(), None)
    except ValidationFailed as error:
        context["problem"] = "location" if "location" in error.errors else "service_type"
        return context
    today = to_local(utcnow()).date()
    slots = availability.free_slots(service_type, location, first, last)
    context.update(location=location, service_type=service_type, first=first, last=last,
                   days=availability.by_day(slots),
                   earlier=(first - dt.timedelta(days=7)).isoformat() if first > today else None,
                   later=(first + dt.timedelta(days=7)).isoformat(),
                   instant=service_type is not None and service_type.booking_mode == "instant")
    if not slots:
        after_week = availability.midnight(last + dt.timedelta(days=1))
        following = availability.next_free(service_type, location, after_week, count=1)
        context["next_week"] = (_week_start(following[0].local_start.date().isoformat()).isoformat()
                                if following else None)
    return context


class PortalSlotsView(PortalView):
    route_base = "/portal"

    @expose("/slots")
    def fragment(self):
        """The picker alone (the forms' script swaps it in); public: it shows only free times."""
        args = request.args
        context = picker(args.get("service_type_id"), args.get("service_location_id"), args.get("week"),
                         args.get("slot"))
        return render_template("portal/slot_picker.html", picker=context)


VIEWS = [PortalSlotsView]
