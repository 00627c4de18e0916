"""The catalog staff pick from: service types, service locations, shipping methods, work item templates (Setup;
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
from ..core.i18n import clean_names
from ..extensions import db
from ..models import BOOKING_MODES, WEEKDAYS, ServiceLocation, ServiceType, ShippingMethod, WorkItemTemplate
from . import availability, feeds, history
from .audit import record
from .common import edit_fields
from .params import Unversioned
from .workflow import ANY, Action, ActionTable, perform, register  # noqa: F401 (perform: the one door)


def _text(length: int, required: bool = False):
    if required:
        return fields.String(validate=[validate.Length(max=length), not_blank])
    return fields.String(allow_none=True, validate=validate.Length(max=length))


def _names():
    """The other languages' names ({"de": "Inspektion"}): checked in ``edit`` against ``LANGUAGES``."""
    return fields.Dict(keys=fields.String(), values=fields.String(allow_none=True), allow_none=True,
                       metadata={"description": "Names in the shop's other languages, by language code "
                                                "(optional; English, name, is the fallback)."})


class ServiceTypeEdit(Unversioned):
    name = _text(80, required=True)
    names = _names()
    description = fields.String(allow_none=True, validate=validate.Length(max=10000))
    duration_minutes = fields.Integer(allow_none=True, validate=validate.Range(5, 24 * 60),
                                      metadata={"description": "Empty: one slot of the location."})
    booking_mode = fields.String(validate=validate.OneOf(BOOKING_MODES))
    active = fields.Boolean()


class ServiceLocationEdit(Unversioned):
    name = _text(120, required=True)
    names = _names()
    line1 = _text(200)
    city = _text(100)
    state = _text(100)
    postal_code = _text(20)
    country = _text(2)
    phone = _text(40)
    email = fields.Email(allow_none=True, validate=validate.Length(max=255))
    slot_capacity = fields.Integer(allow_none=True, validate=validate.Range(1, 1000))
    slot_minutes = fields.Integer(strict=False)
    closed_days = fields.String(allow_none=True, validate=validate.Length(max=20000))
    # the opening hours per weekday as staff type them: "08:00-12:00, 13:00-17:00" (empty: closed)
    hours_mon = _text(200)
    hours_tue = _text(200)
    hours_wed = _text(200)
    hours_thu = _text(200)
    hours_fri = _text(200)
    hours_sat = _text(200)
    hours_sun = _text(200)
    active = fields.Boolean()


class ShippingMethodEdit(Unversioned):
    name = _text(80, required=True)
    names = _names()
    carrier = _text(80)
    active = fields.Boolean()


class WorkItemTemplateEdit(Unversioned):
    kind = fields.String(validate=validate.OneOf(("labour", "part")))
    name = _text(200, required=True)
    names = _names()
    part_number = _text(80)
    quantity = fields.Decimal(places=2, validate=validate.Range(min=0, min_inclusive=False, max=99999))
    unit_price = fields.Decimal(places=2, allow_none=True, validate=validate.Range(min=0, max=9999999))
    active = fields.Boolean()


def localized_names(row, values) -> dict:
    """The ``names`` a form or the API sent, cleaned (trimmed, empty ones dropped), as long as ``name`` may
    be; unknown languages, control characters and overlong names are field errors (``names.<code>``)."""
    names, errors = clean_names(values, type(row).__table__.c.name.type.length)
    if errors:
        raise ValidationFailed({f"names.{code}": [message] for code, message in errors.items()})
    return names


def edit(row, actor, **changes):
    """Change a catalog row; names stay unique (a clash is a field error, not a database error)."""
    if "names" in changes:
        changes["names"] = localized_names(row, changes["names"])
    name = changes.get("name")
    if name is not None:
        changes["name"] = name = name.strip()
        model = type(row)
        clash = db.session.scalar(db.select(model.id).where(model.name == name, model.id != row.id))
        if clash:
            raise ValidationFailed({"name": [_l("Another entry already has this name.")]})
    return edit_fields(row, actor, **changes)


def edit_location(location: ServiceLocation, actor, **changes):
    """A location's details and its booking rules: a slot length that divides the day, opening hours per
    weekday on that grid without overlaps, closed days; every problem at its field."""
    errors: dict[str, list] = {}
    length = location.slot_minutes or availability.DEFAULT_SLOT_MINUTES
    if "slot_minutes" in changes:
        try:
            availability.check_slot_minutes(changes["slot_minutes"] if changes["slot_minutes"] is not None else 0)
            length = changes["slot_minutes"]
        except ValidationFailed as error:
            errors.update(error.errors)
    hours = {}
    for weekday, day in enumerate(WEEKDAYS):
        key = f"hours_{day}"
        text = changes.pop(key) if key in changes else availability.hours_text(location, weekday)
        try:
            hours[weekday] = availability.parse_hours(text, length)
        except ValueError as error:
            errors[key] = [str(error)]
    closed = None
    if "closed_days" in changes:
        try:
            closed = availability.parse_closed(changes.pop("closed_days"))
        except ValueError as error:
            errors["closed_days"] = [str(error)]
    if errors:
        raise ValidationFailed(errors)
    edit(location, actor, **changes)
    if availability.set_hours(location, hours):
        record(location, "opening_hours", None, None, actor, "; ".join(
            f"{day}: {availability.hours_text(location, i) or '-'}" for i, day in enumerate(WEEKDAYS)))
    if closed is not None and availability.set_closed(location, closed):
        record(location, "closed_days", None, None, actor, ", ".join(d.isoformat() for d in sorted(closed)) or "-")
    return location


def _table(model, entity: str, schema, effect=edit, extra=()) -> ActionTable:
    return register(model, ActionTable(entity, [
        Action((ANY,), "edit", ("staff",), None, effect, schema, audited=False),
        *history.archive_rows(("staff",)),
        *extra,
    ], state=history.state, known_states=("active", "archived")))


SERVICE_TYPE_TABLE = _table(ServiceType, "service type", ServiceTypeEdit)
SERVICE_LOCATION_TABLE = _table(ServiceLocation, "service location", ServiceLocationEdit, edit_location, extra=[
    Action(("active",), "rotate_feed", ("staff",), None, feeds.rotate_location_feed, Unversioned),  # its .ics URL
])
SHIPPING_METHOD_TABLE = _table(ShippingMethod, "shipping method", ShippingMethodEdit)
WORK_ITEM_TEMPLATE_TABLE = _table(WorkItemTemplate, "work item template", WorkItemTemplateEdit)
