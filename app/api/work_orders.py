"""``/api/v1/work_order/``: jobs, inspections and repair orders (SPEC §3 WorkOrder, §6).

Customers create orders for their own account (``pending_confirmation``; a reseller's are ``confirmed``
at once) with an existing ``unit`` or a ``device`` that becomes one (``units.unit_from_device``).
Technicians see their own and unassigned orders without any price; customers see neither internal
notes nor time entries. ``export.csv`` streams orders as CSV (a reseller's own, staff all).
"""
from __future__ import annotations

from flask_appbuilder.api import expose, safe
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from ..core.datamodel import PorticoInterface
from ..core.fields import Money, Quantity, Ref, UTCDateTime
from ..core.scope import current_actor
from ..extensions import db
from ..models import WORK_ORDER_KINDS, OrderMessage, WorkOrder
from ..services import work_orders
from . import options as opt
from .base import Action, Document, Listing, PorticoApi
from .common import guarded
from .openapi import docstring, file_spec
from .schemas import In, Out, choice, not_blank, text


class WorkItemOut(Out):
    id = fields.Integer()
    parent = Ref(attribute="parent_id", metadata={"description": "The labour item a part belongs to."})
    position = fields.Integer()
    kind = fields.String()
    part_number = fields.String()
    description = fields.String()
    quantity = Quantity()
    unit_price = Money()
    amount = Money()
    done = fields.Boolean()


class WorkItemTechOut(WorkItemOut):
    class Meta:
        exclude = ("unit_price", "amount")


class TimeEntryOut(Out):
    id = fields.Integer()
    technician = Ref(attribute="technician_id")
    started_at = UTCDateTime()
    ended_at = UTCDateTime()
    hours = Quantity()
    note = fields.String()


class WorkOrderOut(Out):
    id = fields.Integer()
    number = fields.String()
    status = fields.String()
    kind = fields.String()
    customer = Ref(attribute="customer_id")
    unit = Ref(attribute="unit_id")
    service_request = Ref(attribute="service_request_id")
    estimate = Ref(attribute="estimate_id")
    technician = Ref(attribute="technician_id")
    service_location = Ref(attribute="service_location_id")
    shipping_method = Ref(attribute="shipping_method_id")
    shipment = Ref(attribute="shipment_id")
    fault = fields.String()
    accessories = fields.String()
    customer_reference = fields.String()
    internal_reference = fields.String()
    tracking_number = fields.String()
    public_notes = fields.String()
    internal_notes = fields.String()
    scheduled_start = UTCDateTime()
    scheduled_end = UTCDateTime()
    received_at = UTCDateTime()
    ready_at = UTCDateTime()
    completed_at = UTCDateTime()
    cancel_reason = fields.String()
    items = fields.List(fields.Nested(WorkItemOut))
    time_entries = fields.List(fields.Nested(TimeEntryOut))
    version = fields.Integer()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class WorkOrderTechOut(WorkOrderOut):
    items = fields.List(fields.Nested(WorkItemTechOut))


class WorkOrderOwnOut(WorkOrderOut):
    class Meta:
        exclude = ("technician", "internal_reference", "internal_notes", "time_entries")


class DeviceIn(In):
    kind = fields.String(allow_none=True, metadata={"enum": ["device", "vehicle", "equipment"]})
    make = fields.String(allow_none=True)
    model = fields.String(allow_none=True)
    serial_number = fields.String(allow_none=True)
    imei = fields.String(allow_none=True, metadata={"description": "15 digits with a valid check digit."})


class WorkOrderOwnIn(In):
    kind = choice(WORK_ORDER_KINDS, required=True)
    unit = Ref(allow_none=True)
    device = fields.Nested(DeviceIn, allow_none=True, metadata={"description": "A new device: becomes a unit."})
    fault = fields.String(required=True, validate=[validate.Length(min=1, max=10000), not_blank])
    customer_reference = text(80)
    service_location = Ref(allow_none=True)
    shipping_method = Ref(allow_none=True)

    @validates_schema
    def _unit_or_device(self, data, **_):
        if data.get("unit") and data.get("device"):
            raise ValidationError("Give either an existing unit or a new device, not both.", "device")


class WorkOrderIn(WorkOrderOwnIn):
    customer = Ref(required=True)
    fault = fields.String(allow_none=True, validate=validate.Length(max=10000))
    technician = Ref(allow_none=True, metadata={"description": "A technician's user id."})
    internal_reference = text(80)
    tracking_number = text(80)
    accessories = fields.String(allow_none=True, validate=validate.Length(max=10000))
    public_notes = fields.String(allow_none=True, validate=validate.Length(max=10000))
    internal_notes = fields.String(allow_none=True, validate=validate.Length(max=10000))


class MessageOut(Out):
    id = fields.Integer()
    side = fields.String()
    public = fields.Boolean()
    text = fields.String()
    created_at = UTCDateTime()


