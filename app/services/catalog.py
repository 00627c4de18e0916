"""The catalog staff pick from: service types, service locations, shipping methods (Setup → Catalog;
the screens are the Manager's, Advisors read them).

Each is a row that history names (requests, work orders, shipments), so each has a table of its own: edit
(audited field by field), archive and restore (an archived row is no longer offered on new requests, work
orders or shipments, and every document that names it still shows it), and delete only while nothing
names it. For these rows "archived" is the ``active`` flag the catalog always had ("Offered" / "In use").
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from ..core.errors import ValidationFailed
from ..core.fields import not_blank
from ..extensions import db
from ..models import ServiceLocation, ServiceType, ShippingMethod
from . import history
from .common import edit_fields
from .params import Unversioned
from .workflow import ANY, Action, ActionTable, perform, register  # noqa: F401 (perform: the one door)


def _text(length: int, required: bool = False):
    if required:
        return fields.String(validate=[validate.Length(max=length), not_blank])
    return fields.String(allow_none=True, validate=validate.Length(max=length))


class ServiceTypeEdit(Unversioned):
    name = _text(80, required=True)
    description = fields.String(allow_none=True, validate=validate.Length(max=10000))
    duration_minutes = fields.Integer(validate=validate.Range(5, 24 * 60))
    active = fields.Boolean()


class ServiceLocationEdit(Unversioned):
    name = _text(120, required=True)
    line1 = _text(200)
    city = _text(100)
    state = _text(100)
    postal_code = _text(20)
    country = _text(2)
    phone = _text(40)
    email = fields.Email(allow_none=True, validate=validate.Length(max=255))
    slot_capacity = fields.Integer(allow_none=True, validate=validate.Range(1, 1000))
    active = fields.Boolean()


class ShippingMethodEdit(Unversioned):
    name = _text(80, required=True)
    carrier = _text(80)
    active = fields.Boolean()


def edit(row, actor, **changes):
    """Change a catalog row; names stay unique (a clash is a field error, not a database error)."""
    name = changes.get("name")
    if name is not None:
        changes["name"] = name = name.strip()
        model = type(row)
        clash = db.session.scalar(db.select(model.id).where(model.name == name, model.id != row.id))
        if clash:
            raise ValidationFailed({"name": [_l("Another entry already has this name.")]})
    return edit_fields(row, actor, **changes)


def _table(model, entity: str, schema) -> ActionTable:
    return register(model, ActionTable(entity, [
        Action((ANY,), "edit", ("staff",), None, edit, schema, audited=False),
        *history.archive_rows(("staff",)),
    ], state=history.state, known_states=("active", "archived")))


SERVICE_TYPE_TABLE = _table(ServiceType, "service type", ServiceTypeEdit)
SERVICE_LOCATION_TABLE = _table(ServiceLocation, "service location", ServiceLocationEdit)
SHIPPING_METHOD_TABLE = _table(ShippingMethod, "shipping method", ShippingMethodEdit)
