"""The shop calendar (``Calendar``): bookings and scheduled work orders per day or week, and the private
iCalendar feeds staff subscribe to from their phones.

``GET  /calendar/?view=day|week&day=YYYY-MM-DD&location=<id>&technician=<id>``
    the days (shop time) with the booked requests (number, customer, subject, service, time, status) and the
    scheduled work orders (number, customer, unit, technician, time), each linking to its staff page; previous
    / next / today. A technician sees their own work orders only. Two queries for the rows whatever their
    number (``services.feeds``), with their relations joined.
``POST /calendar/<id>/reschedule``
    the "Move to" form of a booked request: ``requests.perform(req, "reschedule", …)``, the same rule as
    everywhere else (a full slot or a closed day is refused with the service's message, flashed).
``POST /calendar/feed``
    ``rotate_feed`` of the chosen location or technician (a technician: their own): the new feed URL is
    shown once on the page that answers, never stored (only its hash is) and never put into the session.
``GET  /calendar/feed/<token>.ics``
    the feed itself, for calendar apps: no login (the token is the key), 404 for an unknown or rotated token.
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import Response, abort, flash, make_response, redirect, request
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..core.errors import ServiceError
from ..core.scope import current_actor
from ..core.settings import absolute, to_local
from ..extensions import db
from ..models import Role, ServiceLocation, ServiceRequest, User
from ..services import accounts, catalog, feeds, requests
from ..services.availability import when
from .boards import board_url, day_bounds, local_today, parse_day, parse_id

log = logging.getLogger(__name__)

PERMISSION = "Calendar"
VIEWS = {"day": 1, "week": 7}
#: Whose feed the panel's button rotates: the form's ``owner`` -> (model, its action table).
OWNERS = {"location": (ServiceLocation, catalog.SERVICE_LOCATION_TABLE), "technician": (User, accounts.USER_TABLE)}


def _technicians() -> list[User]:
    return list(db.session.scalars(select(User).join(User.roles).where(Role.name == "Technician",
                                                                      User.active.is_(True))
                                   .order_by(User.first_name, User.last_name, User.username)))


def _name(owner) -> str:
    return feeds.person_name(owner) if isinstance(owner, User) else owner.name


class CalendarView(BaseView):
    route_base = "/calendar"
    class_permission_name = PERMISSION
    method_permission_name = {"index": "list", "reschedule": "transition", "rotate": "transition"}
    default_view = "index"
    template = "staff/calendar.html"

    @expose("/")
    @has_access
    def index(self):
        return self._render()

    @expose("/<int:pk>/reschedule", methods=["POST"])
    @has_access
    def reschedule(self, pk: int):
        req = db.session.get(ServiceRequest, pk)
        if req is None:
            abort(404)
        number = req.number
        moved_to = None
        try:
            requests.perform(req, "reschedule", current_actor(), start=request.form.get("start", ""),
                             expected_version=request.form.get("expected_version"))
            moved_to = req.scheduled_start
        except ServiceError as error:
            db.session.rollback()
            flash(f"{number}: {error.message}", "danger")
        except SQLAlchemyError:  # a place another request took first: say so, no 500
            db.session.rollback()
            log.exception("calendar reschedule of %s failed", pk)
            flash(_("%(number)s could not be moved. Reload the calendar and try again.", number=number), "danger")
        if moved_to is None:
            return redirect(board_url(f"{self.endpoint}.index", anchor=f"req-{pk}"))
        flash(_("%(number)s is moved to %(when)s.", number=number, when=when(moved_to)), "success")
        return redirect(board_url(f"{self.endpoint}.index", anchor=f"req-{pk}",
                                  day=to_local(moved_to).date().isoformat()))

    @expose("/feed", methods=["POST"])
    @has_access
    def rotate(self):
        model, table = OWNERS.get(request.form.get("owner", ""), (None, None))
        pk = parse_id(request.form.get("id"))
        owner = db.session.get(model, pk) if model is not None and pk is not None and 0 < pk < 2**31 else None
        if owner is None:
            abort(404)
        try:
            token = table.perform(owner, "rotate_feed", current_actor())
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "danger")
            return redirect(board_url(f"{self.endpoint}.index"))
        except SQLAlchemyError:  # two rotations of a new feed at once: the unique key refused one
            db.session.rollback()
            log.exception("calendar feed rotation failed")
            flash(_("The feed could not be created. Try again."), "danger")
            return redirect(board_url(f"{self.endpoint}.index"))
        response = make_response(self._render(fresh={"name": _name(owner),
                                                     "url": absolute(f"/calendar/feed/{token}.ics")}))
        response.headers["Cache-Control"] = "no-store"  # the one page that shows the URL is not kept
        return response

    @expose("/feed/<token>.ics")
    def feed(self, token: str):
        """The public feed (no ``has_access``: calendar apps do not log in; the random token is the key)."""
        body = feeds.feed_ics(token)
        if body is None:
            abort(404)
        return Response(body, mimetype="text/calendar", headers={"Cache-Control": "private, no-store"})

    # --- the page --------------------------------------------------------------------------------------

    def _render(self, fresh: dict | None = None):
        actor = current_actor()
        args = request.args
        mode = args.get("view") if args.get("view") in VIEWS else "week"
        day = parse_day(args.get("day")) or local_today()
        first = day - dt.timedelta(days=day.weekday()) if mode == "week" else day
        span = VIEWS[mode]
        location_id = parse_id(args.get("location"))
        technician_id = actor.user_id if actor.is_technician else parse_id(args.get("technician"))
        start, end = day_bounds(first, span)

        bookings = [] if actor.is_technician or technician_id is not None else feeds.scheduled_requests(
            start, end, location_id=location_id)
        orders = feeds.scheduled_orders(start, end, location_id=location_id, technician_id=technician_id)
        days = [{"day": first + dt.timedelta(days=n), "bookings": [], "orders": []} for n in range(span)]
        for kind, rows in (("bookings", bookings), ("orders", orders)):
            for row in rows:
                index = (to_local(row.scheduled_start).date() - first).days
                if 0 <= index < span:
                    days[index][kind].append(row)

        locations = list(db.session.scalars(select(ServiceLocation).order_by(ServiceLocation.name)))
        technicians = [] if actor.is_technician else _technicians()
        location = next((loc for loc in locations if loc.id == location_id), None)
        technician = (db.session.get(User, actor.user_id) if actor.is_technician
                      else next((t for t in technicians if t.id == technician_id), None))
        may_act = self.appbuilder.sm.has_access("can_transition", PERMISSION)
        panels = []
        for kind, owner in (("technician", technician), ("location", None if actor.is_technician else location)):
            if owner is not None:
                panels.append({"kind": kind, "owner": owner, "name": _name(owner), "feed": feeds.feed_of(owner),
                               "may_rotate": may_act and OWNERS[kind][1].may(owner, "rotate_feed", actor)})
        movable = may_act and "reschedule" in requests.TABLE.allowed_actions("accepted", actor)
        step = dt.timedelta(days=span)
        return self.render_template(
            self.template, days=days, mode=mode, first=first, last=first + step - dt.timedelta(days=1),
            today=local_today(), locations=locations, technicians=technicians, location=location,
            technician=technician, location_id=location_id, technician_id=technician_id,
            own_schedule=actor.is_technician, panels=panels, fresh=fresh, movable=movable, name=_name,
            order_show="TechnicianBoardView.show" if actor.is_technician else "WorkOrderView.show",
            nav=lambda **changes: board_url(f"{self.endpoint}.index", **changes),
            prev_day=(first - step).isoformat(), next_day=(first + step).isoformat(),
            start_value=lambda value: to_local(value).strftime("%Y-%m-%dT%H:%M"),
            request_end=feeds.request_end, order_end=feeds.order_end,
        )


def register(appbuilder, add) -> None:
    add(appbuilder, CalendarView, "Calendar", category="Service desk", icon="fa-calendar")
