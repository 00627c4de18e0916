"""``/api/v1/estimate/``: estimates with their labour and part lines, decisions, disputes, revisions.

An estimate is created with its lines in one body (``estimates.create``); totals and tax are computed,
never sent. ``number`` is the estimate's number (``EST-000001``), ``revision`` its revision and
``display_number`` the two together as printed (``EST-000001-R2``). Customers see an estimate once it
was sent to them.
"""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from ..core.datamodel import PorticoInterface
from ..core.fields import Money, Quantity, Ref, UTCDateTime
from ..models import Estimate, dispute_log
from ..services import estimates
from . import options as opt
from .base import Action, Document, Listing, PorticoApi
from .schemas import In, Out, text


class PartOut(Out):
    id = fields.Integer()
    position = fields.Integer()
    part_number = fields.String()
    description = fields.String()
    quantity = Quantity()
    unit_price = Money()
    amount = Money()
    disputed = fields.Boolean()
    dispute_note = fields.String()


class LabourOut(Out):
    id = fields.Integer()
    position = fields.Integer()
    description = fields.String()
    hours = Quantity()
    rate = Money()
    amount = Money()
    disputed = fields.Boolean()
    dispute_note = fields.String()
    decision = fields.String(metadata={"description": "approved or declined, once the customer answered"})
    decline_reason = fields.String()
    parts = fields.List(fields.Nested(PartOut))


class EstimateOut(Out):
    id = fields.Integer()
    number = fields.String()
    revision = fields.Integer()
    display_number = fields.String()
    status = fields.String()
    customer = Ref(attribute="customer_id")
    service_request = Ref(attribute="service_request_id")
    unit = Ref(attribute="unit_id")
    previous = Ref(attribute="previous_id", metadata={"description": "The revision this one replaced."})
    note = fields.String()
    labour_lines = fields.List(fields.Nested(LabourOut))
    tax_rate = Money(metadata={"description": "Percent."})
    subtotal = Money()
    tax = Money()
    total = Money()
    decline_reason = fields.String()
    acknowledged_at = UTCDateTime()
    sent_at = UTCDateTime()
    decided_at = UTCDateTime()
    version = fields.Integer()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class PartIn(In):
    part_number = text(80)
    description = text(255, required=True)
    quantity = Quantity(required=True)
    unit_price = Money(required=True)


class LabourIn(In):
    description = text(255, required=True)
    hours = Quantity(required=True)
    rate = Money(required=True)
    parts = fields.List(fields.Nested(PartIn), load_default=list, validate=validate.Length(max=200))


class EstimateIn(In):
    customer = Ref(metadata={"description": "Optional: taken from the service request when omitted."})
    service_request = Ref(allow_none=True)
    unit = Ref(allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=10000),
                         metadata={"description": "Shown to the customer."})
    labour_lines = fields.List(fields.Nested(LabourIn), load_default=list, validate=validate.Length(max=200))

    @validates_schema
    def _for_whom(self, data, partial=False, **_):
        if not partial and not data.get("service_request") and not data.get("customer"):
            raise ValidationError("Give the service request (or at least the customer).", "service_request")


class DisputeNoteOut(Out):
    id = fields.Integer()
    estimate = Ref(attribute="estimate_id")
    side = fields.String()
    text = fields.String()
    line_ref = fields.String(metadata={"description": "The disputed line, e.g. labour:3 or part:7."})
    created_at = UTCDateTime()


def _lines(data_lines) -> list[dict]:
    return [{**line, "parts": [dict(part) for part in line.get("parts", [])]} for line in data_lines]


class EstimateApi(PorticoApi):
    resource_name = "estimate"
    class_permission_name = "ApiEstimates"
    openapi_spec_tag = "Estimates"
    datamodel = PorticoInterface(Estimate)
    entity = "estimate"
    service = estimates
    schemas = {"staff": EstimateOut, "customer": EstimateOut}
    add_schemas = {"staff": EstimateIn}
    edit_schemas = {"staff": estimates.EstimateEdit}
    list_columns = ["id", "number", "revision", "display_number", "status", "customer", "service_request", "unit",
                    "subtotal", "tax", "total", "sent_at", "created_at"]
    search = {"staff": ["number", "revision", "status", "customer", "service_request", "unit", "sent_at"],
              "customer": ["number", "revision", "status", "service_request", "unit", "sent_at"]}
    orders = {"staff": ["id", "number", "revision", "status", "total", "sent_at", "created_at"],
              "customer": ["id", "number", "revision", "status", "total", "sent_at", "created_at"]}
    options = {"customer": opt.customers, "service_request": opt.accepted_requests, "unit": opt.units}
    actions = {
        "submit": Action(summary="Send the draft to the customer"),
        "approve": Action(creates="work_order_id", summary="Approve all lines, or only the given labour lines "
                                                           "with their parts (customer): creates the work order"),
        "decline": Action(summary="Decline with a reason (customer)"),
        "dispute": Action(summary="Dispute one or more labour or part lines, each with a note "
                                               "(customer)"),
        "acknowledge": Action(summary="Acknowledge the dispute (staff)"),
        "notes": Action(summary="Add a note to the dispute log (either side)"),
        "revise": Action(creates="estimate_id", summary="Copy into the next revision as a draft (staff)"),
        "offer_again": Action(creates="estimate_id", summary="Offer the lines the customer declined again: the next "
                                                             "revision as a draft with only those (staff)"),
        "cancel": Action(summary="Cancel the estimate (staff)"),
    }
    listings = {"notes": Listing(DisputeNoteOut, "dispute_log", "dispute log (every revision)")}
    documents = {"pdf": Document("estimate", "estimate as PDF")}

    def create(self, actor, data):
        rows = opt.pick_all(self.options, actor, {
            "service_request": (data.get("service_request"), "Choose an accepted service request."),
            "customer": (data.get("customer"), "Choose an existing customer."),
            "unit": (data.get("unit"), "Choose one of the customer's units."),
        })
        request, customer = rows.get("service_request"), rows.get("customer")
        customer_id = customer.id if customer else request.customer_id
        if request is not None and request.customer_id != customer_id:
            raise ValidationError("This request belongs to another customer.", "service_request")
        unit = rows.get("unit")
        unit_id = unit.id if unit else (request.unit_id if request else None)
        return estimates.create(actor, customer_id=customer_id, service_request_id=request.id if request else None,
                                unit_id=unit_id, labour_lines=_lines(data.get("labour_lines", [])),
                                note=data.get("note"))

    def dispute_log(self, item, actor):
        return dispute_log(item)
