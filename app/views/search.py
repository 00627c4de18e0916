"""The staff search box (``StaffSearch``, ``/search/?q=…``): the navbar's as-you-type results as JSON, the
full results page as HTML (issue 15, item 2).

Thin: it parses ``q`` and ``limit``, calls ``global_search.search_everything`` with the logged-in actor and
links each hit to the page that shows it to this user (a technician's work orders open on their board).
Customers and resellers get 403 (the portal has its own order search); a visitor is sent to the login.
"""
from __future__ import annotations

from flask import abort, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user

from ..core.scope import current_actor
from ..models import WorkOrder
from ..services.global_search import DEFAULT_LIMIT, MAX_LIMIT, search_everything
from .filters import status_label
from .technician import BOARD_STATES

PERMISSION = "StaffSearch"

#: The show page of each kind, for staff and for technicians (who open work orders on their board).
SHOW_PAGES = {
    "service_requests": "ServiceRequestView.show",
    "estimates": "EstimateView.show",
    "work_orders": "WorkOrderView.show",
    "invoices": "InvoiceView.show",
    "shipments": "ShipmentView.show",
    "credit_notes": "InvoiceView.show",  # a credit note is shown on the invoice it corrects
    "customers": "CustomerView.show",
    "units": "UnitView.show",
}
TECHNICIAN_PAGES = {"work_orders": "TechnicianBoardView.show"}
#: A technician finds the orders their board lists (and so can open): their own and unassigned, in its states.
TECHNICIAN_NARROW = {"work_orders": WorkOrder.status.in_(BOARD_STATES)}


def wants_json() -> bool:
    return request.args.get("format") == "json" or request.accept_mimetypes.best == "application/json"


def hit_url(hit, technician: bool) -> str:
    pages = TECHNICIAN_PAGES if technician else SHOW_PAGES
    return url_for(pages[hit.kind], pk=hit.target_id or hit.id)


class StaffSearchView(BaseView):
    route_base = "/search"
    default_view = "index"
    class_permission_name = PERMISSION
    base_permissions = ["can_search"]

    @expose("/")
    def index(self):
        if not current_user.is_authenticated:
            if wants_json():
                return jsonify({"message": _("Log in to search.")}), 401
            return redirect(self.appbuilder.get_url_for_login_with(request.full_path))
        if not self.appbuilder.sm.has_access("can_search", PERMISSION):
            abort(403)
        term = request.args.get("q", "")
        limit = request.args.get("limit", type=int) or (DEFAULT_LIMIT if wants_json() else MAX_LIMIT)
        actor = current_actor()
        technician = actor.side == "technician"
        groups = search_everything(actor, term, limit, narrow=TECHNICIAN_NARROW if technician else None)
        results = [{"kind": group.key, "label": str(group.label), "results": [
            {"id": hit.id, "title": hit.title, "detail": hit.detail,
             "status": status_label(hit.status) if hit.status else "", "url": hit_url(hit, technician)}
            for hit in group.hits]} for group in groups]
        if wants_json():
            return jsonify({"q": term, "groups": results, "all": url_for("StaffSearchView.index", q=term)})
        return self.render_template("staff/search.html", term=term, groups=results)


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(StaffSearchView)
