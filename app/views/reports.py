"""Scheduled reports in the staff screens (``Reports``, Manager): definitions, Run now, runs and downloads.

A definition's page reads its schedule aloud ("every Monday at 07:00") with the next five run times in the
shop's time zone, offers Run now (a queued run the scheduler process picks up within seconds) and lists
its runs with status, duration, rows and download links. Files are served only through
``/reportrunview/file/<run>/<name>`` (``can_show`` on ``Reports``), never from ``static/``.
"""
from __future__ import annotations

import json

from flask import flash, jsonify, redirect, request, send_file, url_for
from flask_appbuilder import expose
from flask_appbuilder.fieldwidgets import BS3TextAreaFieldWidget, BS3TextFieldWidget, Select2Widget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from ..core import formatting
from ..core.errors import NotFound, ServiceError, ValidationFailed
from ..core.scope import current_actor
from ..core.settings import shop_zone
from ..extensions import db
from ..models import ReportDefinition, ReportRun, utcnow
from ..reports import CATALOGUE, PERIODS, formats_for
from ..reports.params import FORMAT_LABELS, clean_params, format_error, parse_recipients
from ..reports.schedule import EXAMPLES, CronError, describe, next_runs
from ..services import reports as service
from ..services.workflow import perform
from . import report_form
from .base import READ_ONLY, StaffModelView, choice_field, get_or_404, status_badge, time_formatters, yes_no
from .workflow import ServiceEditMixin

PERMISSION = "Reports"


# --- form fields -------------------------------------------------------------------------------------------

def _valid_cron(form, field):
    try:
        next_runs(field.data or "", shop_zone(), utcnow(), 1)
    except CronError as exc:
        raise ValidationError(str(exc)) from None


def _valid_recipients(form, field):
    _addresses, errors = parse_recipients(field.data or "")
    if errors:
        raise ValidationError(" ".join(errors))


def _valid_params(form, field):
    try:
        clean_params(form.kind.data, field.data or "")
    except ValidationFailed as exc:
        raise ValidationError(" ".join(exc.errors.get("params", [exc.message]))) from None


def _valid_format(form, field):
    allowed = formats_for(form.kind.data)
    if allowed and field.data not in allowed:
        raise ValidationError(format_error(allowed))


def params_help() -> str:
    """The parameters field's help in the reader's language (the JSON keys and periods stay as written)."""
    lines = [_('JSON. "period": %(periods)s (or "start" and "end" dates, YYYY-MM-DD).', periods=", ".join(PERIODS))]
    for module in CATALOGUE.values():
        filters = ", ".join(_("%(name)s (required)", name=p.name) if p.required else p.name for p in module.PARAMS)
        if filters:
            lines.append(_("%(report)s: period %(period)s; %(filters)s.", report=module.TITLE,
                           period=module.DEFAULT_PERIOD, filters=filters))
        else:
            lines.append(_("%(report)s: period %(period)s.", report=module.TITLE, period=module.DEFAULT_PERIOD))
    return " ".join(lines)


def _kind_label(value) -> str:
    module = CATALOGUE.get(value)
    return str(module.TITLE) if module else (value or "")


def _schedule_label(value) -> str:
    return describe(value) if value else ""


#: What the edit action takes (the form's generated fields are composed into params and cron).
MODEL_FIELDS = ("name", "kind", "params", "cron", "format", "recipients", "enabled")


