"""The booking-request board (``BookingBoard``): the service desk's daily screen.

Three columns of service requests — new (waiting for the shop), time proposed (waiting for the customer),
accepted for today and later — each card with the customer, unit, service, preferred date and slot, the
attachments, the age and the whole booking negotiation (``TimeProposal`` rows). A card's actions (confirm,
confirm and create an estimate, suggest another time, decline; on accepted cards create an estimate or a
work order) go through ``services.requests.perform``; a refusal comes back on the same card, the typed
reason and time still in their inputs. Every column is one query with its relations loaded in two more
(``selectinload``) and one count, so the number of SQL statements does not grow with the number of cards.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import flash, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from ..core.scope import current_actor
from ..core.settings import get_settings
from ..extensions import db
from ..models import ServiceLocation, ServiceRequest, ServiceType, TimeProposal, utcnow
from ..services import availability, requests
from . import sentences
from .boards import (
    COLUMN_LIMIT,
    BoardView,
    CardFailure,
    age,
    attachments_downloadable,
    board_url,
    day_bounds,
    local_today,
    parse_day,
    parse_id,
)
from .workflow import action_label

PERMISSION = "BookingBoard"
#: (status, title, subtitle) of each column, left to right.
COLUMNS = (
    ("new", "New", "waiting for us"),
    ("time_proposed", "Time proposed", "awaiting the customer"),
    ("accepted", "Accepted", "today and upcoming"),
)
CARD_ACTIONS = ("confirm", "propose", "decline", "estimate", "work_order")
TYPED_FIELDS = ("start", "note", "reason")


@dataclass
class Filters:
    """The board's filters, read from the query string (bad values are ignored, not a 500)."""

    service_type: int | None = None
    location: int | str | None = None  # an id, "none" (no location) or None (any)
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @classmethod
    def from_args(cls, args) -> Filters:
        location = args.get("location", "")
        return cls(service_type=parse_id(args.get("service_type")),
                   location="none" if location == "none" else parse_id(location),
                   date_from=parse_day(args.get("date_from")), date_to=parse_day(args.get("date_to")))

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.service_type, self.location, self.date_from, self.date_to))

    def apply(self, stmt, status: str):
        if self.service_type is not None:
            stmt = stmt.where(ServiceRequest.service_type_id == self.service_type)
        if self.location == "none":
            stmt = stmt.where(ServiceRequest.service_location_id.is_(None))
        elif self.location is not None:
            stmt = stmt.where(ServiceRequest.service_location_id == self.location)
        # The date a card is about: the booked day once accepted, the preferred day before.
        if status == "accepted":
            if self.date_from:
                stmt = stmt.where(ServiceRequest.scheduled_start >= day_bounds(self.date_from)[0])
            if self.date_to:
                stmt = stmt.where(ServiceRequest.scheduled_start < day_bounds(self.date_to)[1])
        else:
            if self.date_from:
                stmt = stmt.where(ServiceRequest.preferred_date >= self.date_from)
            if self.date_to:
                stmt = stmt.where(ServiceRequest.preferred_date <= self.date_to)
        return stmt


def _base_query(status: str):
    stmt = select(ServiceRequest).where(ServiceRequest.status == status)
    if status == "accepted":
        today_start = day_bounds(local_today())[0]
        return stmt.where(ServiceRequest.scheduled_start >= today_start).order_by(
            ServiceRequest.scheduled_start, ServiceRequest.id)
    return stmt.order_by(ServiceRequest.created_at, ServiceRequest.id)  # the longest waiting first


def _waiting_since(req: ServiceRequest) -> dt.datetime:
    """When the ball came to the side that has it now: the last proposal, or the request itself."""
    side = "customer" if req.status == "new" else "staff"
    times = [p.created_at for p in req.proposals if p.proposed_by == side]
    return max([req.created_at, *times])


