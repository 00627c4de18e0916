"""The shop's settings: one row, changed only through its ``edit`` action, every value within sane bounds.

A login-link lifetime of a hundred million hours, a negative due date or a capacity of zero would break
pages later (dates past the calendar's end, no bookable slot); they are refused here, at the field.
"""
from __future__ import annotations

import io
import re
from decimal import Decimal
from zoneinfo import available_timezones

import stdnum
from flask import current_app
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import or_, select
from stdnum import iban as stdnum_iban
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError

from ..core import addresses
from ..core.actors import Actor
from ..core.errors import ValidationFailed
from ..core.fields import ClockTime, not_blank
from ..extensions import db
from ..models import Invoice, InvoiceLine, Settings
from . import availability, uploads
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
    country = fields.String(validate=validate.Length(max=2), metadata={
        "description": "ISO 3166-1 alpha-2 code, e.g. DE: a new address's default country."})
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
    default_language = fields.String(allow_none=True, validate=validate.Length(max=5))  # a code of LANGUAGES
    reminder_time = ClockTime(allow_none=True, metadata={"description": "Empty: no booking reminders."})
    closed_days = fields.String(allow_none=True, validate=validate.Length(max=20000),
                                metadata={"description": "Days every location is closed, one per line."})


def _text(high: int):
    return fields.String(allow_none=True, validate=validate.Length(max=high))


LOGO_MAX_BYTES = 2 * 1024 * 1024
LOGO_MAX_SIDE = 4000
LOGO_MAX_PIXELS = 8_000_000
LOGO_KINDS = {"png": "image/png", "jpeg": "image/jpeg"}
_BIC = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")


class LegalEdit(SettingsEdit):
    legal_name = _text(200)
    vat_id = _text(20)
    tax_number = _text(40)
    registered_office = _text(200)
    register_court = _text(120)
    register_number = _text(60)
    managing_directors = _text(300)
    bank_name = _text(120)
    iban = _text(42)
    bic = _text(14)
    payment_terms = _text(2000)
    small_business = fields.Boolean()
    small_business_text = _text(2000)
    document_footer = _text(2000)
    logo_upload = fields.Raw(allow_none=True, metadata={"description": "A PNG or JPEG image, at most 2 MB."})
    remove_logo = fields.Boolean()


def _blank_to_none(value):
    return value.strip() or None if isinstance(value, str) else value


def vat_id(value: str | None) -> str | None:
    """A VAT ID with its country prefix, checked by the country's rules (python-stdnum), in compact form."""
    if not value:
        return None
    compact = re.sub(r"[\s.\-/]", "", value).upper()
    country = compact[:2].lower()
    try:
        if country in eu_vat.MEMBER_STATES or country == "el":
            return eu_vat.validate(compact)
        module = stdnum.get_cc_module(country, "vat")
        if module is None or not compact[:2].isalpha():
            raise StdnumError()
        return compact[:2] + module.validate(compact[2:])
    except (StdnumError, ValueError, LookupError):
        raise ValidationFailed({"vat_id": [_l("Not a valid VAT ID (with its country prefix, e.g. DE123456788).")]}) \
            from None


