"""``/api/v1/service_request/``: requests and their booking (SPEC §3 ServiceRequest, §6).

Creation goes through ``requests.submit`` (a customer's request is always their own account's), every
state change through ``requests.perform``.
"""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from ..core.datamodel import PorticoInterface
from ..core.fields import ClockTime, Ref, UTCDateTime
from ..models import SLOTS, ServiceRequest
from ..services import requests
from . import options as opt
from .base import Action, PorticoApi
from .common import ApiError
from .schemas import In, Out, choice, text


class ProposalOut(Out):
    id = fields.Integer()
    proposed_by = fields.String()
    start = UTCDateTime()
    note = fields.String()
    outcome = fields.String()
    created_at = UTCDateTime()


class RequestOut(Out):
    id = fields.Integer()
    number = fields.String()
    status = fields.String()
    customer = Ref(attribute="customer_id")
    service_type = Ref(attribute="service_type_id")
    service_location = Ref(attribute="service_location_id")
    address = Ref(attribute="address_id")
    unit = Ref(attribute="unit_id")
    subject = fields.String()
    summary = fields.String()
    preferred_date = fields.Date()
    preferred_slot = fields.String()
    preferred_time = ClockTime()
    estimate_required = fields.Boolean()
    scheduled_start = UTCDateTime()
    confirmed_at = UTCDateTime()
    decline_reason = fields.String()
    cancel_reason = fields.String()
    source = fields.String()
    contact_name = fields.String()
    contact_email = fields.String()
    contact_phone = fields.String()
    proposals = fields.List(fields.Nested(ProposalOut))
    version = fields.Integer()
    created_by = Ref(attribute="created_by_id", metadata={"description": "The user who entered it (staff only)."})
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class RequestOwnOut(RequestOut):
    class Meta:
        exclude = ("created_by",)


class RequestOwnIn(In):
    service_type = Ref(required=True)
    subject = text(200, required=True)
    summary = fields.String(allow_none=True, validate=validate.Length(max=10000))
    preferred_date = fields.Date(metadata={"description": "Required unless a slot is chosen."})
    preferred_slot = choice(SLOTS, load_default="morning")
    preferred_time = ClockTime(allow_none=True,
                               metadata={"description": "HH:MM in shop time; only with the custom slot."})
    address = Ref(allow_none=True)
    unit = Ref(allow_none=True)
    service_location = Ref(allow_none=True)
    estimate_required = fields.Boolean()
    slot = fields.String(allow_none=True, validate=validate.Length(max=40), metadata={
        "description": "A free start from GET /availability (its local_start, ISO 8601). The request asks for "
                       "it; a service type with instant booking is booked at once (status accepted)."})

    @validates_schema
    def _custom_time(self, data, partial=False, **_):
        if partial:
            return
        if not data.get("slot") and not data.get("preferred_date"):
            raise ValidationError("Choose a preferred date (YYYY-MM-DD) or a free slot.", "preferred_date")
        if data.get("preferred_slot") == "custom" and not data.get("preferred_time") and not data.get("slot"):
            raise ValidationError("Give the time you would like (HH:MM).", "preferred_time")


class RequestIn(RequestOwnIn):
    customer = Ref(required=True)
    contact_name = text(200)
    contact_email = fields.Email(allow_none=True, validate=validate.Length(max=255))
    contact_phone = text(40)


REFERENCES = {"service_type": "service_types", "service_location": "service_locations", "address": "addresses",
              "unit": "units"}
MESSAGES = {"service_type": "Choose one of the offered service types.",
            "service_location": "Choose one of the service locations.",
            "address": "Choose one of the customer's own addresses.", "unit": "Choose one of the customer's own units.",
            "customer": "Choose an existing customer."}


class ServiceRequestApi(PorticoApi):
    resource_name = "service_request"
    class_permission_name = "ApiServiceRequests"
    openapi_spec_tag = "Service requests"
    datamodel = PorticoInterface(ServiceRequest)
    entity = "service request"
    service = requests
    schemas = {"staff": RequestOut, "customer": RequestOwnOut}
    add_schemas = {"staff": RequestIn, "customer": RequestOwnIn}
    edit_schemas = {"staff": requests.RequestEdit}
    list_columns = ["id", "number", "status", "customer", "subject", "service_type", "unit", "preferred_date",
                    "preferred_slot", "scheduled_start", "created_at"]
    search = {"staff": ["number", "status", "customer", "subject", "service_type", "unit", "preferred_date",
                        "source", "contact_name", "contact_email"],
              "customer": ["number", "status", "subject", "service_type", "unit", "preferred_date"]}
    orders = {"staff": ["id", "number", "status", "preferred_date", "scheduled_start", "created_at"],
              "customer": ["id", "number", "status", "preferred_date", "scheduled_start", "created_at"]}
    options = {"customer": opt.customers, "service_type": opt.service_types,
               "service_location": opt.service_locations, "address": opt.addresses, "unit": opt.units}
    actions = {
        "confirm": Action(summary="Confirm the booking (the preferred or a given time); "
                                  "with estimate: true also create a draft estimate"),
        "propose": Action(summary="Propose another time (staff) or counter-propose (customer)"),
        "accept_time": Action(summary="Accept the proposed time (customer)"),
        "reschedule": Action(summary="Move a booking to another free time (staff or customer): the customer gets "
                                     "the updated invitation"),
        "decline": Action(summary="Decline the request with a reason (staff)"),
        "cancel": Action(summary="Cancel the request (customer)"),
        "estimate": Action(creates="estimate_id", summary="Create a draft estimate for the accepted request"),
        "work_order": Action(creates="work_order_id", summary="Create a work order directly (the request is resolved)"),
    }

    def _refs(self, actor, data: dict, customer_id: int) -> dict:
        """Ids of the body as ``*_id`` columns; another customer's address or unit is a 422 at its field."""
        wanted = {f: (data.pop(f), MESSAGES[f]) for f in REFERENCES if f in data and data[f] is not None}
        rows = opt.pick_all(self.options, actor, wanted)
        errors = {f: [MESSAGES[f]] for f, row in rows.items()
                  if f in ("address", "unit") and row.customer_id != customer_id}
        if errors:
            raise ApiError(422, errors)
        for field in REFERENCES:
            if field in wanted:
                data[f"{field}_id"] = rows[field].id
            elif field in data:
                data[f"{field}_id"] = data.pop(field)
        return data

    def create(self, actor, data):
        if actor.is_customer:
            customer_id = actor.customer_id
        else:
            customer_id = opt.pick(self.options, "customer", actor, data.pop("customer"), MESSAGES["customer"]).id
        data = self._refs(actor, data, customer_id)
        return requests.submit(actor, customer_id=customer_id, **data)

    def action_extra(self, action, item, result):
        if action == "confirm" and result is not item and result is not None:
            return {"estimate_id": result.id}
        return {}
