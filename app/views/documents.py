"""Staff downloads: any document as PDF and the work order CSV export.

``/documents/<kind>/<id>.pdf`` checks the permission of the screen the document belongs to (a work order
needs ``WorkOrders``, an estimate ``Estimates``, an invoice ``Invoices``, packing list and label
``Shipments``; the job sheet, a work order without prices, ``WorkOrders`` or the technician's
``TechnicianBoard``, and ``scope`` lets a technician have it only for their own and unassigned orders);
``/documents/orders.csv`` needs ``WorkOrders`` and sends UTF-8 with a BOM, for Excel (``encoding=utf-8``:
without). Anonymous users go to the login page; customers, who hold none of these, get 403.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, redirect, request
from flask_appbuilder import BaseView, expose

from ..core.errors import NotFound, ValidationFailed
from ..core.scope import current_actor, current_user_obj, get_for
from ..documents import MODELS
from ..documents.csv_export import parse_range, stream_orders_csv, wants_bom
from ..documents.responses import csv_response, export_name, pdf_response

PERMISSIONS = {"work_order": "WorkOrders", "job_sheet": ("WorkOrders", "TechnicianBoard"), "estimate": "Estimates",
               "invoice": "Invoices", "credit_note": "Invoices", "packing_list": "Shipments", "label": "Shipments"}


def staff_permission(permission: str, view_name):
    """Log in first; then ``permission`` on the permission name ``view_name(**kwargs)`` returns (one of them, when
    it returns several; None: 404)."""

    def decorator(method):
        @wraps(method)
        def wrapper(self, *args, **kwargs):
            if current_user_obj() is None:
                return redirect(self.appbuilder.get_url_for_login_with(request.full_path.rstrip("?")))
            names = view_name(**kwargs)
            if names is None:
                abort(404)
            if not any(self.appbuilder.sm.has_access(permission, name)
                       for name in ((names,) if isinstance(names, str) else names)):
                abort(403)
            return method(self, *args, **kwargs)

        return wrapper

    return decorator


class StaffDocumentView(BaseView):
    route_base = "/documents"
    default_view = "orders_csv"

    @expose("/<kind>/<int:pk>.pdf")
    @staff_permission("can_show", lambda kind, pk: PERMISSIONS.get(kind))
    def pdf(self, kind, pk):
        try:
            obj = get_for(MODELS[kind], pk, current_actor())
        except NotFound:
            abort(404)
        return pdf_response(kind, obj)

    @expose("/orders.csv")
    @staff_permission("can_list", lambda: "WorkOrders")
    def orders_csv(self):
        args = request.args
        customer_id = (args.get("customer_id") or "").strip()
        if customer_id and not customer_id.isdecimal():
            return "customer_id: give a customer id (a number).", 400, {"Content-Type": "text/plain; charset=utf-8"}
        try:
            start, end = parse_range(args.get("start"), args.get("end"))
            bom = wants_bom(args, default=True)  # UTF-8 with a BOM (Excel needs it for umlauts) unless encoding=utf-8
        except ValidationFailed as error:
            text = " ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.errors.items())
            return text, 400, {"Content-Type": "text/plain; charset=utf-8"}
        chunks = stream_orders_csv(current_actor(), start=start, end=end, customer_id=customer_id or None, bom=bom)
        name = export_name(start, end)
        return csv_response(chunks, f"customer-{customer_id}-{name}" if customer_id else name)