def iban(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return stdnum_iban.validate(value)
    except StdnumError:
        raise ValidationFailed({"iban": [_l("Not a valid IBAN.")]}) from None


def bic(value: str | None) -> str | None:
    if not value:
        return None
    compact = re.sub(r"\s", "", value).upper()
    try:
        from stdnum import bic as stdnum_bic
    except ImportError:  # pragma: no cover - older python-stdnum
        stdnum_bic = None
    valid = (stdnum_bic.is_valid(compact) if stdnum_bic is not None else bool(_BIC.match(compact)))
    if not valid:
        raise ValidationFailed({"bic": [_l("Not a valid BIC (8 or 11 letters and digits).")]})
    return compact


def logo(upload) -> tuple[bytes, str]:
    """An uploaded logo, checked as a PNG or JPEG picture within size and pixel limits, encoded again."""
    stream = getattr(upload, "stream", upload)
    if isinstance(upload, bytes | bytearray):
        data = bytes(upload)
    elif hasattr(stream, "read"):
        data = stream.read(LOGO_MAX_BYTES + 1)
    else:  # text from an API client, a number…: not a file
        raise ValidationFailed({"logo_upload": [_l("The logo must be a PNG or JPEG picture.")]})
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationFailed({"logo_upload": [_l("The logo is larger than 2 MB.")]})
    kind = uploads.sniff(data[:16])
    if kind not in LOGO_KINDS:
        raise ValidationFailed({"logo_upload": [_l("The logo must be a PNG or JPEG picture.")]})
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as probe:  # the header only
            too_big = (max(probe.width, probe.height) > LOGO_MAX_SIDE
                       or probe.width * probe.height > LOGO_MAX_PIXELS)
    except Exception:  # noqa: BLE001 - anything Pillow cannot read is no picture
        too_big = False
    if too_big:
        raise ValidationFailed({"logo_upload": [_l("The logo may be at most %(side)s pixels on each side.",
                                                   side=LOGO_MAX_SIDE)]})
    try:
        clean = uploads._clean_image(data, kind, "logo")
    except ValidationFailed:
        raise ValidationFailed({"logo_upload": [_l("The logo is damaged or not a readable picture.")]}) from None
    return clean, LOGO_KINDS[kind]


def _check_exemption(settings: Settings, changes: dict) -> None:
    """The small-business exemption charges no tax: it needs a tax rate of 0 %, and no unissued invoice
    may still carry a rate (it would be issued with tax under an exemption)."""
    exempt = changes.get("small_business", settings.small_business)
    rate = changes.get("tax_rate", settings.tax_rate)
    if not exempt:
        return
    if rate is not None and Decimal(rate) != 0:
        raise ValidationFailed({"tax_rate": [_l("With the small-business exemption the tax rate is 0 %.")]})
    if not settings.small_business:
        taxed_line = select(InvoiceLine.id).where(InvoiceLine.invoice_id == Invoice.id, InvoiceLine.tax_rate != 0)
        taxed = db.session.scalar(select(Invoice.number).where(
            Invoice.issued_at.is_(None), Invoice.status != "void",
            or_(Invoice.tax_rate != 0, taxed_line.exists())).limit(1))
        if taxed:
            raise ValidationFailed({"small_business": [_l(
                "Invoice %(number)s is not issued yet and charges tax: issue or void it first.", number=taxed)]})


def edit(settings: Settings, actor: Actor, **changes) -> Settings:
    for name in ("legal_name", "vat_id", "tax_number", "registered_office", "register_court", "register_number",
                 "managing_directors", "bank_name", "iban", "bic", "payment_terms", "small_business_text",
                 "document_footer"):
        if name in changes:
            changes[name] = _blank_to_none(changes[name])
    for name, check in (("vat_id", vat_id), ("iban", iban), ("bic", bic)):
        if name in changes:
            changes[name] = check(changes[name])
    _check_exemption(settings, changes)
    if "default_language" in changes:
        changes["default_language"] = changes["default_language"] or None
        if changes["default_language"] not in (None, *(current_app.config.get("LANGUAGES") or {})):
            raise ValidationFailed({"default_language": [_l("Choose one of the shop's languages.")]})
    upload = changes.pop("logo_upload", None)
    if upload is not None and getattr(upload, "filename", True):
        changes["logo"], changes["logo_content_type"] = logo(upload)
    elif changes.pop("remove_logo", False):
        changes["logo"], changes["logo_content_type"] = None, None
    changes.pop("remove_logo", None)
    if "country" in changes:
        changes["country"] = (changes["country"] or "").strip().upper()
        if changes["country"] not in addresses.country_names("en"):
            raise ValidationFailed({"country": [_l("Choose a country from the list.")]})
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
    Action((ANY,), "edit", ("staff",), None, edit, LegalEdit, audited=False),
], state=lambda settings: "kept", known_states=("kept",)))
