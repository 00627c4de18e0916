"""A reseller's shipments of confirmed orders to one service location (SPEC §3, Shipment)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import select

from ..core.actors import Actor
from ..core.errors import PermissionDenied, ValidationFailed
from ..extensions import db
from ..models import Shipment, ShippingMethod, WorkOrder, utcnow
from . import carriers, notify, numbering, work_orders
from .audit import record
from .common import commit, edit_fields
from .params import Params
from .workflow import CREATE, Action, ActionTable, perform, register  # noqa: F401 (perform: the one door)


def _orders(actor: Actor, customer_id: int, ids) -> list[WorkOrder]:
    if not ids or not isinstance(ids, list):
        raise ValidationFailed({"work_orders": [_l("Choose at least one order.")]})
    try:
        wanted = {int(i) for i in ids}
    except (TypeError, ValueError):
        raise ValidationFailed({"work_orders": [_l("Give order ids.")]}) from None
    orders = list(db.session.scalars(select(WorkOrder).where(WorkOrder.id.in_(wanted),
                                                             WorkOrder.customer_id == customer_id)))
    if len(orders) != len(wanted):
        raise ValidationFailed({"work_orders": [_l("Choose your own orders.")]})
    errors = []
    for order in orders:
        if order.status != "confirmed":
            errors.append(f"{order.number} is {order.status.replace('_', ' ')}: only confirmed orders can be shipped.")
        elif order.shipment_id is not None:
            errors.append(f"{order.number} is already in a shipment.")
    if len({(o.service_location_id, o.shipping_method_id) for o in orders}) > 1:
        errors.append("All orders of a shipment go to one service location by one shipping method.")
    if any(o.service_location_id is None or o.shipping_method_id is None for o in orders):
        errors.append("Each order needs a service location and a shipping method.")
    if errors:
        raise ValidationFailed({"work_orders": errors})
    return orders


def create(actor: Actor, work_orders=None, customer_id: int | None = None) -> Shipment:
    if actor.is_customer:
        if not actor.is_reseller:
            raise PermissionDenied(_l("Only resellers ship orders."))
        customer_id = actor.customer_id
    if customer_id is None:
        raise ValidationFailed({"customer": [_l("Choose the customer.")]})
    orders = _orders(actor, customer_id, work_orders)
    shipment = Shipment(customer_id=customer_id, service_location_id=orders[0].service_location_id,
                        shipping_method_id=orders[0].shipping_method_id)
    numbering.assign(shipment)
    db.session.add(shipment)
    TABLE.enter(shipment, "create", actor)
    for order in orders:
        order.shipment = shipment
    commit("shipment", shipment)
    return shipment


def confirm(shipment: Shipment, actor: Actor):
    if not shipment.work_orders:
        raise ValidationFailed({"work_orders": [_l("A shipment needs at least one order.")]})
    shipment.confirmed_at = utcnow()
    count = len(shipment.work_orders)
    notify.to_staff("shipment.confirmed", _l("Shipment %(number)s is on its way (%(count)s orders)",
                                             number=shipment.number, count=count),
                    link=f"/shipmentview/show/{shipment.id}", customer_id=shipment.customer_id)
    return shipment


def receive(shipment: Shipment, actor: Actor):
    """Staff receive the parcel: each of its confirmed orders becomes ``received``."""
    shipment.received_at = utcnow()
    for order in shipment.work_orders:
        if order.status == "confirmed":
            work_orders.TABLE.move(order, "receive", actor, reason=f"shipment {shipment.number}")
            order.received_at = shipment.received_at
    notify.to_customer(shipment.customer, "shipment.received", _l("We received shipment %(number)s",
                                                                              number=shipment.number),
                       ", ".join(o.number for o in shipment.work_orders), link=f"/portal/shipments/{shipment.id}",
                       group="shipments")
    return shipment


class ShipmentEdit(Params):
    tracking_number = fields.String(allow_none=True, validate=validate.Length(max=80))


def edit(shipment: Shipment, actor: Actor, **changes) -> Shipment:
    """Staff's ``edit``: a tracking number is checked against the carrier like the ``tracking`` action's."""
    if "tracking_number" in changes:
        changes["tracking_number"] = carriers.check(shipment.shipping_method, changes["tracking_number"])
    return edit_fields(shipment, actor, **changes)


_TRACKING = _l("Enter the tracking number.")


class Tracking(Params):
    tracking_number = fields.String(required=True, allow_none=True, validate=validate.Length(max=80),
                                    error_messages={"required": _TRACKING},
                                    metadata={"description": "The carrier's tracking number (checked against "
                                                             "the carrier's pattern); null or empty removes it."})


def set_tracking(shipment: Shipment, actor: Actor, tracking_number=None) -> Shipment:
    """The reseller's (or staff's) ``tracking`` action: the carrier's number for the parcel, checked and
    normalised (``carriers.check``); empty removes the number there is."""
    number = carriers.check(shipment.shipping_method, tracking_number)
    before = shipment.tracking_number
    if number is None and before is None:
        raise ValidationFailed({"tracking_number": [_TRACKING]})
    if number != before:
        shipment.tracking_number = number
        record(shipment, "tracking", shipment.status, shipment.status, actor,
               f"{before or '—'} → {number or '—'}")
    return shipment


def prepare_new(shipment: Shipment, actor: Actor) -> Shipment:
    """A shipment made on the staff add form: its orders are checked exactly as in ``create``."""
    if actor.is_customer:
        shipment.customer_id = actor.customer_id
    if shipment.customer is not None and shipment.customer_id is None:
        shipment.customer_id = shipment.customer.id
    if shipment.customer_id is None:
        raise ValidationFailed({"customer": [_l("Choose the customer.")]})
    orders = _orders(actor, shipment.customer_id, [o.id for o in shipment.work_orders])
    shipment.service_location_id = orders[0].service_location_id
    shipment.shipping_method_id = orders[0].shipping_method_id
    if shipment.tracking_number:
        method = db.session.get(ShippingMethod, shipment.shipping_method_id)
        shipment.tracking_number = carriers.check(method, shipment.tracking_number)
    numbering.assign(shipment)
    db.session.add(shipment)
    TABLE.enter(shipment, "create", actor)
    return shipment


TABLE = register(Shipment, ActionTable("shipment", [
    Action((CREATE,), "create", ("reseller", "staff"), "draft"),
    Action(("draft",), "confirm", ("reseller", "staff"), "confirmed", confirm),
    Action(("confirmed",), "receive", ("staff",), "received", receive),
    Action(("draft", "confirmed"), "tracking", ("reseller", "staff"), None, set_tracking, Tracking, audited=False),
    Action(("draft", "confirmed"), "edit", ("staff",), None, edit, ShipmentEdit, audited=False),
]))
