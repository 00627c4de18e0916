"""A customer's own data from the portal: profile, addresses, units, e-mail preferences, notifications.

None of this is a workflow transition, but it is still a change to business data: every function here
validates (``ValidationFailed`` with field errors), reaches rows only through ``scope`` (another customer's
row is ``NotFound``), writes an audit row and commits once. Portal views call these functions; they never
change the models themselves.
"""
from __future__ import annotations

import datetime as dt
import re

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import func, select, update
from stdnum import imei as imei_number

from ..core import addresses
from ..core.actors import Actor
from ..core.errors import NotFound, ValidationFailed
from ..core.fields import Key, not_blank
from ..core.scope import get_for, scoped
from ..extensions import db
from ..models import (
    NOTIFICATION_GROUPS,
    UNIT_KINDS,
    Address,
    Customer,
    Notification,
    PortalUser,
    ServiceRequest,
    Unit,
    User,
    WorkOrder,
    utcnow,
)
from . import accounts, history, portal_auth, privacy
from .audit import record, record_edit
from .common import commit, edit_fields
from .params import Unversioned
from .workflow import ANY, Action, ActionTable, perform, register  # noqa: F401 (perform: the one door)

_KEEP = object()  # an edit that does not name a field leaves it as it is
ADDRESS_FIELDS = ("label", "line1", "line2", "city", "state", "postal_code", "country")
UNIT_FIELDS = ("kind", "unit_number", "make", "model", "serial_number", "imei", "vin", "year")
_LIMITS = {"label": 80, "line1": 200, "line2": 200, "city": 100, "state": 100, "postal_code": 20,
           "unit_number": 40, "make": 80, "model": 80, "serial_number": 80, "first_name": 64, "last_name": 64,
           "phone": 40}
_VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
_PHONE = re.compile(r"[0-9+()./\- ]{3,40}")


def _clean(value) -> str | None:
    value = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    return value or None


def _check_lengths(values: dict, errors: dict) -> None:
    for field, value in values.items():
        limit = _LIMITS.get(field)
        if limit and value and len(value) > limit:
            errors.setdefault(field, []).append(_("At most %(limit)s characters.", limit=limit))


def customer_of(actor: Actor) -> Customer:
    if not actor.is_customer:
        raise NotFound()
    return get_for(Customer, actor.customer_id, actor)


def portal_user_of(actor: Actor) -> PortalUser:
    """The logged-in person's link row (phone, picture, language live there)."""
    link = db.session.scalar(select(PortalUser).where(PortalUser.user_id == actor.user_id,
                                                      PortalUser.customer_id == actor.customer_id))
    if link is None:
        raise NotFound()
    return link


# ---------------------------------------------------------------- profile
def languages() -> tuple[str, ...]:
    return tuple(current_app.config.get("LANGUAGES") or {"en": {}})


def update_profile(actor: Actor, *, first_name=None, last_name=None, email=None, phone=None,
                   language=None) -> PortalUser:
    """The person's name, e-mail (their login address: unique), phone and language."""
    link = portal_user_of(actor)
    user = link.user
    values = {"first_name": _clean(first_name), "last_name": _clean(last_name), "phone": _clean(phone)}
    errors: dict[str, list[str]] = {}
    for field in ("first_name", "last_name"):
        if not values[field]:
            errors[field] = [_("This field is required.")]
    _check_lengths(values, errors)
    if values["phone"] and not _PHONE.fullmatch(values["phone"]):
        errors["phone"] = [_("Use digits, spaces and + ( ) - . only.")]
    address = _clean(email)
    if not address:
        errors["email"] = [_("Your e-mail address is required: it is how you log in.")]
    else:
        try:
            address = validate_email(address, check_deliverability=False).normalized
        except EmailNotValidError:
            errors["email"] = [_("Enter a valid e-mail address such as name@example.com.")]
        else:
            taken = db.session.scalar(select(User.id).where(func.lower(User.email) == address.lower(),
                                                            User.id != user.id))
            if taken is not None:
                errors["email"] = [_("Another account already uses this e-mail address.")]
    language = _clean(language)
    if language and language not in languages():
        errors["language"] = [_("Choose one of the offered languages.")]
    if errors:
        raise ValidationFailed(errors)
    changed = [name for name, old, new in (
        ("first name", user.first_name, values["first_name"]), ("last name", user.last_name, values["last_name"]),
        ("e-mail", user.email, address), ("phone", link.phone, values["phone"]), ("language", link.language, language),
    ) if (old or None) != (new or None)]
    if not changed:
        return link
    customer = link.customer
    if "e-mail" in changed and customer.email and user.email and customer.email.lower() == user.email.lower():
        customer.email = address  # the account's address followed this person's: keep them together
    user.first_name, user.last_name, user.email = values["first_name"], values["last_name"], address
    link.phone, link.language = values["phone"], language
    record(link, "edit", None, None, actor, "changed " + ", ".join(changed))
    commit("profile", link)
    return link


