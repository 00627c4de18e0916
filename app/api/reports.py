"""``/api/v1/report/``: scheduled report definitions, "run now" and their runs' files (managers).

Definitions are checked by the reports package (``app.reports.params.validate_definition`` through
``app.services.reports``): ``kind`` from ``app.reports.CATALOGUE``, ``cron`` a five-field crontab in the
shop's time zone, the format the report comes in, recipients' e-mail addresses and the report's
parameters. ``POST /<id>/run`` queues a run that the scheduler process executes within seconds;
``GET /<id>/runs`` lists runs with a download link per file.
"""
from __future__ import annotations

from flask import send_file
from flask_appbuilder.api import expose, safe
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import ValidationError, fields, validate, validates
from sqlalchemy import select

from ..core.datamodel import PorticoInterface
from ..core.fields import Ref, UTCDateTime
from ..core.scope import current_actor
from ..extensions import db
from ..models import ReportDefinition, ReportRun
from ..reports import CATALOGUE
from ..reports.schedule import trigger_for
from ..services import reports
from ..services.audit import record
from ..services.common import commit
from .base import Action, Listing, PorticoApi
from .common import ApiError, guarded, parse_int
from .openapi import PK, docstring, errors
from .schemas import In, Out, choice, text

FORMATS = ("pdf", "csv", "both")


class ReportOut(Out):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    cron = fields.String()
    format = fields.String()
    recipients = fields.List(fields.String())
    params = fields.Dict()
    enabled = fields.Boolean()
    customer = Ref(attribute="customer_id")
    created_by = Ref(attribute="created_by_id")
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class ReportIn(In):
    name = text(120, required=True)
    kind = fields.String(required=True, validate=validate.Length(min=1, max=40),
                         metadata={"description": "A report of the catalogue (see _info or the manual)."})
    cron = fields.String(required=True, validate=validate.Length(min=1, max=100),
                         metadata={"description": "Five-field crontab in the shop's time zone, e.g. '0 7 * * 1'."})
    format = choice(FORMATS, load_default="pdf")
    recipients = fields.List(fields.Email(), required=True, validate=validate.Length(min=1, max=50))
    params = fields.Dict(keys=fields.String(), load_default=dict,
                         metadata={"description": 'Period and filters, e.g. {"period": "last_week"}.'})
    enabled = fields.Boolean(load_default=True)

    @validates("kind")
    def _kind(self, value, **_):
        if value not in CATALOGUE:
            raise ValidationError(f"Choose a report from the catalogue: {', '.join(sorted(CATALOGUE))}.")

    @validates("cron")
    def _cron(self, value, **_):
        check_cron(value)


class RunFile(Out):
    name = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    url = fields.String(metadata={"description": "Download link (send your token)."})


class ReportRunOut(Out):
    id = fields.Integer()
    status = fields.String()
    trigger = fields.String()
    scheduled_for = UTCDateTime()
    started_at = UTCDateTime()
    finished_at = UTCDateTime()
    row_count = fields.Integer()
    error = fields.String()
    files = fields.List(fields.Nested(RunFile), attribute="links")


def check_cron(value: str) -> None:
    """Five cron fields, in the shop's time zone (the reports package reads Sunday as 0, as cron does)."""
    from ..core.settings import shop_zone

    try:
        trigger_for(value, shop_zone())
    except ValueError as error:
        raise ValidationError(str(error) or "Not a cron expression such as 0 7 * * 1.") from None


class ReportApi(PorticoApi):
    resource_name = "report"
    class_permission_name = "ApiReports"
    openapi_spec_tag = "Reports"
    datamodel = PorticoInterface(ReportDefinition)
    entity = "report"
    service = reports
    schemas = {"staff": ReportOut}
    add_schemas = {"staff": ReportIn}
    edit_schemas = {"staff": reports.DefinitionEdit}
    list_columns = ["id", "name", "kind", "cron", "format", "enabled", "created_at"]
    search = {"staff": ["name", "kind", "format", "enabled"]}
    orders = {"staff": ["id", "name", "kind", "created_at"]}
    unique_fields = ("name",)
    actions = {"run": Action(creates="run_id", summary="Run the report now (the scheduler picks it up)")}
    listings = {"runs": Listing(ReportRunOut, "runs_of", "runs, newest first, with their files")}

    def _unique(self, name, ident=None) -> None:
        clash = db.session.scalar(select(ReportDefinition.id).where(ReportDefinition.name == (name or "").strip(),
                                                                    ReportDefinition.id != (ident or -1)))
        if clash is not None:
            raise ApiError(422, {"name": ["Another report already has this name."]})

    def create(self, actor, data):
        self._unique(data["name"])
        return reports.create_definition(actor, **data)

    def destroy(self, item, actor):
        record(item, "delete", None, None, actor, item.name)
        db.session.delete(item)
        commit("report", item)

    def runs_of(self, item, actor):
        runs = list(db.session.scalars(select(ReportRun).where(ReportRun.definition_id == item.id)
                                       .order_by(ReportRun.id.desc()).limit(100)))
        for run in runs:
            run.links = [{**f, "url": f"/api/v1/report/{item.id}/runs/{run.id}/{f.get('name')}"}
                         for f in (run.files or [])]
        return runs

    @expose("/<pk>/runs/<run_id>/<path:name>", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def run_file(self, pk, run_id, name):
        return self._run_file(pk, run_id, name)

    @guarded
    def _run_file(self, pk, run_id, name):
        from ..core.errors import NotFound

        current_actor()
        definition = self.item_or_404(pk)
        run = db.session.get(ReportRun, parse_int(run_id) or 0)
        if run is None or run.definition_id != definition.id:
            raise ApiError(404, "Not found")
        try:
            path = reports.file_path(run, name)
        except NotFound as error:
            raise ApiError(404, error.message) from None
        mimetype = next((f.get("content_type") for f in run.files or [] if f.get("name") == name), None)
        return send_file(path, mimetype=mimetype or "application/octet-stream", as_attachment=True,
                         download_name=name)


ReportApi.run_file.__doc__ = docstring({"get": {
    "summary": "Download a file of a report run",
    "parameters": [PK, {"in": "path", "name": "run_id", "required": True, "schema": {"type": "integer"}},
                   {"in": "path", "name": "name", "required": True, "schema": {"type": "string"}}],
    "responses": {"200": {"description": "The file", "content": {"application/octet-stream": {
        "schema": {"type": "string", "format": "binary"}}}}, **errors(401, 403, 404, 429)},
}})
