"""Dependent pickers' options as JSON (issue 15, item 4): ``/pickers/<route>/<field>?customer_id=N``.

When staff choose the customer on a new work order, request, estimate, invoice or shipment, staff-pickers.js
asks this for the options of the form's unit, address, request and work order pickers: the same rows the
server-side picker offers (the view's own filters, ``FilterOfFormCustomer`` included), for that customer.
Thin: the view's form definition decides the rows; this only answers them. It needs the permission to add
on that view (else 403); an unknown view or field is 404.
"""
from __future__ import annotations

from flask import abort, g, jsonify, request
from flask_appbuilder import BaseView, expose
from flask_login import current_user

from .base import CUSTOMER_PICKERS

#: At most this many options (a customer with more units types to search in the select box).
LIMIT = 500


class StaffPickerView(BaseView):
    route_base = "/pickers"
    default_view = "options"

    @expose("/<route>/<field>")
    def options(self, route: str, field: str):
        """``route`` is the form's screen as in its URL (``workorderview`` of ``/workorderview/add``)."""
        if not current_user.is_authenticated:
            abort(401)
        target = next((v for v in self.appbuilder.baseviews if (v.route_base or "").strip("/") == route), None)
        filters = getattr(target, "add_form_query_rel_fields", None) or {}
        if target is None or field not in CUSTOMER_PICKERS or field not in filters:
            abort(404)
        if not self.appbuilder.sm.has_access("can_add", target.class_permission_name):
            abort(403)
        raw = (request.args.get("customer_id") or "").strip()
        if not raw.isdecimal() or len(raw) > 9:
            return jsonify({"message": "customer_id: give a customer id (a number)."}), 400
        g.portico_picker_customer = int(raw)
        related = target.datamodel.get_related_interface(field)
        _count, rows = related.query(related.get_filters().add_filter_list(filters[field]), page=0,
                                     page_size=LIMIT)
        return jsonify([{"id": related.get_pk_value(row), "text": str(row)} for row in rows])


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(StaffPickerView)
