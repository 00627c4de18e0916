"""Resellers' shipments: confirmed, not yet shipped orders grouped by service location and shipping method;
pick orders of one group and make a shipment; confirm it, then print its packing list and label; enter the
carrier's tracking number (checked by ``services.carriers``; shown as a link to the carrier's tracking page).

Only resellers reach these pages (``class_permission_name = "PortalReseller"``; a plain customer gets 403),
and only their own shipments (``scope.get_for``: another reseller's answers 404).
"""
from __future__ import annotations

from itertools import groupby

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...core.errors import NotFound, ServiceError, ValidationFailed
from ...core.scope import get_for, scoped
from ...extensions import db
from ...models import Shipment, WorkOrder
from ...services import carriers, shipments
from .base import PortalView, customer_required

RECENT = 50


class PortalShipmentView(PortalView):
    route_base = "/portal/shipments"
    class_permission_name = "PortalReseller"
    default_view = "list"

    def _shippable(self):
        """The reseller's confirmed orders in no shipment: groups by (location, method) and the unshippable."""
        stmt = scoped(select(WorkOrder), WorkOrder, self.actor).where(
            WorkOrder.status == "confirmed", WorkOrder.shipment_id.is_(None)
        ).options(selectinload(WorkOrder.unit), selectinload(WorkOrder.service_location),
                  selectinload(WorkOrder.shipping_method)).order_by(
            WorkOrder.service_location_id, WorkOrder.shipping_method_id, WorkOrder.created_at, WorkOrder.id)
        orders = list(db.session.scalars(stmt))
        ready = [o for o in orders if o.service_location_id and o.shipping_method_id]
        groups = [{"location": rows[0].service_location, "method": rows[0].shipping_method, "orders": rows,
                   "key": f"{key[0]}-{key[1]}"}
                  for key, rows in ((k, list(g)) for k, g in
                                    groupby(ready, key=lambda o: (o.service_location_id, o.shipping_method_id)))]
        return groups, [o for o in orders if o not in ready]

    def _list(self, selected=(), errors=None, status=200):
        groups, unshippable = self._shippable()
        recent = list(db.session.scalars(
            scoped(select(Shipment), Shipment, self.actor)
            .options(selectinload(Shipment.service_location), selectinload(Shipment.shipping_method))
            .order_by(Shipment.created_at.desc(), Shipment.id.desc()).limit(RECENT)))
        tracking = {s.id: carriers.tracking_link(s.shipping_method, s.tracking_number) for s in recent}
        return self.render("portal/shipments.html", groups=groups, unshippable=unshippable, recent=recent,
                           tracking=tracking, selected={str(s) for s in selected}, errors=errors or {}), status

    @expose("/", methods=["GET"])
    @customer_required
    def list(self):
        return self._list()

    @expose("/", methods=["POST"])
    @customer_required
    def create(self):
        ids = request.form.getlist("work_orders")
        try:
            shipment = shipments.create(self.actor, work_orders=ids or None)
        except ValidationFailed as error:
            db.session.rollback()
            return self._list(ids, error.errors, 422)
        except ServiceError as error:
            db.session.rollback()
            return self._list(ids, {"work_orders": [error.message]}, error.status_code)
        flash(f"Shipment {shipment.number} is ready to confirm.", "success")
        return redirect(url_for("PortalShipmentView.show", pk=shipment.id))

    def _own(self, pk) -> Shipment:
        try:
            return get_for(Shipment, pk, self.actor)
        except NotFound:
            abort(404)

    @expose("/<int:pk>")
    @customer_required
    def show(self, pk):
        return self._show(self._own(pk))

    def _show(self, shipment: Shipment, errors=None, typed: str | None = None, status: int = 200):
        orders = list(db.session.scalars(
            select(WorkOrder).where(WorkOrder.shipment_id == shipment.id)
            .options(selectinload(WorkOrder.unit)).order_by(WorkOrder.number)))
        carrier = carriers.carrier_for(shipment.shipping_method)
        return self.render("portal/shipments_show.html", shipment=shipment, orders=orders,
                           shipped=shipment.status in ("confirmed", "received"), errors=errors or {},
                           tracking=carriers.tracking_link(shipment.shipping_method, shipment.tracking_number),
                           tracking_value=(shipment.tracking_number or "") if typed is None else typed,
                           tracking_shape=carrier.shape if carrier else None), status

    @expose("/<int:pk>/tracking", methods=["POST"])
    @customer_required
    def tracking(self, pk):
        """The carrier's tracking number, typed by the reseller: refused at the field (422, as typed)."""
        shipment = self._own(pk)
        typed = request.form.get("tracking_number", "")
        try:
            shipments.perform(shipment, "tracking", self.actor, tracking_number=typed,
                              expected_version=request.form.get("expected_version") or None)
        except ValidationFailed as error:
            db.session.rollback()
            return self._show(self._own(pk), error.errors, typed[:200], 422)
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            if shipment.tracking_number:
                flash(_("Tracking number %(number)s saved.", number=shipment.tracking_number), "success")
            else:
                flash(_("The tracking number was removed."), "success")
        return redirect(url_for("PortalShipmentView.show", pk=pk))

    @expose("/<int:pk>/confirm", methods=["POST"])
    @customer_required
    def confirm(self, pk):
        shipment = self._own(pk)
        try:
            shipments.perform(shipment, "confirm", self.actor,
                              expected_version=request.form.get("expected_version") or None)
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            flash(f"Shipment {shipment.number} is confirmed: print the packing list and the label.", "success")
        return redirect(url_for("PortalShipmentView.show", pk=pk))


VIEWS = [PortalShipmentView]
