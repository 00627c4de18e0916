"""``/api/v1/customer/`` and ``/api/v1/unit/``: customer accounts and their units.

Staff manage every account; a customer's portal user reads their own account and manages their own
units (the ``customer`` of a new unit is always theirs). Neither is a workflow document, so changes are
validated here, audited (``audit.record`` / ``record_edit``) and committed once.
"""
from __future__ import annotations

import datetime as dt
import re

from marshmallow import ValidationError, fields, validate, validates, validates_schema
from sqlalchemy import select

from ..core.datamodel import PorticoInterface
from ..core.fields import Ref, UTCDateTime
from ..core.scope import get_for, scoped
from ..extensions import db
from ..models import (
    CUSTOMER_KINDS,
    NOTIFICATION_GROUPS,
    UNIT_KINDS,
    Customer,
    Unit,
)
from ..services import customers
from ..services.audit import record
from ..services.common import commit
from .base import Action, PorticoApi
from .common import ApiError
from .schemas import In, Out, choice, text

LANGUAGES = ("en", "de")
VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")


# ---------------------------------------------------------------- customers
class CustomerOut(Out):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    email = fields.String()
    phone = fields.String()
    tax_id = fields.String()
    language = fields.String()
    requires_invoice_authorization = fields.Boolean()
    locked = fields.Boolean()
    archived_at = UTCDateTime(metadata={"description": "When it was archived (null: in use)."})
    preferences = fields.Dict(keys=fields.String(), values=fields.Boolean())
    default_service_address = Ref(attribute="default_service_address_id")
    default_billing_address = Ref(attribute="default_billing_address_id")
    notes = fields.String(metadata={"description": "Internal notes (staff only)."})
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class CustomerOwnOut(CustomerOut):
    class Meta:
        exclude = ("notes",)


class CustomerIn(In):
    name = text(200, required=True)
    kind = choice(CUSTOMER_KINDS, load_default="individual")
    email = fields.Email(allow_none=True, validate=validate.Length(max=255))
    phone = text(40)
    tax_id = text(40)
    language = choice(LANGUAGES, allow_none=True)
    requires_invoice_authorization = fields.Boolean()
    locked = fields.Boolean()
    notes = fields.String(allow_none=True, validate=validate.Length(max=10000))
    preferences = fields.Dict(keys=fields.String(validate=validate.OneOf(NOTIFICATION_GROUPS)),
                              values=fields.Boolean(),
                              metadata={"description": "E-mail per event group: " + ", ".join(NOTIFICATION_GROUPS)})


class CustomerApi(PorticoApi):
    resource_name = "customer"
    class_permission_name = "ApiCustomers"
    openapi_spec_tag = "Customers"
    datamodel = PorticoInterface(Customer)
    entity = "customer"
    schemas = {"staff": CustomerOut, "customer": CustomerOwnOut}
    add_schemas = {"staff": CustomerIn}
    edit_schemas = {"staff": customers.CustomerEdit}
    service = customers
    actions = {"archive": Action(summary="Archive the customer (hidden from pickers and lists; history stays)"),
               "restore": Action(summary="Restore an archived customer"),
               "invite": Action(creates="portal_user_id", status=201,
                                summary="Invite a person to the customer's portal (a login and an e-mailed link; "
                                        "the same e-mail again answers the same login with created false)")}
    list_columns = ["id", "name", "kind", "email", "phone", "requires_invoice_authorization", "locked", "archived_at",
                    "created_at"]

    def action_extra(self, action: str, item, result) -> dict:
        if action != "invite":
            return {}
        user = result.link.user
        return {"user_id": user.id, "email": user.email, "customer": item.id, "created": result.created}
    search = {"staff": ["name", "kind", "email", "phone", "tax_id", "locked", "requires_invoice_authorization"],
              "customer": ["name", "email"]}
    orders = {"staff": ["id", "name", "kind", "email", "created_at"], "customer": ["id", "name"]}
    base_order = ("name", "asc")

    def create(self, actor, data):
        preferences = {group: True for group in NOTIFICATION_GROUPS}
        preferences.update(data.pop("preferences", None) or {})
        customer = Customer(preferences=preferences, **data)
        db.session.add(customer)
        db.session.flush()
        record(customer, "create", None, None, actor)
        commit("customer", customer)
        return customer


# ---------------------------------------------------------------- units
class UnitOut(Out):
    id = fields.Integer()
    customer = Ref(attribute="customer_id")
    kind = fields.String()
    unit_number = fields.String()
    make = fields.String()
    model = fields.String()
    serial_number = fields.String()
    imei = fields.String()
    vin = fields.String()
    year = fields.Integer()
    notes = fields.String(metadata={"description": "Internal notes (staff only)."})
    archived_at = UTCDateTime(metadata={"description": "When it was archived (null: in use)."})
    created_at = UTCDateTime()