MESSAGES = {"customer": "Choose an existing customer.", "unit": "Choose one of the customer's units.",
            "service_location": "Choose one of the service locations.",
            "shipping_method": "Choose one of the shipping methods.", "technician": "Choose a technician."}
REFS = ("unit", "service_location", "shipping_method", "technician")


class WorkOrderApi(PorticoApi):
    resource_name = "work_order"
    class_permission_name = "ApiWorkOrders"
    openapi_spec_tag = "Work orders"
    datamodel = PorticoInterface(WorkOrder)
    entity = "work order"
    service = work_orders
    schemas = {"staff": WorkOrderOut, "technician": WorkOrderTechOut, "customer": WorkOrderOwnOut}
    add_schemas = {"staff": WorkOrderIn, "customer": WorkOrderOwnIn}
    edit_schemas = {"staff": work_orders.WorkOrderEdit}
    list_columns = ["id", "number", "status", "kind", "customer", "unit", "technician", "service_location",
                    "shipping_method", "shipment", "customer_reference", "scheduled_start", "created_at"]
    search = {"staff": ["number", "status", "kind", "customer", "unit", "technician", "service_location",
                        "shipping_method", "shipment", "customer_reference", "internal_reference", "tracking_number",
                        "scheduled_start"],
              "technician": ["number", "status", "kind", "unit", "service_location", "customer_reference",
                             "scheduled_start"],
              "customer": ["number", "status", "kind", "unit", "service_location", "shipping_method", "shipment",
                           "customer_reference", "tracking_number"]}
    orders = {aud: ["id", "number", "status", "kind", "scheduled_start", "created_at"]
              for aud in ("staff", "technician", "customer")}
    options = {"customer": opt.customers, "unit": opt.units, "service_location": opt.service_locations,
               "shipping_method": opt.shipping_methods, "technician": opt.technicians}
    actions = {
        "confirm": Action(summary="Confirm a customer's order (staff)"),
        "receive": Action(summary="The unit arrived or the technician is on site (staff)"),
        "clock_on": Action(summary="Open a time entry (technician); takes an unassigned order"),
        "clock_off": Action(summary="Close your open time entry (technician)"),
        "ready": Action(summary="The unit is ready; closes open time entries (technician)"),
        "complete": Action(summary="Complete the order (staff)"),
        "cancel": Action(summary="Cancel with a reason (staff)"),
        "invoice": Action(creates="invoice_id", summary="Create the draft invoice of a ready or completed order"),
        "messages": Action(summary="Send a message (customer and shop; staff may keep it internal)"),
        "assign": Action(summary="Assign a technician and a time window (staff)"),
    }
    listings = {"messages": Listing(MessageOut, "message_log", "messages (customers: the public ones)")}
    documents = {"pdf": Document("work_order", "work order as PDF")}

    def _refs(self, actor, data: dict, customer_id: int) -> dict:
        wanted = {f: (data.pop(f), MESSAGES[f]) for f in REFS if data.get(f) is not None}
        rows = opt.pick_all(self.options, actor, wanted)
        unit = rows.get("unit")
        if unit is not None and unit.customer_id != customer_id:
            raise ValidationError(MESSAGES["unit"], "unit")
        for field in REFS:
            if field in wanted:
                data[f"{field}_id"] = rows[field].id
            elif field in data:
                data[f"{field}_id"] = data.pop(field)
        return data

    def create(self, actor, data):
        from ..services.units import unit_from_device

        if actor.is_customer:
            customer_id = actor.customer_id
        else:
            customer_id = opt.pick(self.options, "customer", actor, data.pop("customer"), MESSAGES["customer"]).id
        device = data.pop("device", None)
        data = self._refs(actor, data, customer_id)
        if device is not None:
            data["unit_id"] = unit_from_device(actor, customer_id, {k: v for k, v in device.items()}).id
        return work_orders.create(actor, customer_id=customer_id, **data)

    def message_log(self, item, actor):
        stmt = select(OrderMessage).where(OrderMessage.work_order_id == item.id)
        if not (actor.is_staff or actor.is_technician):
            stmt = stmt.where(OrderMessage.public.is_(True))
        return list(db.session.scalars(stmt.order_by(OrderMessage.created_at, OrderMessage.id)))

    @expose("/export.csv", methods=["GET"])
    @protect()
    @safe
    @permission_name("export")
    def export_csv(self):
        return self._export()

    @guarded
    def _export(self):
        from .documents import send_orders_csv

        return send_orders_csv(current_actor())


WorkOrderApi.export_csv.__doc__ = docstring(file_spec(
    "work orders", "Work orders as CSV (a reseller's own, staff all), created between start and end",
    "text/csv", parameters=[
        {"in": "query", "name": "start", "required": False, "schema": {"type": "string", "format": "date"}},
        {"in": "query", "name": "end", "required": False, "schema": {"type": "string", "format": "date"}},
    ], codes=(400, 401, 403, 429)))
