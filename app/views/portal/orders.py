"""The customer's work orders: three tabs, search, paging, and the detail page with messages."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from ...core.errors import ServiceError, ValidationFailed
from ...extensions import db
from ...models import PORTAL_TABS, Attachment, Invoice, OrderMessage, WorkItem, WorkOrder
from ...services import carriers, work_orders
from ...services.search import search_orders
from .base import PortalView, customer_required
from .page_helpers import (
    flash_service_error,
    form_value,
    get_or_404,
    mine,
    paginate,
)

TAB_LABELS = {"new": _l("New"), "at_location": _l("At service location"), "completed": _l("Completed")}


def search(stmt, term: str):
    """Order number, the customer's or the shop's reference (both shown to the customer), the tracking
    number, or the unit's serial number or IMEI: exact matches on indexed columns (``services.search``)."""
    return search_orders(stmt, term, internal=True)


def other_parts_links(actor) -> dict:
    """Any customer's repair order form (a reseller's is confirmed at once, others wait for the shop); a
    reseller's shipments and CSV export."""
    reseller = actor.is_reseller
    return {
        "new_repair_order": url_for("PortalRepairOrderView.new"),
        "shipments": url_for("PortalShipmentView.list") if reseller else None,
        "export_link": url_for("PortalResellerDocumentView.export_form") if reseller else None,
    }


class PortalOrdersView(PortalView):
    route_base = "/portal"
    default_view = "list"

    @expose("/orders")
    @customer_required
    def list(self):
        tab = request.args.get("tab", "new")
        if tab not in PORTAL_TABS:
            tab = "new"
        term = request.args.get("q", "").strip()
        stmt = mine(WorkOrder).where(WorkOrder.status.in_(PORTAL_TABS[tab]))
        stmt = search(stmt, term).options(selectinload(WorkOrder.unit))
        page = paginate(stmt.order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()))
        return self.render("portal/orders.html", page=page, tab=tab, tabs=TAB_LABELS, q=term,
                           **other_parts_links(self.actor))

    @expose("/orders/<int:order_id>")
    @customer_required
    def show(self, order_id):
        return self._show(get_or_404(WorkOrder, order_id))

    def _show(self, order: WorkOrder, errors=None, status=200):
        items = list(db.session.scalars(mine(WorkItem).where(WorkItem.work_order_id == order.id)
                                        .order_by(WorkItem.position, WorkItem.id)))
        messages = list(db.session.scalars(mine(OrderMessage).where(OrderMessage.work_order_id == order.id)
                                           .order_by(OrderMessage.created_at, OrderMessage.id)))
        attachments = list(db.session.scalars(mine(Attachment).where(Attachment.work_order_id == order.id)
                                              .order_by(Attachment.created_at)))
        invoices = list(db.session.scalars(mine(Invoice).where(Invoice.work_order_id == order.id,
                                                               Invoice.status != "draft")))
        return self.render("portal/orders_show.html", order=order, items=items, messages=messages,
                           attachments=attachments, invoices=invoices, errors=errors or {}, form=request.form,
                           pdf_link=url_for("PortalDocumentView.work_order_pdf", pk=order.id),
                           **self._tracking(order)), status

    def _tracking(self, order: WorkOrder) -> dict:
        """The order's own tracking number and its shipment's, each linked to the carrier's tracking page."""
        shipment = order.shipment if order.shipment_id else None
        found = {"tracking": carriers.tracking_link(order.shipping_method, order.tracking_number),
                 "shipment": shipment, "shipment_link": None, "shipment_tracking": None}
        if shipment is not None:
            found["shipment_tracking"] = carriers.tracking_link(shipment.shipping_method, shipment.tracking_number)
            if self.actor.is_reseller:  # the shipment pages are the reseller's
                found["shipment_link"] = url_for("PortalShipmentView.show", pk=shipment.id)
        return found

    @expose("/orders/<int:order_id>/messages", methods=["POST"])
    @customer_required
    def message(self, order_id):
        order = get_or_404(WorkOrder, order_id)
        try:
            work_orders.perform(order, "messages", self.actor, text=form_value("text"))
        except ValidationFailed as exc:
            db.session.rollback()
            return self._show(db.session.get(WorkOrder, order.id), errors=exc.errors, status=422)
        except ServiceError as exc:
            flash_service_error(exc)
        else:
            flash(_("Your message was sent to the technicians."), "success")
        return redirect(url_for("PortalOrdersView.show", order_id=order.id) + "#messages")


VIEWS = [PortalOrdersView]
