"""The service desk: requests and their booking negotiation (``ServiceRequests``), estimates with their
lines and dispute log (``Estimates``)."""
from __future__ import annotations

from flask import flash, g, redirect, url_for
from flask_appbuilder.models.sqla.filters import FilterIn
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import TimeField
from wtforms.validators import Optional

from ..extensions import db
from ..models import (
    ESTIMATE_STATUSES,
    REQUEST_STATUSES,
    SLOTS,
    Attachment,
    DisputeNote,
    Estimate,
    LabourLine,
    PartLine,
    ServiceRequest,
    TimeProposal,
    dispute_log,
)
from ..services import estimates, requests
from .base import (
    ACTIVE_ONLY,
    NO_DELETE,
    READ_ONLY,
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
from .dispute_review import names_of_line_refs
from .filters import status_label
from .workflow import WorkflowMixin

REQUESTS = "ServiceRequests"
ESTIMATES = "Estimates"


def _size(value) -> str:
    if value is None:
        return ""
    return f"{value / 1024:.0f} KB" if value < 1024 * 1024 else f"{value / 1024 / 1024:.1f} MB"


class TimeProposalView(StaffModelView):
    """The booking negotiation, read-only: proposals are made with the request's actions."""

    datamodel = SQLAInterface(TimeProposal)
    class_permission_name = REQUESTS
    base_permissions = READ_ONLY
    list_title = "Time proposals"
    show_title = "Time proposal"
    list_columns = ["service_request", "proposed_by", "start", "outcome", "note", "created_at"]
    show_columns = ["service_request", "proposed_by", "user", "start", "outcome", "note", "created_at"]
    search_columns = ["proposed_by", "outcome", "start"]
    order_columns = ["start", "outcome", "created_at"]
    label_columns = {"proposed_by": "Proposed by", "start": "Proposed time", "user": "By"}
    formatters_columns = {"proposed_by": label, "outcome": label, **time_formatters("start", "created_at")}
    base_order = ("created_at", "desc")


class AttachmentView(StaffModelView):
    """Uploaded files, listed (downloads go through the ownership-checked file view)."""

    datamodel = SQLAInterface(Attachment)
    class_permission_name = REQUESTS
    base_permissions = READ_ONLY
    list_title = "Attachments"
    show_title = "Attachment"
    list_columns = ["filename", "content_type", "size_bytes", "customer", "public", "created_at"]
    show_columns = ["filename", "content_type", "size_bytes", "customer", "service_request", "work_order",
                    "public", "uploaded_by", "created_at"]
    search_columns = ["filename", "content_type", "public"]
    order_columns = ["filename", "content_type", "size_bytes", "created_at"]
    label_columns = {"size_bytes": "Size", "content_type": "Type", "public": "Visible to customer",
                     "uploaded_by": "Uploaded by"}
    formatters_columns = {"size_bytes": _size, "public": yes_no, "created_at": local_time}
    base_order = ("created_at", "desc")


class ServiceRequestView(WorkflowMixin, StaffModelView):
    datamodel = SQLAInterface(ServiceRequest)
    class_permission_name = REQUESTS
    base_permissions = [*NO_DELETE, "can_transition"]
    workflow_service = requests
    list_title = "Service requests"
    show_title = "Service request"
    add_title = "New service request"
    edit_title = "Edit service request"
    list_columns = ["number", "status", "customer", "subject", "service_type", "preferred_date", "preferred_slot",
                    "scheduled_start", "created_at"]
    search_columns = ["number", "status", "subject", "contact_name", "contact_email", "service_type",
                      "preferred_date", "source"]
    order_columns = ["number", "status", "subject", "preferred_date", "scheduled_start", "created_at"]
    show_columns = ["number", "status", "customer", "contact_name", "contact_email", "contact_phone", "source",
                    "service_type", "service_location", "address", "unit", "subject", "summary", "preferred_date",
                    "preferred_slot", "preferred_time", "estimate_required", "scheduled_start", "scheduled_slot",
                    "confirmed_at", "decline_reason", "cancel_reason", "created_by", "created_at", "updated_at"]
    _details = ["service_type", "service_location", "address", "unit", "subject", "summary", "preferred_date",
                "preferred_slot", "preferred_time", "estimate_required", "contact_name", "contact_email",
                "contact_phone"]
    add_columns = ["customer", *_details]
    edit_columns = _details
    label_columns = {"preferred_date": "Preferred date", "preferred_slot": "Slot", "preferred_time": "Time",
                     "estimate_required": "Estimate first", "scheduled_start": "Booked for",
                     "scheduled_slot": "Booked slot", "confirmed_at": "Confirmed", "contact_name": "Contact",
                     "contact_email": "Contact e-mail", "contact_phone": "Contact phone",
                     "decline_reason": "Decline reason", "cancel_reason": "Cancel reason",
                     "created_by": "Created by"}
    add_form_extra_fields = edit_form_extra_fields = {
        "preferred_slot": choice_field("Slot", SLOTS),
        "preferred_time": TimeField("Time", validators=[Optional()], format="%H:%M",
                                    description="Only for the custom slot, in shop time.",
                                    render_kw={"class": "form-control"}),
    }
    search_form_extra_fields = status_search(REQUEST_STATUSES)
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "service_type": ACTIVE_ONLY,
        "service_location": ACTIVE_ONLY,
    }
    search_form_query_rel_fields = {"service_type": ACTIVE_ONLY}
    formatters_columns = {"status": status_badge, "estimate_required": yes_no, "preferred_slot": label,
                          "scheduled_slot": label, "source": label,
                          **time_formatters("scheduled_start", "confirmed_at", "created_at", "updated_at")}
    base_order = ("created_at", "desc")

    def after_transition(self, item, number, action, result, back, before=None):
        """"Create estimate" opens the new draft in the estimate builder."""
        if action == "estimate" and isinstance(result, Estimate):
            flash(_("%(number)s: estimate %(estimate)s is created as a draft. Add its lines.", number=number,
                    estimate=result), "success")
            return redirect(url_for("EstimateBuilderView.edit", pk=result.id))
        return super().after_transition(item, number, action, result, back, before)


