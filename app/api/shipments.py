"""``/api/v1/shipment/``: a reseller's confirmed orders sent to one service location by one method.

``shipments.create`` checks that every order is the reseller's own, ``confirmed``, unshipped and bound for
the same location by the same method (422 otherwise). Packing list and label exist once confirmed.
``POST /<id>/tracking {"tracking_number"}`` sets the carrier's number, checked by ``services.carriers``.
"""
from __future__ import annotations

from marshmallow import fields, validate

from ..core.datamodel import PorticoInterface
from ..core.fields import Ref, UTCDateTime
from ..models import Shipment
from ..services import carriers, shipments
from . import options as opt
from .base import Action, Document, PorticoApi
from .schemas import In, Out


class OrderId(Out):
    id = fields.Integer()


class ShipmentOut(Out):
    id = fields.Integer()
    number = fields.String()
    status = fields.String()
    customer = Ref(attribute="customer_id")
    service_location = Ref(attribute="service_location_id")
    shipping_method = Ref(attribute="shipping_method_id")
    work_orders = fields.Pluck(OrderId, "id", many=True, metadata={"description": "Ids of the shipped orders."})
    tracking_number = fields.String()
    tracking_url = fields.Function(lambda s: carriers.tracking_url(s.shipping_method, s.tracking_number),
                                   metadata={"description": "The carrier's tracking page (null if unknown)."})
    confirmed_at = UTCDateTime()
    received_at = UTCDateTime()
    version = fields.Integer()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class ShipmentOwnIn(In):
    work_orders = fields.List(Ref(), required=True, validate=validate.Length(min=1, max=500),
                              metadata={"description": "Confirmed orders of one service location and method."})


class ShipmentIn(ShipmentOwnIn):
    customer = Ref(required=True)


class ShipmentApi(PorticoApi):
    resource_name = "shipment"
    class_permission_name = "ApiShipments"
    openapi_spec_tag = "Shipments"
    datamodel = PorticoInterface(Shipment)
    entity = "shipment"
    service = shipments
    schemas = {"staff": ShipmentOut, "customer": ShipmentOut}
    add_schemas = {"staff": ShipmentIn, "customer": ShipmentOwnIn}
    edit_schemas = {"staff": shipments.ShipmentEdit}
    list_columns = ["id", "number", "status", "customer", "service_location", "shipping_method", "tracking_number",
                    "confirmed_at", "received_at", "created_at"]
    search = {"staff": ["number", "status", "customer", "service_location", "shipping_method", "tracking_number"],
              "customer": ["number", "status", "service_location", "shipping_method", "tracking_number"]}
    orders = {aud: ["id", "number", "status", "confirmed_at", "received_at", "created_at"]
              for aud in ("staff", "customer")}
    options = {"customer": opt.customers, "work_orders": opt.shippable_orders}
    actions = {
        "confirm": Action(summary="Confirm the shipment (reseller): its packing list and label are made"),
        "receive": Action(summary="Receive the parcel (staff): its orders become received"),
        "tracking": Action(summary="Set the carrier's tracking number (reseller or staff, draft or confirmed); "
                                   "422 at tracking_number for a number of the wrong shape for the carrier"),
    }
    documents = {"packing_list.pdf": Document("packing_list", "packing list as PDF"),
                 "label.pdf": Document("label", "shipping label as PDF")}

    def create(self, actor, data):
        customer_id = None
        if not actor.is_customer:
            customer_id = opt.pick(self.options, "customer", actor, data["customer"],
                                   "Choose an existing customer.").id
        return shipments.create(actor, work_orders=list(data["work_orders"]), customer_id=customer_id)
