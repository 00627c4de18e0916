"""The technician's board (``TechnicianBoard``): their own and the unassigned active work orders.

No prices anywhere: the work order screen shows no money columns, the work items show what to do and
how much, never what it costs. Every row goes through ``FilterTechnicianScope`` (``scope.scoped``), so a
technician opening another technician's order, item or time entry by id gets 404. Clock on, clock off,
mark ready and a message to the customer go through ``services.work_orders.perform``.
"""
from __future__ import annotations

from flask_appbuilder.models.sqla.filters import FilterIn
from flask_appbuilder.models.sqla.interface import SQLAInterface

from ..models import OrderMessage, TimeEntry, WorkItem, WorkOrder
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
from .workflow import WorkflowMixin
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
    workflow_service = "work_orders"
    workflow_actions = ("clock_on", "clock_off", "ready")
    workflow_extra_actions = {"messages": ("received", "in_progress")}
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


def register(appbuilder, add) -> None:
    add(appbuilder, TechnicianBoardView, "Technician board", category="Workshop", icon="fa-tasks")
    appbuilder.add_view_no_menu(TechnicianItemView)
    appbuilder.add_view_no_menu(TechnicianTimeView)
    appbuilder.add_view_no_menu(TechnicianMessageView)