def set_picture(actor: Actor, stored_name: str | None) -> PortalUser:
    link = portal_user_of(actor)
    link.picture = stored_name
    record(link, "edit", None, None, actor, "changed picture")
    commit("profile", link)
    return link


def set_preferences(actor: Actor, wanted) -> Customer:
    """Which event groups reach the account by e-mail (portal notifications always appear)."""
    wanted = set(wanted or ())
    unknown = wanted - set(NOTIFICATION_GROUPS)
    if unknown:
        raise ValidationFailed({"preferences": [_("Unknown notification group: %(groups)s",
                                                  groups=", ".join(sorted(unknown)))]})
    customer = customer_of(actor)
    customer.preferences = {group: group in wanted for group in NOTIFICATION_GROUPS}  # a new dict: JSON change
    record_edit(customer, actor)
    commit("preferences", customer)
    return customer


# ---------------------------------------------------------------- addresses
def _address_values(fields: dict) -> dict:
    unknown = set(fields) - set(ADDRESS_FIELDS)
    if unknown:
        raise ValidationFailed({name: [_("Unknown field.")] for name in sorted(unknown)})
    values = {name: _clean(fields.get(name)) for name in ADDRESS_FIELDS}
    errors: dict[str, list[str]] = {}
    values = addresses.clean(values, errors)  # by its country: required fields, postcode format
    _check_lengths(values, errors)
    if errors:
        raise ValidationFailed(errors)
    return values


def check_address(actor: Actor, **fields) -> dict:
    """Check an address's fields without saving it (``ValidationFailed`` at the fields); the values as they
    would be saved (normalised by their country)."""
    return _address_values(fields)


def new_address(actor: Actor, **fields) -> Address:
    """A validated address inside the caller's transaction (the new-request form adds one inline)."""
    customer = customer_of(actor)
    address = Address(customer_id=customer.id, **_address_values(fields))
    db.session.add(address)
    db.session.flush()
    record(address, "create", None, None, actor)
    if customer.default_service_address_id is None:
        customer.default_service_address_id = address.id
    if customer.default_billing_address_id is None:
        customer.default_billing_address_id = address.id
    return address


def save_address(actor: Actor, address_id=None, **fields) -> Address:
    """Add (no ``address_id``) or edit one of the account's own addresses."""
    if address_id in (None, ""):
        address = new_address(actor, **fields)
    else:
        return perform(get_for(Address, address_id, actor), "edit", actor, fields)
    commit("address", address)
    return address


def _drop_defaults(address: Address) -> None:
    customer = address.customer
    if customer.default_service_address_id == address.id:
        customer.default_service_address_id = None
    if customer.default_billing_address_id == address.id:
        customer.default_billing_address_id = None


def archive_address(address: Address, actor: Actor, **_) -> Address:
    _drop_defaults(address)
    return history.archive(address, actor)


