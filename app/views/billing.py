"""Billing (``Invoices``): invoices, their lines and payments; and shipments (``Shipments``)."""
from __future__ import annotations

from flask_appbuilder.models.sqla.filters import FilterEqual, FilterIn
from flask_appbuilder.models.sqla.interface import SQLAInterface

from ..models import INVOICE_STATUSES, SHIPMENT_STATUSES, Invoice, InvoiceLine, Payment, Shipment
from ..services import invoices, shipments
from .base import (
    ACTIVE_ONLY,
    NO_DELETE,
    READ_ONLY,
    ChildRowsOfParent,
    FilterIsNull,
    FilterIsSet,
    StaffModelView,
    choice_field,
    label,
    local_time,
    money_formatters,
    status_badge,
    status_search,
    time_formatters,
)
from .workflow import WorkflowMixin

INVOICES = "Invoices"
SHIPMENTS = "Shipments"


class InvoiceLineView(ChildRowsOfParent, StaffModelView):
    datamodel = SQLAInterface(InvoiceLine)
    class_permission_name = INVOICES
    guard_parent = "invoice"
    list_title = "Invoice lines"
    show_title = add_title = edit_title = "Invoice line"
    list_columns = ["invoice", "position", "kind", "part_number", "description", "quantity", "unit_price", "amount"]
    show_columns = list_columns
    search_columns = ["kind", "part_number", "description"]
    order_columns = ["position", "kind", "part_number", "description"]
    add_columns = ["invoice", "position", "kind", "part_number", "description", "quantity", "unit_price"]
    edit_columns = add_columns[1:]
    label_columns = {"part_number": "Part number"}
    add_form_extra_fields = edit_form_extra_fields = {"kind": choice_field("Kind", ("labour", "part", "other"))}
    add_form_query_rel_fields = {"invoice": [["status", FilterIn, ["draft"]]]}
    formatters_columns = {"kind": label, **money_formatters("unit_price", "amount")}
    base_order = ("position", "asc")


class PaymentView(StaffModelView):
    """Payments, read-only: record one with the invoice's "Record payment" action."""

    datamodel = SQLAInterface(Payment)
    class_permission_name = INVOICES
    base_permissions = READ_ONLY
    list_title = "Payments"
    show_title = "Payment"
    list_columns = ["received_at", "invoice", "amount", "method", "reference", "recorded_by"]
    show_columns = [*list_columns, "provider"]
    search_columns = ["method", "reference", "provider", "received_at"]
    order_columns = ["received_at", "amount", "method"]
    label_columns = {"received_at": "Received", "recorded_by": "Recorded by"}
    search_form_extra_fields = {"method": choice_field("Method", ("cash", "card", "transfer", "cheque", "online"))}
    formatters_columns = {"received_at": local_time, "method": label, **money_formatters("amount")}
    base_order = ("received_at", "desc")


class InvoiceView(WorkflowMixin, StaffModelView):
    datamodel = SQLAInterface(Invoice)
    class_permission_name = INVOICES
    base_permissions = [*NO_DELETE, "can_transition"]
    workflow_service = invoices
    workflow_summary_template = "staff/_invoice_totals.html"
    list_title = "Invoices"
    show_title = "Invoice"
    add_title = "New invoice"
    edit_title = "Edit invoice"
    list_columns = ["number", "status", "customer", "work_order", "total", "amount_paid", "due_date", "issued_at"]
    search_columns = ["number", "status", "due_date", "issued_at", "note"]
    order_columns = ["number", "status", "total", "amount_paid", "due_date", "issued_at"]
    # Lines, totals, payments and the balance are in the summary above the details.
    show_columns = ["number", "status", "customer", "work_order", "issued_at", "due_date", "authorized_at",
                    "authorized_by", "paid_at", "void_reason", "note", "created_at"]
    add_columns = ["customer", "work_order", "due_date", "note"]
    edit_columns = ["due_date", "note"]
    label_columns = {"issued_at": "Issued", "due_date": "Due", "authorized_at": "Authorized",
                     "authorized_by": "Authorized by", "paid_at": "Paid on", "void_reason": "Void reason",
                     "note": "Note on the invoice"}
    add_form_query_rel_fields = {"work_order": [["status", FilterIn, ["ready", "completed"]]]}
    search_form_extra_fields = status_search(INVOICE_STATUSES)
    formatters_columns = {"status": status_badge, **money_formatters("subtotal", "tax", "total", "amount_paid",
                                                                     "balance"),
                          **time_formatters("issued_at", "authorized_at", "paid_at", "created_at")}
    base_order = ("created_at", "desc")
    related_views = [InvoiceLineView, PaymentView]


class QueriedInvoiceView(InvoiceView):
    """The work list of invoices a customer queried (oldest query first): answer, void and re-issue, or keep."""

    route_base = "/queriedinvoices"
    list_title = "Queried invoices"
    base_filters = [["queried_at", FilterIsSet, None]]
    list_columns = ["number", "status", "customer", "queried_at", "total", "due_date", "issued_at"]
    label_columns = {**InvoiceView.label_columns, "queried_at": "Queried"}
    formatters_columns = {**InvoiceView.formatters_columns, **time_formatters("queried_at")}
    base_order = ("queried_at", "asc")
    related_views = []


class ShipmentView(WorkflowMixin, StaffModelView):
    datamodel = SQLAInterface(Shipment)
    class_permission_name = SHIPMENTS
    base_permissions = [*NO_DELETE, "can_transition"]
    workflow_service = shipments
    list_title = "Shipments"
    show_title = "Shipment"
    add_title = "New shipment"
    edit_title = "Edit shipment"
    list_columns = ["number", "status", "customer", "service_location", "shipping_method", "tracking_number",
                    "confirmed_at", "received_at"]
    search_columns = ["number", "status", "service_location", "shipping_method", "tracking_number"]
    order_columns = ["number", "status", "tracking_number", "confirmed_at", "received_at"]
    show_columns = ["number", "status", "customer", "service_location", "shipping_method", "tracking_number",
                    "confirmed_at", "received_at", "created_at"]
    add_columns = ["customer", "service_location", "shipping_method", "tracking_number", "work_orders"]
    edit_columns = ["tracking_number"]
    label_columns = {"tracking_number": "Tracking number", "confirmed_at": "Confirmed", "received_at": "Received",
                     "work_orders": "Work orders (confirmed, not yet shipped)"}
    add_form_query_rel_fields = {
        "customer": [["kind", FilterEqual, "reseller"]],
        "service_location": ACTIVE_ONLY,
        "shipping_method": ACTIVE_ONLY,
        "work_orders": [["status", FilterEqual, "confirmed"], ["shipment_id", FilterIsNull, None]],
    }
    search_form_query_rel_fields = {"service_location": ACTIVE_ONLY, "shipping_method": ACTIVE_ONLY}
    search_form_extra_fields = status_search(SHIPMENT_STATUSES)
    formatters_columns = {"status": status_badge, **time_formatters("confirmed_at", "received_at", "created_at")}
    base_order = ("created_at", "desc")


def register(appbuilder, add) -> None:
    add(appbuilder, InvoiceView, "Invoices", category="Billing", icon="fa-file-text-o", category_icon="fa-money")
    add(appbuilder, QueriedInvoiceView, "Queried invoices", category="Billing", icon="fa-question-circle")
    add(appbuilder, PaymentView, "Payments", category="Billing", icon="fa-credit-card")
    appbuilder.add_view_no_menu(InvoiceLineView)
    add(appbuilder, ShipmentView, "Shipments", category="Shipments", icon="fa-truck", category_icon="fa-truck")
