"""The workshop's office side: work orders with their items, time entries and messages (``WorkOrders``)."""
from __future__ import annotations

from flask_appbuilder.models.sqla.filters import FilterIn
from flask_appbuilder.models.sqla.interface import SQLAInterface

from ..models import WORK_ORDER_KINDS, WORK_ORDER_STATUSES, OrderMessage, TimeEntry, WorkItem, WorkOrder
from ..services import work_orders
from .base import (
    ACTIVE_ONLY,
    NO_DELETE,
    READ_ONLY,
    TECHNICIANS,
    ChildRowsOfParent,
    StaffModelView,
    choice_field,
    label,
    local_time,
    money_formatters,
    status_badge,
    status_search,
    time_formatters,
    yes_no,
)
from .workflow import WorkflowMixin

PERMISSION = "WorkOrders"
OPEN_STATES = ("pending_confirmation", "confirmed", "received", "in_progress", "ready")


def hours(value) -> str:
    return f"{value:.2f} h" if value is not None else ""


class WorkItemView(ChildRowsOfParent, StaffModelView):
    datamodel = SQLAInterface(WorkItem)
    class_permission_name = PERMISSION
    guard_parent = "work_order"
    list_title = "Work items"
    show_title = add_title = edit_title = "Work item"
    list_columns = ["work_order", "position", "kind", "part_number", "description", "quantity", "unit_price",
                    "amount", "done"]
    show_columns = list_columns
    search_columns = ["kind", "part_number", "description", "done"]
    order_columns = ["position", "kind", "part_number", "description"]
    add_columns = ["work_order", "position", "kind", "part_number", "description", "quantity", "unit_price", "done"]
    edit_columns = add_columns[1:]
    label_columns = {"part_number": "Part number", "quantity": "Quantity / hours", "done": "Done"}
    add_form_extra_fields = edit_form_extra_fields = {"kind": choice_field("Kind", ("labour", "part"))}
    add_form_query_rel_fields = {"work_order": [["status", FilterIn, list(OPEN_STATES)]]}
    formatters_columns = {"done": yes_no, "kind": label, **money_formatters("unit_price", "amount")}
    base_order = ("position", "asc")


class TimeEntryView(StaffModelView):
    """Clocked time. Technicians clock on and off on their board; the office may correct an entry."""

    datamodel = SQLAInterface(TimeEntry)
    class_permission_name = PERMISSION
    base_permissions = ["can_list", "can_show", "can_edit"]
    list_title = "Time entries"
    show_title = edit_title = "Time entry"
    list_columns = ["work_order", "technician", "started_at", "ended_at", "minutes", "hours", "note"]
    show_columns = list_columns
    search_columns = ["technician", "started_at", "note"]
    order_columns = ["started_at", "ended_at"]
    edit_columns = ["started_at", "ended_at", "note"]
    local_time_columns = ("started_at", "ended_at")
    label_columns = {"started_at": "Clocked on", "ended_at": "Clocked off", "minutes": "Clocked (h:mm)",
                     "hours": "Hours"}
    search_form_query_rel_fields = {"technician": TECHNICIANS}
    formatters_columns = {"hours": hours, "minutes": lambda value: f"{value // 60}:{value % 60:02d}",
                          **time_formatters("started_at", "ended_at")}
    base_order = ("started_at", "desc")


class OrderMessageView(StaffModelView):
    """Messages with the customer and internal notes, read-only: send with the order's action."""

    datamodel = SQLAInterface(OrderMessage)
    class_permission_name = PERMISSION
    base_permissions = READ_ONLY
    list_title = "Messages"
    show_title = "Message"
    list_columns = ["created_at", "side", "author", "public", "text"]
    show_columns = ["work_order", "created_at", "side", "author", "public", "text"]
    search_columns = ["side", "public", "text"]
    order_columns = ["created_at", "side"]
    label_columns = {"public": "Visible to customer", "side": "From"}
    formatters_columns = {"public": yes_no, "created_at": local_time}
    base_order = ("created_at", "desc")


class WorkOrderView(WorkflowMixin, StaffModelView):
    datamodel = SQLAInterface(WorkOrder)
    class_permission_name = PERMISSION
    base_permissions = [*NO_DELETE, "can_transition"]
    workflow_service = work_orders
    list_title = "Work orders"
    show_title = "Work order"
    add_title = "New work order"
    edit_title = "Edit work order"
    list_columns = ["number", "status", "kind", "customer", "unit", "technician", "scheduled_start", "created_at"]
    search_columns = ["number", "status", "kind", "technician", "service_location", "customer_reference",
                      "internal_reference", "tracking_number", "scheduled_start"]
    order_columns = ["number", "status", "kind", "scheduled_start", "created_at"]
    show_columns = ["number", "status", "kind", "customer", "unit", "service_request", "estimate", "technician",
                    "service_location", "shipping_method", "shipment", "fault", "accessories", "customer_reference",
                    "internal_reference", "tracking_number", "public_notes", "internal_notes", "scheduled_start",
                    "scheduled_end", "received_at", "ready_at", "completed_at", "cancel_reason", "created_by",
                    "created_at"]
    _details = ["kind", "unit", "service_location", "shipping_method", "fault", "accessories", "customer_reference",
                "internal_reference", "tracking_number", "public_notes", "internal_notes"]
    # Technician and schedule change later through the audited "Assign" action, not the edit form.
    add_columns = ["customer", "service_request", *_details, "technician", "scheduled_start", "scheduled_end"]
    edit_columns = _details
    local_time_columns = ("scheduled_start", "scheduled_end")
    label_columns = {"fault": "Fault / job description", "customer_reference": "Customer reference",
                     "internal_reference": "Internal reference", "tracking_number": "Tracking number",
                     "public_notes": "Notes for the customer", "internal_notes": "Internal notes",
                     "scheduled_start": "Scheduled start", "scheduled_end": "Scheduled end",
                     "received_at": "Received", "ready_at": "Ready", "completed_at": "Completed",
                     "cancel_reason": "Cancel reason", "created_by": "Created by"}
    add_form_extra_fields = edit_form_extra_fields = {"kind": choice_field("Kind", WORK_ORDER_KINDS)}
    search_form_extra_fields = {**status_search(WORK_ORDER_STATUSES), "kind": choice_field("Kind", WORK_ORDER_KINDS)}
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "technician": TECHNICIANS,
        "service_location": ACTIVE_ONLY,
        "shipping_method": ACTIVE_ONLY,
        "service_request": [["status", FilterIn, ["accepted"]]],
    }
    search_form_query_rel_fields = {"technician": TECHNICIANS}
    formatters_columns = {"status": status_badge, "kind": label, **time_formatters(
        "scheduled_start", "scheduled_end", "received_at", "ready_at", "completed_at", "created_at")}
    base_order = ("created_at", "desc")


def register(appbuilder, add) -> None:
    add(appbuilder, WorkOrderView, "Work orders", category="Workshop", icon="fa-wrench", category_icon="fa-cogs")
    appbuilder.add_view_no_menu(WorkItemView)
    appbuilder.add_view_no_menu(TimeEntryView)
    appbuilder.add_view_no_menu(OrderMessageView)