class PartLineView(StaffModelView):
    """Read-only: an estimate's lines change only in the estimate builder (its ``edit`` action)."""

    datamodel = SQLAInterface(PartLine)
    class_permission_name = ESTIMATES
    base_permissions = READ_ONLY
    list_title = "Part lines"
    show_title = "Part line"
    list_columns = ["labour_line", "position", "part_number", "description", "quantity", "unit_price", "amount",
                    "disputed"]
    show_columns = [*list_columns, "dispute_note"]
    search_columns = ["part_number", "description", "disputed"]
    order_columns = ["position", "part_number", "description"]
    label_columns = {"labour_line": "Labour line", "part_number": "Part number", "dispute_note": "Dispute note"}
    formatters_columns = {"disputed": yes_no, **money_formatters("unit_price", "amount")}
    base_order = ("position", "asc")


class LabourLineView(StaffModelView):
    """Read-only: an estimate's lines change only in the estimate builder (its ``edit`` action)."""

    datamodel = SQLAInterface(LabourLine)
    class_permission_name = ESTIMATES
    base_permissions = READ_ONLY
    list_title = "Labour lines"
    show_title = "Labour line"
    list_columns = ["estimate", "position", "description", "hours", "rate", "amount", "disputed"]
    show_columns = [*list_columns, "dispute_note"]
    search_columns = ["description", "disputed"]
    order_columns = ["position", "description", "hours", "rate"]
    label_columns = {"rate": "Rate per hour", "dispute_note": "Dispute note"}
    formatters_columns = {"disputed": yes_no, **money_formatters("rate", "amount")}
    base_order = ("position", "asc")
    related_views = [PartLineView]


