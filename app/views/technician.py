"""The technician's screens (``TechnicianBoard``): "my work today" and the board of their own and the
unassigned active work orders.

No prices anywhere: the work order screen shows no money columns, the work items show what to do and
how much, never what it costs. Every row goes through ``FilterTechnicianScope`` (``scope.scoped``), so a
technician opening another technician's order, item or time entry by id gets 404. Clock on, clock off,
mark ready and a message to the customer go through ``services.work_orders.perform``.

"My work today" (``/technician/today``, where a technician lands after logging in) shows the orders assigned
to them that are in progress or scheduled for today (and those scheduled earlier that never started), each
with its work items to tick off (``work_orders.set_item_done``), internal notes, photos
(``uploads.save_upload``) and the clock on / clock off / mark ready buttons. A refusal (say, clocking on
while still clocked on elsewhere) comes back at the card with what was typed.
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.models.sqla.filters import FilterIn
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from sqlalchemy import and_, case, or_, select
from sqlalchemy.orm import joinedload, selectinload

from ..core.errors import ValidationFailed
from ..core.scope import current_actor
from ..extensions import db
from ..models import OrderMessage, TimeEntry, WorkItem, WorkOrder
from ..services import work_orders
from ..services.workflow import perform
from .base import (
    READ_ONLY,
    FilterTechnicianScope,
    StaffModelView,
    label,
    local_time,
    status_badge,
    status_search,
    time_formatters,
    yes_no,
)
from .boards import attachments_downloadable, day_bounds, local_today, run_card_action, typed_values
from .workflow import WorkflowMixin, action_label, form_params
from .workshop import hours

PERMISSION = "TechnicianBoard"
BOARD_STATES = ["confirmed", "received", "in_progress"]
MY_ORDERS = [["id", FilterTechnicianScope, None]]
MY_ROWS = [["work_order_id", FilterTechnicianScope, None]]


class TechnicianItemView(StaffModelView):
    datamodel = SQLAInterface(WorkItem)
    class_permission_name = PERMISSION
    base_permissions = READ_ONLY
    base_filters = MY_ROWS
    list_title = "Work items"
    show_title = "Work item"
    list_columns = ["position", "kind", "part_number", "description", "quantity", "done"]
    show_columns = ["work_order", *list_columns]
    search_columns = ["kind", "part_number", "description", "done"]
    order_columns = ["position", "kind", "part_number"]
    label_columns = {"part_number": "Part number", "quantity": "Quantity / hours"}
    formatters_columns = {"done": yes_no, "kind": label}
    base_order = ("position", "asc")


class TechnicianTimeView(StaffModelView):
    datamodel = SQLAInterface(TimeEntry)
    class_permission_name = PERMISSION
    base_permissions = READ_ONLY
    base_filters = MY_ROWS
    list_title = "Time entries"
    show_title = "Time entry"
    list_columns = ["technician", "started_at", "ended_at", "hours", "note"]
    show_columns = ["work_order", *list_columns]
    search_columns = ["started_at", "note"]
    order_columns = ["started_at", "ended_at"]
    label_columns = {"started_at": "Clocked on", "ended_at": "Clocked off"}
    formatters_columns = {"hours": hours, **time_formatters("started_at", "ended_at")}
    base_order = ("started_at", "desc")


class TechnicianMessageView(StaffModelView):
    datamodel = SQLAInterface(OrderMessage)
    class_permission_name = PERMISSION
    base_permissions = READ_ONLY
    base_filters = MY_ROWS
    list_title = "Messages"
    show_title = "Message"
    list_columns = ["created_at", "side", "author", "public", "text"]
    show_columns = ["work_order", *list_columns]
    search_columns = ["side", "text"]
    order_columns = ["created_at"]
    label_columns = {"public": "Visible to customer", "side": "From"}
    formatters_columns = {"public": yes_no, "created_at": local_time}
    base_order = ("created_at", "desc")


class TechnicianBoardView(WorkflowMixin, StaffModelView):
    route_base = "/technicianboard"  # notifications link here
    datamodel = SQLAInterface(WorkOrder)
    class_permission_name = PERMISSION
    base_permissions = [*READ_ONLY, "can_transition"]
    base_filters = [*MY_ORDERS, ["status", FilterIn, BOARD_STATES]]
    workflow_service = work_orders
    workflow_actions = ("clock_on", "clock_off", "ready", "messages")
    list_title = "Technician board"
    show_title = "Work order"
    list_columns = ["number", "status", "kind", "unit", "customer", "technician", "scheduled_start", "fault"]
    search_columns = ["number", "status", "kind", "customer_reference", "scheduled_start"]
    order_columns = ["number", "status", "kind", "scheduled_start"]
    show_columns = ["number", "status", "kind", "customer", "customer_reference", "unit", "technician",
                    "service_location", "fault", "accessories", "public_notes", "internal_notes", "scheduled_start",
                    "scheduled_end", "received_at"]
    label_columns = {"fault": "Fault / job", "public_notes": "Notes for the customer",
                     "internal_notes": "Internal notes", "scheduled_start": "Scheduled", "scheduled_end": "Until",
                     "received_at": "Received", "customer_reference": "Customer reference"}
    search_form_extra_fields = status_search(BOARD_STATES)
    formatters_columns = {"status": status_badge, "kind": label, **time_formatters("scheduled_start", "scheduled_end",
                                                                    "received_at")}
    base_order = ("scheduled_start", "asc")
    related_views = [TechnicianItemView, TechnicianTimeView, TechnicianMessageView]

    def available_actions(self, item, actor) -> list[str]:
        """Clock on or clock off, whichever fits: is this technician clocked on to this order now?"""
        actions = super().available_actions(item, actor)
        clocked_on = any(e.ended_at is None and e.technician_id == actor.user_id for e in item.time_entries)
        hidden = "clock_on" if clocked_on else "clock_off"
        return [a for a in actions if a != hidden]


TODAY_ACTIONS = ("clock_on", "clock_off", "ready", "note", "photo", "item")


class TechnicianTodayView(BaseView):
    """The technician's day: their orders in progress or scheduled today, to work through card by card."""

    route_base = "/technician"
    class_permission_name = PERMISSION
    method_permission_name = {"today": "list", "act": "transition"}
    default_view = "today"
    template = "technician/today.html"

    @expose("/today")
    @has_access
    def today(self):
        return self._render()

    @expose("/today/<int:pk>/<action>", methods=["POST"])
    @has_access
    def act(self, pk: int, action: str):
        actor = current_actor()
        order = db.session.scalar(self._mine(actor).where(WorkOrder.id == pk))
        if order is None:  # not theirs (or not today's): the same answer as a missing one
            abort(404)
        if action not in TODAY_ACTIONS:
            flash(_("%(action)s is not available here.", action=action_label(action)), "danger")
            return redirect(url_for(f"{self.endpoint}.today"))
        number = order.number
        _result, refused = run_card_action(self._render, pk, action, typed_values("text", "note"),
                                           lambda: self._run(order, action, actor))
        if refused:
            return refused
        done = {"note": _("note added"), "photo": _("photo added"), "item": _("work item updated")}
        flash(_("%(number)s: %(done)s.", number=number,
                done=done.get(action) or _("%(action)s done", action=action_label(action).lower())), "success")
        return redirect(url_for(f"{self.endpoint}.today", _anchor=f"card-{pk}"))

    def _run(self, order: WorkOrder, action: str, actor):
        form = request.form
        if action == "note":
            return perform(order, "messages", actor, {"text": form.get("text", ""), "public": False})
        if action == "item":
            return perform(order, "item", actor, {"item": form.get("item_id", ""),
                                                  "done": form.get("done") in ("1", "on", "true")})
        if action == "photo":
            upload = request.files.get("photo")
            try:
                return perform(order, "attach", actor, {"file": upload if upload and upload.filename else None,
                                                        "public": form.get("public") in ("1", "on")})
            except ValidationFailed as error:  # the card's input is called "photo"
                raise ValidationFailed({"photo": [m for ms in error.errors.values() for m in ms]}) from None
        return perform(order, action, actor, form_params(work_orders.TABLE.schema(action)))

    @staticmethod
    def _mine(actor):
        """The actor's orders for today: in progress, or scheduled before the end of today and not started."""
        start, end = day_bounds(local_today())
        return select(WorkOrder).where(
            WorkOrder.technician_id == actor.user_id,
            or_(WorkOrder.status == "in_progress",
                and_(WorkOrder.status.in_(("confirmed", "received")), WorkOrder.scheduled_start < end)),
        )

    def _render(self, failure=None):
        actor = current_actor()
        start, _end = day_bounds(local_today())
        orders = db.session.scalars(
            self._mine(actor).options(
                joinedload(WorkOrder.customer), joinedload(WorkOrder.unit), joinedload(WorkOrder.service_location),
                selectinload(WorkOrder.items), selectinload(WorkOrder.time_entries),
                selectinload(WorkOrder.messages).joinedload(OrderMessage.author),
                selectinload(WorkOrder.attachments),
            ).order_by(case((WorkOrder.status == "in_progress", 0), else_=1), WorkOrder.scheduled_start)
        ).unique().all()
        may_act = self.appbuilder.sm.has_access("can_transition", PERMISSION)
        cards = []
        for order in orders:
            clocked_on = any(e.ended_at is None and e.technician_id == actor.user_id for e in order.time_entries)
            allowed = work_orders.TABLE.allowed_actions(order.status, actor) if may_act else []
            hidden = "clock_on" if clocked_on else "clock_off"
            cards.append({"order": order, "clocked_on": clocked_on,
                          "overdue": order.status != "in_progress" and order.scheduled_start < start,
                          "actions": [a for a in ("clock_on", "clock_off", "ready") if a in allowed and a != hidden],
                          "editable": may_act and order.status in work_orders.ITEM_STATES})
        if failure is not None and not any(c["order"].id == failure.pk for c in cards):
            flash(failure.message, "danger")
        return self.render_template(
            self.template, cards=cards, failure=failure, may_act=may_act, running=work_orders.open_entry(actor.user_id),
            downloads=attachments_downloadable(), labels={a: action_label(a) for a in TODAY_ACTIONS},
            act_url=lambda pk, action: url_for(f"{self.endpoint}.act", pk=pk, action=action), today=local_today(),
        )


def register(appbuilder, add) -> None:
    add(appbuilder, TechnicianTodayView, "My work today", category="Workshop", icon="fa-sun-o")
    add(appbuilder, TechnicianBoardView, "Technician board", category="Workshop", icon="fa-tasks")
    appbuilder.add_view_no_menu(TechnicianItemView)
    appbuilder.add_view_no_menu(TechnicianTimeView)
    appbuilder.add_view_no_menu(TechnicianMessageView)