def delete_address_row(address: Address, actor: Actor, **_) -> None:
    _drop_defaults(address)
    db.session.flush()
    return history.delete(address, actor)


def delete_address(actor: Actor, address_id) -> str:
    """The portal's "Remove": an address no request names is deleted; one that history names is archived
    (gone from the customer's lists and pickers, still on its old requests). Returns what was done."""
    address = get_for(Address, address_id, actor)
    if history.holders(address):
        perform(address, "archive", actor)
        return "archived"
    perform(address, "delete", actor)
    return "deleted"


def set_default_addresses(actor: Actor, service_address_id=None, billing_address_id=None) -> Customer:
    customer = customer_of(actor)
    errors = {}
    chosen = {}
    for field, ident in (("default_service_address", service_address_id),
                         ("default_billing_address", billing_address_id)):
        if ident in (None, ""):
            chosen[field] = None
            continue
        try:
            chosen[field] = get_for(Address, ident, actor).id
        except NotFound:
            errors[field] = [_("Choose one of your own addresses.")]
    if errors:
        raise ValidationFailed(errors)
    customer.default_service_address_id = chosen["default_service_address"]
    customer.default_billing_address_id = chosen["default_billing_address"]
    record_edit(customer, actor)
    commit("customer", customer)
    return customer


# ---------------------------------------------------------------- units
def _unit_values(fields: dict, customer_id: int, unit_id: int | None) -> dict:
    unknown = set(fields) - set(UNIT_FIELDS)
    if unknown:
        raise ValidationFailed({name: [_("Unknown field.")] for name in sorted(unknown)})
    values = {name: _clean(fields.get(name)) for name in UNIT_FIELDS}
    errors: dict[str, list[str]] = {}
    values["kind"] = values["kind"] or "device"
    if values["kind"] not in UNIT_KINDS:
        errors["kind"] = [_("Choose vehicle, device or equipment.")]
    if not any(values[name] for name in ("make", "model", "unit_number", "serial_number", "imei", "vin")):
        errors["make"] = [_("Give at least a make, a model or an identifier (unit number, serial, IMEI, VIN).")]
    if values["imei"]:
        values["imei"] = imei_number.compact(values["imei"])
        if not imei_number.is_valid(values["imei"]):
            errors["imei"] = [_("This is not a valid IMEI (15 digits; dial *#06# on the phone to see it).")]
    if values["vin"]:
        values["vin"] = values["vin"].replace(" ", "").upper()
        if not _VIN.fullmatch(values["vin"]):
            errors["vin"] = [_("A VIN has 17 letters and digits (no I, O or Q).")]
    if values["year"]:
        try:
            values["year"] = int(values["year"])
        except ValueError:
            errors["year"] = [_("Give the year as four digits.")]
        else:
            if not 1900 <= values["year"] <= dt.date.today().year + 1:
                errors["year"] = [_("Give a year between 1900 and next year.")]
    _check_lengths(values, errors)
    if values["unit_number"] and "unit_number" not in errors:
        clash = db.session.scalar(select(Unit.id).where(Unit.customer_id == customer_id,
                                                        Unit.unit_number == values["unit_number"],
                                                        Unit.id != (unit_id or -1)))
        if clash is not None:
            errors["unit_number"] = [_("You already have a unit with this number.")]
    if errors:
        raise ValidationFailed(errors)
    return values


def save_unit(actor: Actor, unit_id=None, **fields) -> Unit:
    """Add (no ``unit_id``) or edit one of the account's own units."""
    customer = customer_of(actor)
    if unit_id in (None, ""):
        unit = Unit(customer_id=customer.id, **_unit_values(fields, customer.id, None))
        db.session.add(unit)
        db.session.flush()
        record(unit, "create", None, None, actor)
        commit("unit", unit)
        return unit
    return perform(get_for(Unit, unit_id, actor), "edit", actor, fields)


