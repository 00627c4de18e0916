"""Schema bases and the small bodies several resources share.

Output schemas (``Out``) may hold nulls everywhere (documented as ``nullable``); input schemas (``In``)
refuse unknown fields, so a typo is a 422 at that field instead of being silently ignored.
"""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from ..core.fields import Ref, UTCDateTime, not_blank


class Out(Schema):
    """A response item: every field may be null."""

    def on_bind_field(self, field_name, field_obj):
        field_obj.allow_none = True
        super().on_bind_field(field_name, field_obj)


class In(Schema):
    class Meta:
        unknown = RAISE


def text(max_length: int, *, required: bool = False, description: str = "", allow_blank: bool = True):
    """A string input with its column's length (and, when required, not blank)."""
    validators = [validate.Length(max=max_length)]
    if required or not allow_blank:
        validators.append(not_blank)
    return fields.String(required=required, validate=validators, metadata={"description": description},
                         allow_none=not (required or not allow_blank))


def choice(values, *, required: bool = False, description: str = "", **kw):
    one_of = validate.OneOf(values, error=f"Choose one of: {', '.join(values)}.")
    metadata = {"description": description, "enum": list(values)}
    return fields.String(required=required, validate=one_of, metadata=metadata, **kw)


class VersionedIn(In):
    version = fields.Integer(metadata={"description": "The version you last read; 409 if it changed since."})


class ReasonRequired(VersionedIn):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=2000), not_blank],
                           metadata={"description": "Why (shown to the other side and kept in the history)."})


class ReasonOptional(VersionedIn):
    reason = fields.String(validate=validate.Length(max=2000), allow_none=True)


class TextBody(In):
    text = fields.String(required=True, validate=[validate.Length(min=1, max=5000), not_blank])


class AuditOut(Out):
    """One line of a record's history."""

    id = fields.Integer()
    action = fields.String()
    from_status = fields.String()
    to_status = fields.String()
    reason = fields.String()
    actor = fields.String(attribute="actor_label")
    created_at = UTCDateTime()


__all__ = ["AuditOut", "In", "Out", "ReasonOptional", "ReasonRequired", "Ref", "TextBody", "VersionedIn",
           "choice", "not_blank", "text"]
