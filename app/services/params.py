"""The parameter schemas that several actions share (marshmallow). Each row of an action table names one.

Adapters hand ``perform`` what they received — form fields as text, JSON values, or Python values from
another service — and the row's schema turns it into the effect's keyword arguments, refusing unknown
names (422 at the field). ``version`` (a form's ``expected_version``) is the record's version the client
last read: a newer one answers 409.
"""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from ..core.fields import When
from ..core.settings import money

_PROPOSE = "Give the date and time you propose."


class Params(Schema):
    """No parameters but the version."""

    class Meta:
        unknown = RAISE

    version = fields.Integer(attribute="expected_version", allow_none=True,
                             metadata={"description": "The version you last read; 409 if it changed since."})

    @pre_load
    def _version(self, data, **_):
        data = dict(data)
        if "expected_version" in data:
            data["version"] = data.pop("expected_version")
        if data.get("version") in ("", None):
            data.pop("version", None)
        for name, value in data.items():  # an empty optional field of a form is "no value"
            field = self.fields.get(name)
            if value == "" and field is not None and field.allow_none:
                data[name] = None
        return data


_REASON = "A reason is required."


def _reason_given(value) -> None:
    if not str(value or "").strip():
        raise ValidationError(_REASON)


class Unversioned(Params):
    """For records without a version column (report definitions): ``version`` is an unknown field."""

    class Meta:
        unknown = RAISE
        exclude = ("version",)


def reason_field(required: bool = False):
    validators = [validate.Length(max=2000)] + ([_reason_given] if required else [])
    return fields.String(required=required, allow_none=not required, validate=validators,
                         error_messages={"required": _REASON, "null": _REASON},
                         metadata={"description": "Why (shown to the other side and kept in the history)."})


class Reason(Params):
    reason = reason_field()


class ReasonRequired(Params):
    reason = reason_field(required=True)


class Note(Params):
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


def text_field(message):
    """A required text; ``message`` (a str or a lazy translation, read in the reader's language when refused)."""
    def given(value) -> None:
        if not str(value or "").strip():
            raise ValidationError(str(message))

    said = message if isinstance(message, str) else [message]  # marshmallow keeps a lazy one only in a list
    return fields.String(required=True, validate=[validate.Length(max=5000), given],
                         error_messages={"required": said, "null": said})


class Text(Params):
    text = text_field("Write the note.")


class Message(Params):
    text = text_field("Write the message.")
    public = fields.Boolean(load_default=True, metadata={"description": "False: an internal note (staff only)."})


class Booking(Params):
    start = When(allow_none=True, metadata={"description": "ISO 8601; without an offset, shop time. "
                                                          "Omitted: the preferred time."})
    estimate = fields.Boolean(load_default=False, metadata={"description": "Also create a draft estimate."})


class Proposal(Params):
    start = When(required=True, error_messages={"required": _PROPOSE, "null": _PROPOSE},
                 metadata={"description": "ISO 8601; without an offset, shop time."})
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


class Amount(fields.Field):
    """An amount to pay: more than zero, at most two decimals (text, a number or a ``Decimal``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            amount = money(value)
        except (TypeError, ValueError):
            raise ValidationError("Enter an amount such as 120.50.") from None
        if amount <= 0:
            raise ValidationError("The amount must be more than zero.")
        return amount


class Paying(Params):
    amount = Amount(required=True, metadata={"type": "string", "format": "decimal", "example": "120.50"})
    method = fields.String(required=True, validate=validate.Length(max=20))
    reference = fields.String(allow_none=True, validate=validate.Length(max=120))


class Assignment(Params):
    #: Field errors are reported under the names the effect uses ("technician"), whatever was posted.
    error_fields = {"technician_id": "technician"}

    technician_id = fields.Integer(allow_none=True, strict=False, error_messages={"invalid": "Choose a technician."},
                                   metadata={"description": "User id of the technician (also as "
                                                            "\"technician\"); null unassigns."})
    scheduled_start = When(allow_none=True)
    scheduled_end = When(allow_none=True)

    @pre_load
    def _technician(self, data, **_):
        data = dict(data)
        if "technician" in data:
            data["technician_id"] = data.pop("technician")
        if data.get("technician_id") == "":
            data["technician_id"] = None
        return data




_FILE = "Choose a photo or a file to upload."


class Attach(Params):
    file = fields.Raw(required=True, error_messages={"required": _FILE, "null": _FILE},
                      metadata={"description": "The uploaded file (multipart form field)."})
    public = fields.Boolean(load_default=True, metadata={"description": "False: for the shop only."})