class BookingBoardView(BoardView):
    route_base = "/bookingboard"
    class_permission_name = PERMISSION
    template = "staff/booking_board.html"
    model = ServiceRequest
    board_name = _l("booking board")  # in "… is not available on the booking board."
    card_actions = CARD_ACTIONS
    typed_fields = TYPED_FIELDS
    service = requests

    # --- helpers -------------------------------------------------------------------------------------

    def _after(self, req: ServiceRequest, number: str, action: str, result, before=None):
        """Flash what happened; a created estimate or work order opens next, otherwise back to the card."""
        created = result if result is not None and not isinstance(result, ServiceRequest) else None
        flash(sentences.done(req, number, action, result, before), "success")
        if created is not None:
            target = {"Estimate": ("Estimates", "EstimateView.show"),
                      "WorkOrder": ("WorkOrders", "WorkOrderView.show")}.get(type(created).__name__)
            if target and self.appbuilder.sm.has_access("can_show", target[0]):
                return redirect(url_for(target[1], pk=created.id))
        return redirect(board_url(f"{self.endpoint}.index", anchor=f"card-{req.id}"))

    def _column(self, status: str, filters: Filters, page: int) -> dict:
        stmt = filters.apply(_base_query(status), status)
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
        pages = max(1, -(-total // COLUMN_LIMIT))
        page = min(max(1, page), pages)
        rows = db.session.scalars(
            stmt.options(
                joinedload(ServiceRequest.customer), joinedload(ServiceRequest.unit),
                joinedload(ServiceRequest.service_type), joinedload(ServiceRequest.service_location),
                selectinload(ServiceRequest.proposals).joinedload(TimeProposal.user),
                selectinload(ServiceRequest.attachments),
            ).limit(COLUMN_LIMIT).offset((page - 1) * COLUMN_LIMIT)
        ).unique().all()
        return {"status": status, "rows": rows, "total": total, "page": page, "pages": pages,
                "more": max(0, total - page * COLUMN_LIMIT)}

    def _render(self, failure: CardFailure | None = None):
        actor = current_actor()
        filters = Filters.from_args(request.args)
        settings = get_settings()
        stale_after = dt.timedelta(hours=settings.request_stale_hours)
        now = utcnow()
        may_act = self.appbuilder.sm.has_access("can_transition", PERMISSION)
        columns = []
        for status, title, subtitle in COLUMNS:
            column = self._column(status, filters, parse_id(request.args.get(f"page_{status}")) or 1)
            cards = []
            for req in column["rows"]:
                since = _waiting_since(req)
                allowed = requests.TABLE.allowed_actions(req.status, actor) if may_act else []
                cards.append({
                    "req": req, "since": since, "age": age(since, now), "created_age": age(req.created_at, now),
                    "stale": status != "accepted" and now - since > stale_after,
                    "actions": [a for a in CARD_ACTIONS if a in allowed],
                })
            columns.append({**column, "title": title, "subtitle": subtitle, "cards": cards})
        _places(columns)
        if failure is not None and not any(c["req"].id == failure.pk for col in columns for c in col["cards"]):
            flash(failure.message, "danger")  # the card left this view (another state, filtered out)
        return self.render_template(
            self.template, columns=columns, filters=filters, failure=failure, settings=settings,
            service_types=db.session.scalars(select(ServiceType).order_by(ServiceType.name)).all(),
            locations=db.session.scalars(select(ServiceLocation).order_by(ServiceLocation.name)).all(),
            downloads=attachments_downloadable(), labels={a: action_label(a) for a in CARD_ACTIONS},
            page_url=lambda status, page: board_url(f"{self.endpoint}.index", **{f"page_{status}": page}),
            act_url=lambda pk, action: url_for(f"{self.endpoint}.act", pk=pk, action=action, **request.args),
            preferred=requests.booking_default, open_proposal=requests.open_proposal,
        )


def _places(columns: list[dict]) -> None:
    """What is still free at the time each open card would book (its open proposal, else the preferred
    time): one bookings query per location for the whole board."""
    open_cards = [card for column in columns if column["status"] != "accepted" for card in column["cards"]]
    items = []
    for card in open_cards:
        req = card["req"]
        card["books"] = requests.booking_default(req)
        items.append((req.service_location, req.service_type, card["books"], req.id))
    for card, verdict in zip(open_cards, availability.verdicts(items), strict=True):
        card["places"] = verdict


def register(appbuilder, add) -> None:
    add(appbuilder, BookingBoardView, "Booking board", category="Service desk", icon="fa-calendar-check-o")
