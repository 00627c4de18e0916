"""The shop's settings: one row, changed only through its ``edit`` action, every value within sane bounds.

A login-link lifetime of a hundred million hours, a negative due date or a capacity of zero would break
pages later (dates past the calendar's end, no bookable slot); they are refused here, at the field.
"""
from __future__ import annotations

from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from ..core.actors import Actor
from ..core.errors import ValidationFailed
from ..core.fields import ClockTime, not_blank
from ..models import Settings
from . import availability
from .audit import record
from .common import edit_fields
from .params import Unversioned
from .workflow import ANY, Action, ActionTable, perform, register  # noqa: F401 (perform: the one door)


def _int(low: int, high: int, **kw):
    return fields.Integer(strict=False, validate=validate.Range(min=low, max=high), **kw)


def _amount(high: int):
    return fields.Decimal(places=2, validate=validate.Range(min=0, max=high), as_string=False)


class SettingsEdit(Unversioned):
    shop_name = fields.String(validate=[validate.Length(max=120), not_blank])
    address = fields.String(allow_none=True, validate=validate.Length(max=2000))
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    currency = fields.String(validate=validate.Regexp(r"^[A-Z]{3}$", error="A three-letter ISO code such as EUR."))
    tax_rate = _amount(100)
    labour_rate = _amount(100_000)
    time_zone = fields.String(validate=validate.Length(max=64))
    base_url = fields.Url(allow_none=True, schemes={"http", "https"}, require_tld=False,
                          validate=validate.Length(max=255))
    mail_sender = fields.String(allow_none=True, validate=validate.Length(max=255))
    staff_email = fields.Email(allow_none=True, validate=validate.Length(max=255))
    magic_link_hours = _int(1, 720, metadata={"description": "1 hour to 30 days."})
    photo_limit = _int(0, 50)
    slot_capacity = _int(1, 1000)
    request_stale_hours = _int(1, 8760)
    invoice_labour_source = fields.String(validate=validate.OneOf(("time_entries", "approved_lines")))
    invoice_due_days = _int(0, 365)
    paper_size = fields.String(validate=validate.OneOf(("A4", "Letter")))
    label_format = fields.String(validate=validate.OneOf(("a6", "4x6", "a4x4")),
                                 metadata={"description": "Shipping labels: A6 or 4 × 6 in (thermal), or on A4."})
    export_retention_days = _int(1, 3650)
    privacy_retention_years = _int(1, 30, metadata={
        "description": "Years invoices keep an erased customer's name and address as issued."})
    time_rounding = fields.String(validate=validate.OneOf(("exact", "6", "15", "30")), metadata={
        "description": "Clocked time on invoices: exact, or rounded up to 6, 15 or 30 minutes."})
    minimum_charge_minutes = _int(0, 480, metadata={"description": "Bill at least this many minutes (0: none)."})
    reminder_time = ClockTime(allow_none=True, metadata={"description": "Empty: no booking reminders."})
    closed_days = fields.String(allow_none=True, validate=validate.Length(max=20000),
                                metadata={"description": "Days every location is closed, one per line."})


def edit(settings: Settings, actor: Actor, **changes) -> Settings:
    if "time_zone" in changes and changes["time_zone"] not in available_timezones():
        raise ValidationFailed({"time_zone": [_l("Not a time zone name such as Europe/Berlin.")]})
    closed = None
    if "closed_days" in changes:
        try:
            closed = availability.parse_closed(changes.pop("closed_days"))
        except ValueError as error:
            raise ValidationFailed({"closed_days": [str(error)]}) from None
    edit_fields(settings, actor, **changes)
    if closed is not None and availability.set_closed(None, closed):
        record(settings, "closed_days", None, None, actor, ", ".join(d.isoformat() for d in sorted(closed)) or "-")
    return settings


TABLE = register(Settings, ActionTable("settings", [
    Action((ANY,), "edit", ("staff",), None, edit, SettingsEdit, audited=False),
], state=lambda settings: "kept", known_states=("kept",)))
