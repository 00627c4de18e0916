"""Checking a report definition: its report, schedule, format, recipients and parameters.

Parameters are a JSON object: ``period`` (one of ``periods.PERIODS``, default the report's own) or
``start`` and ``end`` dates (``YYYY-MM-DD``, both included), plus the report's filters (``PARAMS``). Every
error names its field, for the form and for the API's 422 alike.
"""
from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..core.errors import ValidationFailed
from ..core.i18n import current_language
from ..extensions import db
from ..models import Customer, Role, ServiceLocation, ServiceType, User
from . import CATALOGUE, formats_for
from .periods import PERIODS, date_bounds, period_bounds
from .schedule import CronError, trigger_for

RANGE_KEYS = ("period", "start", "end")
FORMAT_LABELS = {"pdf": _l("PDF with charts"), "csv": _l("CSV"), "both": _l("PDF and CSV")}


def format_error(allowed) -> str:
    """The sentence for a format the report does not come in: "This report comes as CSV." (whole sentences)."""
    labels = [str(FORMAT_LABELS[f]) for f in allowed]
    if len(labels) == 1:
        return _("This report comes as %(format)s.", format=labels[0])
    if len(labels) == 2:
        return _("This report comes as %(first)s or %(second)s.", first=labels[0], second=labels[1])
    return _("This report comes as %(first)s or %(second)s or %(third)s.", first=labels[0], second=labels[1],
             third=", ".join(labels[2:]))


def parse_recipients(value) -> tuple[list[str], list[str]]:
    """``(addresses, errors)`` from a list or a comma / semicolon / newline separated string."""
    if isinstance(value, str):
        items = value.replace(";", ",").replace("\n", ",").split(",")
    else:
        items = list(value or [])
    addresses, errors = [], []
    for item in items:
        item = str(item).strip()
        if not item:
            continue
        try:
            normalized = validate_email(item, check_deliverability=False).normalized
        except EmailNotValidError:
            errors.append(_("%(address)s is not an e-mail address.", address=item))
            continue
        if normalized not in addresses:
            addresses.append(normalized)
    return addresses, errors


def parse_params(value) -> dict:
    if value in (None, ""):
        return {}
    if isinstance(value, dict):
        return dict(value)
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        raise ValidationFailed({"params": [_('Write the parameters as JSON, e.g. {"period": "last_week"}.')]}) from None
    if not isinstance(parsed, dict):
        raise ValidationFailed({"params": [_('Write the parameters as a JSON object, e.g. {"period": "last_week"}.')]})
    return parsed


def _date(value, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed({"params": [_("%(name)s must be a date such as 2026-01-31.", name=name)]}) from None


def _exists(kind: str, ident: int) -> bool:
    if kind in ("customer", "reseller"):
        customer = db.session.get(Customer, ident)
        return customer is not None and (kind == "customer" or customer.kind == "reseller")
    if kind == "service_type":
        return db.session.get(ServiceType, ident) is not None
    if kind == "service_location":
        return db.session.get(ServiceLocation, ident) is not None
    if kind == "technician":
        return db.session.scalar(select(User.id).where(User.id == ident, User.roles.any(Role.name == "Technician"))) \
            is not None
    return True


def clean_params(kind: str, raw) -> dict:
    """The parameters of report ``kind``, checked and normalised (ids as ints, unknown keys refused)."""
    module = CATALOGUE.get(kind)
    params = parse_params(raw)
    if module is None:
        return params
    declared = {p.name: p for p in module.PARAMS}
    errors = []
    unknown = sorted(set(params) - set(declared) - set(RANGE_KEYS))
    if unknown:
        allowed = ", ".join([*RANGE_KEYS, *declared]) or "period"
        errors.append(_("Unknown parameter %(unknown)s; this report takes %(allowed)s.", unknown=", ".join(unknown),
                         allowed=allowed))
    clean: dict = {}
    if "start" in params or "end" in params:
        if not (params.get("start") and params.get("end")):
            errors.append(_("Give both start and end dates, or a period."))
        else:
            first, last = _date(params["start"], "start"), _date(params["end"], "end")
            if last < first:
                errors.append(_("The end date is before the start date."))
            clean.update(start=first.isoformat(), end=last.isoformat())
    elif (params.get("period") or module.DEFAULT_PERIOD) not in PERIODS:
        errors.append(_("Unknown period %(period)s; choose one of %(periods)s.", period=repr(params.get("period")),
                         periods=", ".join(PERIODS)))
    else:
        clean["period"] = params.get("period") or module.DEFAULT_PERIOD
    for name, param in declared.items():
        value = params.get(name)
        if value in (None, ""):
            if param.required:
                errors.append(_("%(label)s (%(name)s) is required.", label=param.label, name=name))
            continue
        if param.kind == "choice":
            if value not in param.choices:
                errors.append(_("%(label)s must be one of %(choices)s.", label=param.label,
                                choices=", ".join(param.choices)))
            clean[name] = value
            continue
        try:
            ident = int(value)
        except (TypeError, ValueError):
            errors.append(_("%(label)s (%(name)s) must be a number (an id).", label=param.label, name=name))
            continue
        if not 0 < ident < 2**31 or not _exists(param.kind, ident):  # no key is beyond 32 bits
            label = str(param.label)
            errors.append(_("There is no %(label)s with id %(id)s.", id=ident,
                            label=label.lower() if current_language() == "en" else label))  # German: „Kunde“
        clean[name] = ident
    if errors:
        raise ValidationFailed({"params": errors})
    return clean


def validate_definition(definition) -> None:
    """Check every field of a ``ReportDefinition`` and normalise recipients and params in place."""
    errors: dict[str, list[str]] = {}
    definition.name = (definition.name or "").strip()
    if not definition.name:
        errors["name"] = [_("Give the report a name.")]
    if definition.kind not in CATALOGUE:
        errors["kind"] = [_("Choose a report from the catalogue.")]
    try:
        from ..core.settings import shop_zone

        trigger_for(definition.cron or "", shop_zone())
        definition.cron = " ".join(definition.cron.split())
    except CronError as exc:
        errors["cron"] = [str(exc)]
    if definition.kind in CATALOGUE and definition.format not in formats_for(definition.kind):
        errors["format"] = [format_error(formats_for(definition.kind))]
    recipients, problems = parse_recipients(definition.recipients)
    if problems:
        errors["recipients"] = problems
    definition.recipients = recipients
    try:
        definition.params = clean_params(definition.kind, definition.params)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)


def run_bounds(definition, zone: ZoneInfo, reference: dt.datetime) -> tuple[dt.datetime, dt.datetime, str, dict]:
    """``(start, end, label, filters)`` for a run of ``definition`` made at ``reference`` (naive UTC)."""
    params = clean_params(definition.kind, definition.params or {})
    if "start" in params:
        start, end, label = date_bounds(dt.date.fromisoformat(params["start"]), dt.date.fromisoformat(params["end"]),
                                        zone)
    else:
        start, end, label = period_bounds(params["period"], zone, reference)
    return start, end, label, {k: v for k, v in params.items() if k not in RANGE_KEYS}