def unit_in_use(unit: Unit) -> bool:
    orders = db.session.scalar(select(func.count(WorkOrder.id)).where(WorkOrder.unit_id == unit.id))
    return bool(orders) or bool(db.session.scalar(
        select(func.count(ServiceRequest.id)).where(ServiceRequest.unit_id == unit.id)))


# ---------------------------------------------------------------- notifications
def notifications(actor: Actor):
    """A select() of the account's portal notifications, newest first (page it in the view)."""
    return scoped(select(Notification), Notification, actor).order_by(Notification.created_at.desc(),
                                                                      Notification.id.desc())


def unread_count(actor: Actor) -> int:
    stmt = scoped(select(func.count(Notification.id)), Notification, actor).where(Notification.read_at.is_(None))
    return db.session.scalar(stmt) or 0


def mark_read(actor: Actor, notification_id) -> Notification:
    note = get_for(Notification, notification_id, actor)
    if note.read_at is None:
        note.read_at = utcnow()
        commit("notification", note)
    return note


def mark_all_read(actor: Actor) -> int:
    """Mark every unread notification of the account read; returns how many."""
    if not actor.is_customer:
        raise NotFound()
    ids = list(db.session.scalars(
        scoped(select(Notification.id), Notification, actor).where(Notification.read_at.is_(None))))
    if ids:
        db.session.execute(update(Notification).where(Notification.id.in_(ids)).values(read_at=utcnow()))
    commit("notifications")
    return len(ids)


# ---------------------------------------------------------------- the shop's side: the customer's table
class CustomerEdit(Unversioned):
    name = fields.String(validate=[validate.Length(max=200), not_blank])
    kind = fields.String(validate=validate.OneOf(("individual", "business", "reseller")))
    email = fields.Email(allow_none=True, validate=validate.Length(max=255))
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    tax_id = fields.String(allow_none=True, validate=validate.Length(max=40))
    language = fields.String(allow_none=True, validate=validate.Length(max=10))
    requires_invoice_authorization = fields.Boolean()
    locked = fields.Boolean(metadata={"description": "Lock or unlock portal access (ends its sessions)."})
    notes = fields.String(allow_none=True, validate=validate.Length(max=10000))
    preferences = fields.Dict(keys=fields.String(validate=validate.OneOf(NOTIFICATION_GROUPS)), values=fields.Boolean(),
                              metadata={"description": "E-mail per event group: " + ", ".join(NOTIFICATION_GROUPS)})
    default_service_address = Key(attribute="default_service_address_id", allow_none=True)
    default_billing_address = Key(attribute="default_billing_address_id", allow_none=True)


def edit_customer(customer: Customer, actor: Actor, locked=None, preferences=None, **changes) -> Customer:
    """Staff change a customer's details; portal access is locked and unlocked by the lock service."""
    errors: dict[str, list] = {}
    for field in ("default_service_address_id", "default_billing_address_id"):
        ident = changes.get(field)
        address = db.session.get(Address, ident) if ident else None
        if ident and (address is None or address.customer_id != customer.id):
            errors[field.removesuffix("_id")] = [_l("Choose one of this customer's addresses.")]
    if changes.get("language") and changes["language"] not in languages():
        errors["language"] = [_l("Choose one of the offered languages.")]
    if errors:
        raise ValidationFailed(errors)
    if preferences is not None:
        changes["preferences"] = {**(customer.preferences or {}), **preferences}
    edit_fields(customer, actor, **changes)
    if locked is not None:
        portal_auth.lock_customer(customer, actor, locked)
    return customer


def set_locked(customer: Customer, actor: Actor, locked: bool) -> Customer:
    portal_auth.lock_customer(customer, actor, locked)
    return customer


def archive_customer(customer: Customer, actor: Actor, **_) -> Customer:
    """Archived: hidden from pickers and default lists; its portal users are logged out and cannot log in."""
    history.archive(customer, actor)
    portal_auth.end_access(customer)
    return customer


def customer_state(customer: Customer) -> str:
    return history.state(customer, "locked" if customer.locked else "active")


