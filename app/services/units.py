"""Units (the customer's devices, vehicles, equipment) made from what a customer typed on an order.

``unit_from_device(actor, customer_id, device)`` is shared by the portal's repair order form and the REST
API (``"device": {...}`` on a work order): it validates field by field (errors under ``device.<field>``),
checks an IMEI's Luhn check digit, reuses the customer's own unit with the same IMEI or serial number, and
otherwise adds a new unit to the session. It does not commit: the caller commits it with the order.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from stdnum import imei as stdnum_imei

from ..core.actors import Actor
from ..core.errors import ValidationFailed
from ..extensions import db
from ..models import UNIT_KINDS, Unit

#: The device fields a customer may type, with their column lengths.
DEVICE_FIELDS = {"kind": 20, "make": 80, "model": 80, "serial_number": 80, "imei": 20}


def normalize_imei(value: str) -> str:
    """Digits only (spaces, dashes and dots removed)."""
    return stdnum_imei.compact(value or "").replace(".", "")


def imei_error(value: str) -> str | None:
    """Why ``value`` is not a valid 15-digit IMEI, or None."""
    digits = normalize_imei(value)
    if not digits.isdecimal():
        return "An IMEI has digits only."
    if len(digits) != 15:
        return f"An IMEI has 15 digits ({len(digits)} given)."
    if not stdnum_imei.is_valid(digits):
        return "This IMEI's check digit is wrong: check for a typing error."
    return None


def clean_device(device) -> dict:
    """Validated device fields (stripped, IMEI as digits) or ``ValidationFailed`` with ``device.*`` keys."""
    if not isinstance(device, dict):
        raise ValidationFailed({"device": [_l("Describe the device: make, model and serial number or IMEI.")]})
    errors: dict[str, list[str]] = {}
    data = {}
    for field, length in DEVICE_FIELDS.items():
        raw = device.get(field)
        value = "" if raw is None else str(raw).strip()
        if len(value) > length:
            errors[f"device.{field}"] = [f"At most {length} characters."]
        data[field] = value or None
    data["kind"] = data["kind"] or "device"
    if data["kind"] not in UNIT_KINDS:
        errors["device.kind"] = [_l("Choose device, vehicle or equipment.")]
    for field, label in (("make", "make"), ("model", "model")):
        if not data[field]:
            errors[f"device.{field}"] = [f"Enter the {label}."]
    if data["imei"] and "device.imei" not in errors:
        problem = imei_error(data["imei"])
        if problem:
            errors["device.imei"] = [problem]
        else:
            data["imei"] = normalize_imei(data["imei"])
    if not data["serial_number"] and not data["imei"] and "device.imei" not in errors:
        errors["device.serial_number"] = [_l("Enter the serial number or the IMEI.")]
    if errors:
        raise ValidationFailed(errors)
    return data


def _existing(customer_id: int, data: dict) -> Unit | None:
    for field in ("imei", "serial_number"):
        if data[field]:
            unit = db.session.scalar(select(Unit).where(Unit.customer_id == customer_id,
                                                        getattr(Unit, field) == data[field])
                                     .order_by(Unit.id).limit(1))
            if unit is not None:
                return unit
    return None


def unit_from_device(actor: Actor, customer_id: int | None, device: dict) -> Unit:
    """The customer's unit for ``device``: an existing own unit with the same IMEI or serial, else a new one.

    A customer always gets a unit of their own account (``customer_id`` is theirs whatever was given).
    The new unit is added and flushed (it has an id), not committed.
    """
    if actor.is_customer:
        customer_id = actor.customer_id
    if customer_id is None:
        raise ValidationFailed({"customer": [_l("Choose the customer.")]})
    data = clean_device(device)
    unit = _existing(customer_id, data)
    if unit is not None:
        return unit
    unit = Unit(customer_id=customer_id, **data)
    db.session.add(unit)
    db.session.flush()
    return unit


def own_unit(actor: Actor, unit_id) -> Unit:
    """One of the actor's units (``NotFound`` for anyone else's), for pickers that take a unit id."""
    from ..core.scope import get_for

    return get_for(Unit, unit_id, actor)
