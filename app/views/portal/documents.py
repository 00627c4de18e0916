"""Customers' document downloads and resellers' CSV export.

Every record comes through ``scope.get_for`` with the portal user's actor, so another customer's id answers
404 exactly like an absent one, and so does a document the shop never sent them (``scope.CUSTOMER_VISIBLE``).
Packing list and label exist once the reseller has confirmed the shipment.
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose

from ...core.errors import NotFound, ValidationFailed
from ...core.scope import get_for
from ...documents.csv_export import parse_range, stream_orders_csv, wants_bom
from ...documents.responses import csv_response, export_name, pdf_response
from ...models import CreditNote, Estimate, Invoice, Shipment, WorkOrder
from .base import PortalView, customer_required

SHIPPED = ("confirmed", "received")


class _Downloads(PortalView):
    def owned(self, model, pk):
        try:
            return get_for(model, pk, self.actor)
        except NotFound:
            abort(404)


class PortalDocumentView(_Downloads):
    """PDFs of the customer's own work orders, estimates and invoices."""

    route_base = "/portal"

    @expose("/orders/<int:pk>/pdf")
    @customer_required
    def work_order_pdf(self, pk):
        return pdf_response("work_order", self.owned(WorkOrder, pk))

    @expose("/estimates/<int:pk>/pdf")
    @customer_required
    def estimate_pdf(self, pk):
        return pdf_response("estimate", self.owned(Estimate, pk))

    @expose("/invoices/<int:pk>/pdf")
    @customer_required
    def invoice_pdf(self, pk):
        return pdf_response("invoice", self.owned(Invoice, pk))

    @expose("/credit_notes/<int:pk>/pdf")
    @customer_required
    def credit_note_pdf(self, pk):
        return pdf_response("credit_note", self.owned(CreditNote, pk))


class PortalResellerDocumentView(_Downloads):
    """Resellers only: shipment documents and the CSV export of their orders."""

    route_base = "/portal"
    class_permission_name = "PortalReseller"

    def shipped(self, pk):
        shipment = self.owned(Shipment, pk)
        if shipment.status not in SHIPPED:
            flash(f"Confirm shipment {shipment.number} first: then its packing list and label are ready.", "warning")
            return None, redirect(url_for("PortalShipmentView.show", pk=shipment.id))
        return shipment, None

    @expose("/shipments/<int:pk>/packing-list.pdf")
    @customer_required
    def packing_list_pdf(self, pk):
        shipment, back = self.shipped(pk)
        return back or pdf_response("packing_list", shipment)

    @expose("/shipments/<int:pk>/label.pdf")
    @customer_required
    def label_pdf(self, pk):
        shipment, back = self.shipped(pk)
        return back or pdf_response("label", shipment)

    @expose("/orders/export")
    @customer_required
    def export_form(self):
        return self.render("portal/repair_export.html", values=request.args, errors={})

    @expose("/orders/export.csv")
    @customer_required
    def export_csv(self):
        """The reseller's orders; UTF-8 with a BOM unless ``encoding=utf-8`` (Excel needs the BOM for umlauts)."""
        try:
            start, end = parse_range(request.args.get("start"), request.args.get("end"))
            bom = wants_bom(request.args, default=True)
        except ValidationFailed as error:
            return self.render("portal/repair_export.html", values=request.args, errors=error.errors), 400
        chunks = stream_orders_csv(self.actor, start=start, end=end, bom=bom)
        return csv_response(chunks, export_name(start, end))


VIEWS = [PortalDocumentView, PortalResellerDocumentView]