class UnitOwnOut(UnitOut):
    class Meta:
        exclude = ("notes",)


class UnitOwnIn(In):
    kind = choice(UNIT_KINDS)
    unit_number = text(40)
    make = text(80)
    model = text(80)
    serial_number = text(80)
    imei = text(20, description="15 digits with a valid check digit.")
    vin = text(17)
    year = fields.Integer(allow_none=True, strict=True)

    @validates("imei")
    def _imei(self, value, **_):
        from ..services.units import imei_error

        if value and imei_error(value):
            raise ValidationError(imei_error(value))

    @validates("vin")
    def _vin(self, value, **_):
        if value and not VIN.fullmatch(value.replace(" ", "").upper()):
            raise ValidationError("A VIN has 17 letters and digits (no I, O or Q).")

    @validates("year")
    def _year(self, value, **_):
        if value is not None and not 1900 <= value <= dt.date.today().year + 1:
            raise ValidationError("Give a year between 1900 and next year.")


class UnitIn(UnitOwnIn):
    customer = Ref(required=True)
    notes = fields.String(allow_none=True, validate=validate.Length(max=10000))


class UnitNewOwnIn(UnitOwnIn):
    @validates_schema
    def _identified(self, data, **_):
        if not any(data.get(name) for name in ("make", "model", "unit_number", "serial_number", "imei", "vin")):
            raise ValidationError("Give at least a make, a model or an identifier (unit number, serial, IMEI, VIN).",
                                  "make")


class UnitNewIn(UnitIn, UnitNewOwnIn):
    pass


def customers_of(actor):
    return scoped(select(Customer), Customer, actor).order_by(Customer.name)


class UnitApi(PorticoApi):
    resource_name = "unit"
    class_permission_name = "ApiUnits"
    openapi_spec_tag = "Units"
    datamodel = PorticoInterface(Unit)
    entity = "unit"
    schemas = {"staff": UnitOut, "customer": UnitOwnOut}
    add_schemas = {"staff": UnitNewIn, "customer": UnitNewOwnIn}
    edit_schemas = {"staff": customers.UnitStaffEdit, "customer": customers.UnitEdit}
    service = customers
    table = customers.UNIT_TABLE
    actions = {"archive": Action(summary="Archive the unit (hidden from pickers and lists; history stays)"),
               "restore": Action(summary="Restore an archived unit")}
    list_columns = ["id", "customer", "kind", "unit_number", "make", "model", "serial_number", "imei", "vin", "year"]
    search = {"staff": ["customer", "kind", "unit_number", "make", "model", "serial_number", "imei", "vin"],
              "customer": ["kind", "unit_number", "make", "model", "serial_number", "imei", "vin"]}
    orders = {"staff": ["id", "unit_number", "make", "model", "created_at"],
              "customer": ["id", "unit_number", "make", "model", "created_at"]}
    options = {"customer": customers_of}
    unique_fields = ("unit_number",)

    def _clean(self, data: dict) -> dict:
        for name in ("imei", "vin"):
            if data.get(name):
                data[name] = data[name].replace(" ", "").replace("-", "").replace(".", "").upper()
        return {name: (value.strip() or None) if isinstance(value, str) else value for name, value in data.items()}

    def _check_number(self, customer_id: int, number, unit_id=None) -> None:
        if number and db.session.scalar(select(Unit.id).where(Unit.customer_id == customer_id,
                                                             Unit.unit_number == number,
                                                             Unit.id != (unit_id or -1))):
            raise ApiError(422, {"unit_number": ["This customer already has a unit with this number."]})

    def create(self, actor, data):
        data = self._clean(data)
        if actor.is_customer:
            data["customer_id"] = actor.customer_id
        else:
            data["customer_id"] = self._customer(actor, data.pop("customer")).id
        self._check_number(data["customer_id"], data.get("unit_number"))
        unit = Unit(**{"kind": "device", **{k: v for k, v in data.items() if v is not None or k == "kind"}})
        unit.kind = unit.kind or "device"
        db.session.add(unit)
        db.session.flush()
        record(unit, "create", None, None, actor)
        commit("unit", unit)
        return unit

    @staticmethod
    def _customer(actor, ident):
        try:
            return get_for(Customer, ident, actor)
        except Exception:
            raise ApiError(422, {"customer": ["Choose an existing customer."]}) from None
