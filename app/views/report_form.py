"""The scheduled report's form as people fill it in (issue 15, item 4): a generated field for each parameter the
reports declare (``PARAMS``: customers, resellers, locations, service types and technicians by name), a period
picker, and the schedule as "daily / weekly on … / monthly on the … at HH:MM", with cron as the advanced choice.

Only parsing: on a post ``compose`` turns these fields into the definition's ``params`` (JSON) and ``cron``
before the form is validated, and the reports service checks them as it checks the API's. ``prefill`` does the
reverse for the edit form. Parameters can still be written as JSON (the advanced field), e.g. for a filter a
new report declares before this form knows it.
"""
from __future__ import annotations

import datetime as dt
import json
import re

from flask import request
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, Select2Widget
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.validators import Optional

from ..core.i18n import localized_name
from ..core.scope import archived_clause
from ..extensions import db
from ..models import Customer, Role, ServiceLocation, ServiceType, User
from ..reports import CATALOGUE, PERIODS
from ..reports.schedule import normalise
from .base import BLANK
from .filters import VALUE_WORDS, status_label

CUSTOM = "custom"
FREQUENCIES = {"daily": _l("Every day"), "weekly": _l("Every week"), "monthly": _l("Every month"),
               "cron": _l("Advanced: a cron expression")}
#: Cron's weekday numbers, Monday first.
WEEKDAYS = [("1", _l("Monday")), ("2", _l("Tuesday")), ("3", _l("Wednesday")), ("4", _l("Thursday")),
            ("5", _l("Friday")), ("6", _l("Saturday")), ("0", _l("Sunday"))]
SIMPLE_CRON = re.compile(r"^(\d{1,2}) (\d{1,2}) (\*|\d{1,2}) \* (\*|[0-7])$")
HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
#: Entity kinds of ``Param`` and the model whose rows (by name) the picker offers.
ENTITY_KINDS = ("customer", "reseller", "service_type", "service_location", "technician")


def field_name(param) -> str:
    """The form field of a declared parameter: one per entity kind (``p_customer``…), else per name."""
    return f"p_{param.kind}" if param.kind in ENTITY_KINDS else f"p_{param.name}"


def _rows(kind: str):
    def load():
        if kind in ("customer", "reseller"):
            stmt = select(Customer.id, Customer.name).where(archived_clause(Customer)).order_by(Customer.name)
            if kind == "reseller":
                stmt = stmt.where(Customer.kind == "reseller")
        elif kind == "technician":
            stmt = select(User.id, User.first_name + " " + User.last_name).where(
                User.active.is_(True), User.roles.any(Role.name == "Technician")).order_by(User.first_name)
        else:
            model = ServiceType if kind == "service_type" else ServiceLocation
            rows = db.session.scalars(select(model).where(archived_clause(model)).order_by(model.name))
            return [("", BLANK), *((str(row.id), localized_name(row)) for row in rows)]  # the reader's names
        return [("", BLANK), *((str(ident), name) for ident, name in db.session.execute(stmt))]

    return load


def _declared() -> dict[str, object]:
    """Each generated parameter field once, with the first declaration naming it (its label and kind)."""
    found: dict[str, object] = {}
    for module in CATALOGUE.values():
        for param in module.PARAMS:
            found.setdefault(field_name(param), param)
    return found


LABELS = {"p_customer": _l("Customer"), "p_reseller": _l("Reseller"), "p_service_type": _l("Service type"),
          "p_service_location": _l("Service location"), "p_technician": _l("Technician")}


def fields() -> dict:
    """The generated fields (for ``add_form_extra_fields`` and ``edit_form_extra_fields``)."""
    made = {
        "period": SelectField(_l("Period"), choices=[*PERIODS.items(), (CUSTOM, _l("Between two dates"))],
                              default="last_week", widget=Select2Widget(),
                              description=_l("Each run covers this period, counted back from the day it runs.")),
        "start": DateField(_l("From"), validators=[Optional()], widget=BS3TextFieldWidget(),
                           render_kw={"type": "date"}, description=_l("With “Between two dates”.")),
        "end": DateField(_l("To"), validators=[Optional()], widget=BS3TextFieldWidget(), render_kw={"type": "date"},
                         description=_l("With “Between two dates”; included.")),
        "params_json": BooleanField(_l("Write the parameters as JSON instead"),
                                    description=_l("Advanced: the parameters field below is used as written.")),
        "freq": SelectField(_l("Runs"), choices=list(FREQUENCIES.items()), default="weekly", widget=Select2Widget()),
        "weekday": SelectField(_l("On"), choices=WEEKDAYS, default="1", widget=Select2Widget(),
                               description=_l("For weekly reports.")),
        "monthday": SelectField(_l("On day"), choices=[(str(d), f"{d}.") for d in range(1, 29)], default="1",
                                widget=Select2Widget(), description=_l("For monthly reports (1 to 28).")),
        "at": StringField(_l("At"), default="07:00", widget=BS3TextFieldWidget(), validators=[valid_time],
                          render_kw={"type": "time", "step": "60"}, description=_l("HH:MM in the shop's time zone.")),
    }
    for name, param in _declared().items():
        if param.kind in ENTITY_KINDS:
            made[name] = SelectField(LABELS[name], choices=_rows(param.kind), default="", widget=Select2Widget(),
                                     description=_l("Empty: all."))
        elif param.kind == "choice":
            words = [(c, VALUE_WORDS.get(c) or status_label(c)) for c in param.choices]
            made[name] = SelectField(_l(param.label) if isinstance(param.label, str) else param.label,
                                     choices=[("", BLANK), *words], default="", widget=Select2Widget(),
                                     description=_l("Empty: all."))
    return made