archive_row, restore_row, delete_row = history.archive_rows(("staff",), ("active", "locked"))
TABLE = register(Customer, ActionTable("customer", [
    Action((ANY,), "edit", ("staff",), None, edit_customer, CustomerEdit, audited=False),
    Action(("active",), "lock", ("staff",), None, lambda c, a: set_locked(c, a, True), Unversioned, audited=False),
    Action(("locked",), "unlock", ("staff",), None, lambda c, a: set_locked(c, a, False), Unversioned,
           audited=False),
    Action(archive_row.sources, "archive", archive_row.by, None, archive_customer, Unversioned),
    Action(restore_row.sources, "restore", restore_row.by, None, restore_row.effect, Unversioned,
           guard=privacy.not_erased),  # an erased account stays archived
    delete_row,
    *accounts.portal_access_rows(),  # invite, send_login_link, send_password_reset, login_link, lock_user…
    # privacy requests (app/services/privacy.py): staff take the full copy, a customer their own
    Action((ANY,), "privacy_export", ("staff", "customer"), None, privacy.privacy_export, Unversioned,
           audited=False),
    Action(("active", "locked", "archived"), "erase", ("manager",), None, privacy.erase, privacy.EraseParams,
           guard=privacy.not_erased, audited=False),
], state=customer_state, known_states=("active", "locked", "archived")))


#: The parameters of an address's and a unit's ``edit``: their fields as text (``_address_values`` and
#: ``_unit_values`` check them as a whole, with the same messages as the portal's forms).
AddressEdit = Unversioned.from_dict({name: fields.String(allow_none=True) for name in ADDRESS_FIELDS},
                                    name="AddressEdit")


def edit_address(address: Address, actor: Actor, **changes) -> Address:
    """Change an address (the shop's screen, the portal, the API): checked as a whole, like a new one."""
    current = {name: getattr(address, name) for name in ADDRESS_FIELDS}
    return edit_fields(address, actor, **_address_values({**current, **changes}))


UnitEdit = Unversioned.from_dict({**{name: fields.String(allow_none=True) for name in UNIT_FIELDS},
                                  "year": fields.Raw(allow_none=True, metadata={"type": "integer"})},
                                 name="UnitEdit")


class UnitStaffEdit(UnitEdit):
    notes = fields.String(allow_none=True, validate=validate.Length(max=10000),
                          metadata={"description": "The shop's internal notes."})


def edit_unit(unit: Unit, actor: Actor, notes=_KEEP, **changes) -> Unit:
    """Change a unit (the shop's screen, the portal, the API): its identifiers are checked as a whole."""
    current = {name: getattr(unit, name) for name in UNIT_FIELDS}
    values = _unit_values({**current, **changes}, unit.customer_id, unit.id)
    if notes is not _KEEP:
        values["notes"] = notes
    return edit_fields(unit, actor, **values)


EVERYONE_OWN = ("staff", "customer")


def _address_rows() -> list[Action]:
    archive_row, restore_row, delete_row = history.archive_rows(EVERYONE_OWN)
    return [Action(archive_row.sources, "archive", EVERYONE_OWN, None, archive_address, Unversioned), restore_row,
            Action(delete_row.sources, "delete", EVERYONE_OWN, None, delete_address_row, Unversioned,
                   audited=False)]


ADDRESS_TABLE = register(Address, ActionTable("address", [
    Action((ANY,), "edit", EVERYONE_OWN, None, edit_address, AddressEdit, audited=False),
    *_address_rows(),
], state=history.state, known_states=("active", "archived")))
UNIT_TABLE = register(Unit, ActionTable("unit", [
    Action((ANY,), "edit", ("staff",), None, edit_unit, UnitStaffEdit, audited=False),
    Action((ANY,), "edit", ("customer",), None, edit_unit, UnitEdit, audited=False),
    *history.archive_rows(("staff",)),
], state=history.state, known_states=("active", "archived")))
