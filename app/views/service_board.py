"""The service board (``ServiceBoard``): the workshop's open work orders by state, and by technician.

One column per open state (pending confirmation → ready), a table of technicians × states on top whose
counts filter the board to one technician, and filters for technician, kind (job, inspection, repair) and
location. On a card the office assigns a technician and a time window (typed in the shop's time zone,
stored in UTC) and confirms, receives or completes the order; everything goes through
``services.work_orders.perform``. A refusal comes back at the card with what was typed. Each column is a
count and one query with its relations joined, so the SQL count does not grow with the cards.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..core.scope import current_actor
from ..core.settings import to_local
from ..extensions import db
from ..models import WORK_ORDER_KINDS, ServiceLocation, WorkOrder, utcnow
from ..services import work_orders
from . import sentences
from .boards import (
    COLUMN_LIMIT,
    BoardView,
    age,
    board_url,
    parse_id,
)
from .filters import status_label
from .workflow import action_label, technicians

PERMISSION = "ServiceBoard"
COLUMNS = ("pending_confirmation", "confirmed", "received", "in_progress", "ready")
TRANSITIONS = ("confirm", "receive", "complete")
CARD_ACTIONS = (*TRANSITIONS, "assign")
TYPED_FIELDS = ("technician_id", "scheduled_start", "scheduled_end")


@dataclass
class Filters:
    technician: int | str | None = None  # a user id, "none" (unassigned) or None (anyone)
    kind: str | None = None
    location: int | None = None

    @classmethod
    def from_args(cls, args) -> Filters:
        technician = args.get("technician", "")
        kind = args.get("kind", "")
        return cls(technician="none" if technician == "none" else parse_id(technician),
                   kind=kind if kind in WORK_ORDER_KINDS else None, location=parse_id(args.get("location")))

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.technician, self.kind, self.location))

    def apply(self, stmt, *, technician: bool = True):
        if technician and self.technician == "none":
            stmt = stmt.where(WorkOrder.technician_id.is_(None))
        elif technician and self.technician is not None:
            stmt = stmt.where(WorkOrder.technician_id == self.technician)
        if self.kind:
            stmt = stmt.where(WorkOrder.kind == self.kind)
        if self.location is not None:
            stmt = stmt.where(WorkOrder.service_location_id == self.location)
        return stmt


class ServiceBoardView(BoardView):
    route_base = "/serviceboard"
    class_permission_name = PERMISSION
    template = "staff/service_board.html"
    model = WorkOrder
    board_name = _l("service board")
    card_actions = CARD_ACTIONS
    typed_fields = TYPED_FIELDS
    service = work_orders

    def _after(self, order, number, action, result, before=None):
        pk = order.id
        flash(sentences.done(order, number, action, result, before), "success")
        return redirect(board_url(f"{self.endpoint}.index", anchor=f"card-{pk}"))

    # --- reading -------------------------------------------------------------------------------------

    def _column(self, status: str, filters: Filters, page: int) -> dict:
        stmt = filters.apply(select(WorkOrder).where(WorkOrder.status == status))
        total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
        pages = max(1, -(-total // COLUMN_LIMIT))
        page = min(max(1, page), pages)
        rows = db.session.scalars(
            stmt.options(joinedload(WorkOrder.customer), joinedload(WorkOrder.unit),
                         joinedload(WorkOrder.technician), joinedload(WorkOrder.service_location))
            # scheduled first, by time; then the oldest unscheduled
            .order_by(WorkOrder.scheduled_start.is_(None), WorkOrder.scheduled_start, WorkOrder.created_at,
                      WorkOrder.id)
            .limit(COLUMN_LIMIT).offset((page - 1) * COLUMN_LIMIT)
        ).unique().all()
        return {"status": status, "title": status_label(status), "rows": rows, "total": total, "page": page,
                "pages": pages, "more": max(0, total - page * COLUMN_LIMIT)}

    def _lanes(self, filters: Filters, techs: list) -> list[dict]:
        """Technicians × states: how many open orders each technician (and nobody) has in each state."""
        stmt = filters.apply(
            select(WorkOrder.technician_id, WorkOrder.status, func.count(WorkOrder.id))
            .where(WorkOrder.status.in_(COLUMNS)).group_by(WorkOrder.technician_id, WorkOrder.status),
            technician=False,
        )
        counts: dict = {}
        for tech_id, status, count in db.session.execute(stmt):
            counts.setdefault(tech_id, {})[status] = count
        names = {t.id: t for t in techs}
        lanes = [{"key": "none", "label": _("Unassigned"), "counts": counts.get(None, {})}]
        for tech_id in sorted((k for k in counts if k is not None), key=lambda k: str(names.get(k, k))):
            user = names.get(tech_id)
            label = f"{user.first_name} {user.last_name} ({user.username})" if user else _("user #%(id)s", id=tech_id)
            lanes.append({"key": tech_id, "label": label, "counts": counts[tech_id]})
        for lane in lanes:
            lane["total"] = sum(lane["counts"].values())
        return lanes

    def _render(self, failure=None):
        actor = current_actor()
        filters = Filters.from_args(request.args)
        techs = technicians()
        may_act = self.appbuilder.sm.has_access("can_transition", PERMISSION)
        now = utcnow()
        columns = []
        for status in COLUMNS:
            column = self._column(status, filters, parse_id(request.args.get(f"page_{status}")) or 1)
            cards = []
            for order in column["rows"]:
                allowed = work_orders.TABLE.allowed_actions(order.status, actor) if may_act else []
                cards.append({"order": order, "age": age(order.created_at, now),
                              "actions": [a for a in TRANSITIONS if a in allowed],
                              "assign": may_act and actor.is_staff,
                              "start": to_local(order.scheduled_start), "end": to_local(order.scheduled_end)})
            columns.append({**column, "cards": cards})
        if failure is not None and not any(c["order"].id == failure.pk for col in columns for c in col["cards"]):
            flash(failure.message, "danger")
        return self.render_template(
            self.template, columns=columns, filters=filters, failure=failure, technicians=techs,
            lanes=self._lanes(filters, techs), kinds=WORK_ORDER_KINDS, states=COLUMNS,
            locations=db.session.scalars(select(ServiceLocation).order_by(ServiceLocation.name)).all(),
            labels={a: action_label(a) for a in CARD_ACTIONS},
            filter_url=lambda **args: url_for(f"{self.endpoint}.index", **{
                **{k: v for k, v in request.args.items() if v and not k.startswith("page_")}, **args}),
            page_url=lambda status, page: board_url(f"{self.endpoint}.index", **{f"page_{status}": page}),
            act_url=lambda pk, action: url_for(f"{self.endpoint}.act", pk=pk, action=action, **request.args),
        )


def register(appbuilder, add) -> None:
    add(appbuilder, ServiceBoardView, "Service board", category="Workshop", icon="fa-columns")