def columns() -> list[str]:
    """The form's rows in order: report, its parameters, the schedule, the rest."""
    return ["name", "kind", "period", "start", "end", *_declared(), "params_json", "params", "freq", "weekday",
            "monthday", "at", "cron", "format", "recipients", "enabled"]


def used_by() -> dict[str, list[str]]:
    """For the form's script: which generated fields each report uses (the others are hidden)."""
    return {kind: [field_name(p) for p in module.PARAMS] for kind, module in CATALOGUE.items()}


# --- post → params and cron ----------------------------------------------------------------------------------

def compose(form) -> None:
    """Write the generated fields into ``params`` and ``cron`` (what the service checks), unless the user chose
    to write them by hand. A bad time is an error at its field; the form keeps what was typed. A post without
    the generated fields (a script, an older form) is taken as written: its ``params`` JSON and ``cron``."""
    posted = request.form
    if "period" in posted and not form.params_json.data:
        module = CATALOGUE.get(form.kind.data)
        params: dict = {}
        if form.period.data == CUSTOM:
            params.update(start=form.start.data.isoformat() if form.start.data else "",
                          end=form.end.data.isoformat() if form.end.data else "")
        else:
            params["period"] = form.period.data
        for param in module.PARAMS if module else []:
            value = form[field_name(param)].data if field_name(param) in form else None
            if value not in (None, ""):
                numeric = param.kind != "choice" and str(value).isdecimal() and len(str(value)) < 10
                params[param.name] = int(value) if numeric else value  # anything else: the service says why
        form.params.data = json.dumps(params, sort_keys=True)
    frequency = form.freq.data if "freq" in posted else "cron"
    if frequency == "cron":
        return
    match = HHMM.match((form.at.data or "").strip())
    if match is None:  # the time's own check refuses the form (valid_time); cron stays as it was
        return
    hour, minute = int(match.group(1)), int(match.group(2))
    day = {"daily": "* * *", "weekly": f"* * {form.weekday.data}", "monthly": f"{form.monthday.data} * *"}
    form.cron.data = f"{minute} {hour} {day.get(frequency, '* * *')}"


def valid_time(form, field) -> None:
    """The "At" field's check: a time of day, unless the schedule is written as cron."""
    from wtforms.validators import ValidationError

    if "freq" in request.form and form.freq.data != "cron" and HHMM.match((field.data or "").strip()) is None:
        raise ValidationError(_("Give the time as HH:MM, e.g. 07:00."))


def prefill(form, item) -> None:
    """The edit form shows the definition's params and cron in the generated fields where they fit."""
    params = dict(item.params or {})
    if "start" in params or "end" in params:
        form.period.data = CUSTOM
        form.start.data = _day(params.get("start"))
        form.end.data = _day(params.get("end"))
    module = CATALOGUE.get(item.kind)
    if not ("start" in params or "end" in params):
        form.period.data = params.get("period") or (module.DEFAULT_PERIOD if module else "last_week")
    for param in module.PARAMS if module else []:
        if field_name(param) in form and params.get(param.name) not in (None, ""):
            form[field_name(param)].data = str(params[param.name])
    known = set(params) - {"period", "start", "end"} - {p.name for p in (module.PARAMS if module else [])}
    form.params_json.data = bool(known)  # a key this form has no field for: keep the JSON as written
    match = SIMPLE_CRON.match(normalise(item.cron or ""))
    if match is None:
        form.freq.data = "cron"
        return
    minute, hour, month_day, week_day = match.groups()
    form.at.data = f"{int(hour):02d}:{int(minute):02d}"
    if month_day == "*" and week_day == "*":
        form.freq.data = "daily"
    elif month_day == "*":
        form.freq.data, form.weekday.data = "weekly", "0" if week_day == "7" else week_day
    elif week_day == "*" and 1 <= int(month_day) <= 28:
        form.freq.data, form.monthday.data = "monthly", str(int(month_day))
    else:
        form.freq.data = "cron"


def _day(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