class ReportDefinitionView(ServiceEditMixin, StaffModelView):
    datamodel = SQLAInterface(ReportDefinition)
    class_permission_name = PERMISSION
    method_permission_name = {"run_now": "edit", "preview": "list"}
    show_template = "staff/report_definition_show.html"
    add_template = "staff/report_definition_add.html"
    edit_template = "staff/report_definition_edit.html"
    list_title = "Scheduled reports"
    show_title = add_title = edit_title = "Scheduled report"
    list_columns = ["name", "kind", "cron", "format", "enabled", "updated_at"]
    show_columns = ["name", "kind", "params", "cron", "format", "recipients", "enabled", "customer", "created_by",
                    "created_at", "updated_at"]
    search_columns = ["name", "kind", "format", "enabled"]
    order_columns = ["name", "kind", "format", "enabled", "updated_at"]
    add_columns = edit_columns = report_form.columns()
    label_columns = {"kind": _l("Report"), "cron": _l("Schedule"), "params": _l("Parameters"),
                     "recipients": _l("Recipients"), "created_by": _l("Created by"),
                     "customer": _l("Customer (exports)"), "enabled": _l("Enabled")}
    description_columns = {
        "cron": f"Cron in the shop's time zone: minute hour day month weekday, {EXAMPLES}.",
        "recipients": "E-mail addresses, separated by commas or new lines. The files come attached.",
        "enabled": "Disabled reports keep their runs but are not scheduled.",
    }
    formatters_columns = {
        "kind": _kind_label, "cron": _schedule_label, "enabled": yes_no,
        "format": lambda value: str(FORMAT_LABELS.get(value, value or "")),
        "recipients": lambda value: ", ".join(value or []),
        "params": lambda value: json.dumps(value or {}, sort_keys=True),
        **time_formatters("created_at", "updated_at"),
    }
    base_order = ("name", "asc")

    def __init__(self, *args, **kwargs):
        fields = {
            "kind": SelectField(_l("Report"), choices=[SelectChoice(kind, m.TITLE) for kind, m in CATALOGUE.items()],
                                widget=Select2Widget()),
            **report_form.fields(),
            "params": TextAreaField(_l("Parameters as JSON"), default='{"period": "last_week"}',
                                    description=LazyString(params_help), validators=[_valid_params],
                                    widget=BS3TextAreaFieldWidget()),
            "cron": StringField("Cron", default="0 7 * * 1", validators=[_valid_cron],
                                description=self.description_columns["cron"], widget=BS3TextFieldWidget()),
            "format": SelectField(_l("Format"), choices=[SelectChoice(v, t) for v, t in FORMAT_LABELS.items()],
                                  widget=Select2Widget(), validators=[_valid_format]),
            "recipients": TextAreaField(_l("Recipients"), validators=[_valid_recipients],
                                        widget=BS3TextAreaFieldWidget(),
                                        description=self.description_columns["recipients"]),
        }
        self.add_form_extra_fields = dict(fields)
        self.edit_form_extra_fields = dict(fields)
        super().__init__(*args, **kwargs)

    def prefill_form(self, form, pk):
        super().prefill_form(form, pk)
        item = self.datamodel.get(pk)
        if item is not None:
            form.params.data = json.dumps(item.params or {}, sort_keys=True)
            form.recipients.data = ", ".join(item.recipients or [])
            report_form.prefill(form, item)

    def _fill_form_exclude_cols(self, exclude_cols, form):
        """Before a posted form is checked: its generated parameter and schedule fields become params and cron."""
        super()._fill_form_exclude_cols(exclude_cols, form)
        report_form.compose(form)

    def edit_params(self, item, changes: dict) -> dict:
        """The edit action takes the definition's own fields; the generated ones were composed into them."""
        return {name: value for name, value in changes.items() if name in MODEL_FIELDS}

    def pre_add(self, item):
        super().pre_add(item)
        try:
            with db.session.no_autoflush:
                service.prepare_definition(item, current_actor())
        except ValidationFailed as error:
            db.session.rollback()
            raise ValueError(" ".join(m for messages in error.errors.values() for m in messages)) from error

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        item = get_or_404(self, pk)
        widgets = self._show(item.id)
        runs = list(db.session.scalars(select(ReportRun).where(ReportRun.definition_id == item.id)
                                       .order_by(ReportRun.id.desc()).limit(25)))
        try:
            upcoming, schedule_error = next_runs(item.cron, shop_zone(), utcnow(), 5), None
        except CronError as exc:
            upcoming, schedule_error = [], str(exc)
        return self.render_template(
            self.show_template, pk=item.id, title=self.show_title, widgets=widgets, item=item, runs=runs,
            schedule=describe(item.cron), upcoming=upcoming, schedule_error=schedule_error,
            period=service.preview_bounds(item), scheduler_alive=service.scheduler_alive(),
            may_run=self.appbuilder.sm.has_access("can_edit", PERMISSION)
            and service.TABLE.may(item, "run", current_actor()),
        )

    @expose("/preview", methods=["GET"])
    @has_access
    def preview(self):
        """The schedule read aloud and its next five runs, for the form's live preview (JSON)."""
        cron = request.args.get("cron", "")[:100]
        try:
            upcoming = next_runs(cron, shop_zone(), utcnow(), 5)
        except CronError as exc:
            return jsonify({"error": str(exc)})
        return jsonify({"description": describe(cron), "next": [formatting.datetime(m, "weekday_zone")
                                                                 for m in upcoming]})

    @expose("/run/<int:pk>", methods=["POST"])
    @has_access
    def run_now(self, pk):
        item = get_or_404(self, pk)
        try:
            run = perform(item, "run", current_actor())
        except ServiceError as error:
            flash(error.message, "danger")
        else:
            flash(_("Run %(run)s of %(name)s is queued; the scheduler runs it within seconds.", run=run.id,
                    name=item.name), "success")
            if not service.scheduler_alive():
                flash(_("No scheduler process is running at the moment: it starts when the scheduler does "
                        "(flask --app run scheduler)."), "warning")
        return redirect(url_for(f"{self.endpoint}.show", pk=item.id))