class DisputeNoteView(StaffModelView):
    """The dispute log, read-only here: staff add notes with the estimate's "Add note" action."""

    datamodel = SQLAInterface(DisputeNote)
    class_permission_name = ESTIMATES
    base_permissions = READ_ONLY
    list_title = "Dispute notes"
    show_title = "Dispute note"
    list_columns = ["estimate", "side", "author", "line_ref", "text", "created_at"]
    show_columns = ["estimate_number", "estimate", "side", "author", "line_ref", "text", "created_at"]
    search_columns = ["estimate_number", "side", "text"]
    order_columns = ["side", "created_at"]
    label_columns = {"line_ref": "Line", "estimate_number": "Estimate number", "side": "Side"}
    formatters_columns = {"side": label, "line_ref": lambda ref: _line_name(ref), **time_formatters("created_at")}
    base_order = ("created_at", "desc")

    def _get_list_widget(self, *args, **kwargs):
        """The lines by their descriptions, not ``labour:17`` (one statement per page, not one per row)."""
        widgets = super()._get_list_widget(*args, **kwargs)
        rows = widgets["list"].template_args["value_columns"]
        names = names_of_line_refs(row.get("line_ref") for row in rows)
        for row in rows:
            row["line_ref"] = _line_name(row.get("line_ref"), names)
        return widgets


def _line_name(ref, names: dict | None = None) -> str:
    """A dispute note's line in words (the list passes the names of its whole page; already a name stays)."""
    if not ref:
        return "—"
    if names is None:
        names = names_of_line_refs([ref])
    kind, _sep, ident = ref.partition(":")
    if ref in names or not (kind in ("labour", "part") and ident.isdecimal()):
        return names.get(ref, ref)
    return str(_l("a line no longer on the estimate"))


class EstimateView(WorkflowMixin, StaffModelView):
    datamodel = SQLAInterface(Estimate)
    class_permission_name = ESTIMATES
    base_permissions = [*NO_DELETE, "can_transition"]
    workflow_service = estimates
    workflow_summary_template = "staff/estimate_summary.html"  # "Edit lines" (the builder), then the lines
    list_title = "Estimates"
    show_title = "Estimate"
    add_title = "New estimate"
    edit_title = "Edit estimate"
    list_columns = ["display_number", "status", "customer", "service_request", "total", "sent_at", "created_at"]
    search_columns = ["number", "status", "revision", "note"]
    order_columns = ["status", "total", "sent_at", "created_at"]
    # Lines and totals are in the summary above the details.
    show_columns = ["display_number", "revision", "status", "customer", "service_request", "unit", "previous",
                    "note", "decline_reason", "acknowledged_at", "sent_at", "decided_at", "created_by", "created_at"]
    add_columns = ["customer", "service_request", "unit", "note"]
    edit_columns = ["unit", "note"]
    label_columns = {"previous": "Previous revision", "note": "Note to the customer", "sent_at": "Sent",
                     "decided_at": "Decided", "acknowledged_at": "Dispute acknowledged",
                     "decline_reason": "Decline reason", "created_by": "Created by"}
    add_form_query_rel_fields = {"service_request": [["status", FilterIn, ["accepted"]]]}
    search_form_extra_fields = status_search(ESTIMATE_STATUSES)
    formatters_columns = {"status": status_badge, **money_formatters("subtotal", "tax", "total"),
                          **time_formatters("acknowledged_at", "sent_at", "decided_at", "created_at")}
    base_order = ("created_at", "desc")

    def summary_context(self, item) -> dict:
        return {"dispute_log": dispute_log(item), "approval": estimates.approval_summary(item)}

    def post_add_redirect(self):
        """A new estimate goes straight to the builder for its lines."""
        created = g.pop("portico_created_id", None)
        if created is not None:
            return redirect(url_for("EstimateBuilderView.edit", pk=created))
        return super().post_add_redirect()

    def pre_update(self, item):
        if item.status != "draft":
            message = f"{item} is {status_label(item.status).lower()}: only a draft can be edited; revise it."
            db.session.rollback()
            raise ValueError(message)
        super().pre_update(item)



def register(appbuilder, add) -> None:
    add(appbuilder, ServiceRequestView, "Service requests", category="Service desk", icon="fa-inbox",
        category_icon="fa-life-ring")
    add(appbuilder, EstimateView, "Estimates", category="Service desk", icon="fa-calculator")
    add(appbuilder, DisputeNoteView, "Dispute notes", category="Service desk", icon="fa-comments")
    appbuilder.add_view_no_menu(TimeProposalView)
    appbuilder.add_view_no_menu(AttachmentView)
    appbuilder.add_view_no_menu(LabourLineView)
    appbuilder.add_view_no_menu(PartLineView)