class ReportRunView(StaffModelView):
    datamodel = SQLAInterface(ReportRun)
    class_permission_name = PERMISSION
    base_permissions = READ_ONLY
    method_permission_name = {"file": "show"}
    list_title = "Report runs"
    show_title = "Report run"
    list_columns = ["definition", "status", "trigger", "started_at", "duration_seconds", "row_count", "files"]
    show_columns = ["definition", "status", "trigger", "scheduled_for", "started_at", "finished_at",
                    "duration_seconds", "row_count", "files", "error", "worker"]
    search_columns = ["definition", "status", "trigger", "started_at"]
    order_columns = ["status", "trigger", "started_at", "row_count"]
    label_columns = {"definition": "Report", "row_count": "Rows", "scheduled_for": "Scheduled for",
                     "trigger": "Started by", "duration_seconds": "Duration", "files": "Files", "worker": "Process"}
    search_form_extra_fields = {"status": choice_field("Status", ("queued", "running", "succeeded", "failed"))}
    formatters_columns = {"status": status_badge, **time_formatters("started_at", "finished_at", "scheduled_for")}
    base_order = ("started_at", "desc")

    @expose("/file/<int:pk>/<path:name>", methods=["GET"])
    @has_access
    def file(self, pk, name):
        run = get_or_404(self, pk)
        try:
            path = service.file_path(run, name)
        except NotFound as error:
            flash(error.message, "danger")
            return redirect(url_for("ReportDefinitionView.show", pk=run.definition_id))
        entry = next(f for f in run.files if f["name"] == name)
        return send_file(path, mimetype=entry.get("content_type", "application/octet-stream"), as_attachment=True,
                         download_name=name, max_age=0)


def _duration(seconds) -> str:
    if seconds is None or seconds == "":
        return ""
    seconds = float(seconds)
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


ReportRunView.formatters_columns["duration_seconds"] = _duration
ReportRunView.formatters_columns["files"] = lambda files: ", ".join(f["name"] for f in files or [])


def register(appbuilder, add) -> None:
    add(appbuilder, ReportDefinitionView, "Scheduled reports", category="Reports", icon="fa-calendar",
        category_icon="fa-bar-chart")
    add(appbuilder, ReportRunView, "Report runs", category="Reports", icon="fa-history")

