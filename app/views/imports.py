"""Customers → Import (``ImportView``, Advisor and up): upload a CSV or XLSX file, map its columns, check it
(dry run), import it, see the result, undo it. Every step is a row of ``services.imports.TABLE`` taken through
``perform``; this view parses the form, calls it, and renders what it returns or raises.

A file of more than ``imports.INLINE_ROWS`` rows is imported by the scheduler process; its page shows a
progress bar that polls ``/imports/<id>/status``.
"""
from __future__ import annotations

import csv
import io

from flask import Response, abort, flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..core.errors import ServiceError, ValidationFailed
from ..core.scope import current_actor
from ..documents.csv_export import FORMULA_START
from ..extensions import db
from ..models import Customer, ImportBatch, ImportRow, ImportTemplate
from ..services import import_files, imports
from .customers import PERMISSION

ROWS_SHOWN = 500
ACTION_LABELS = {"dry_run": _l("Check (dry run)"), "run": _l("Import"), "undo": _l("Undo import"),
                 "archive": _l("Archive")}
STATUSES = {"uploaded": _l("Uploaded"), "checked": _l("Checked"), "queued": _l("Queued"), "running": _l("Running"),
            "imported": _l("Imported"), "failed": _l("Failed"), "undone": _l("Undone"), "archived": _l("Archived")}
OUTCOMES = {"created": _l("created"), "updated": _l("updated"), "skipped": _l("skipped"), "error": _l("error")}


def _batch(pk: int) -> ImportBatch:
    batch = db.session.get(ImportBatch, pk)
    if batch is None:
        abort(404)
    return batch


def _rows(batch: ImportBatch, phase: str, limit: int | None = ROWS_SHOWN):
    stmt = (select(ImportRow).where(ImportRow.batch_id == batch.id, ImportRow.phase == phase)
            .order_by(ImportRow.row_number, ImportRow.id))
    return db.session.scalars(stmt.limit(limit) if limit else stmt.execution_options(yield_per=1000))


def status_of(batch: ImportBatch) -> dict:
    total = batch.total_rows or 0
    return {"id": batch.id, "status": batch.status, "total": total, "processed": batch.processed_rows,
            "percent": int(100 * batch.processed_rows / total) if total else 0,
            "created": batch.created_count, "updated": batch.updated_count, "skipped": batch.skipped_count,
            "error": batch.error}


class ImportView(BaseView):
    route_base = "/imports"
    class_permission_name = PERMISSION
    method_permission_name = {"list": "list", "upload": "add", "show": "show", "act": "edit", "status": "show",
                              "rows_csv": "show"}
    default_view = "list"

    def _list(self, errors=None, status=200):
        batches = db.session.scalars(select(ImportBatch).where(ImportBatch.status != "archived")
                                     .order_by(ImportBatch.id.desc()).limit(50))
        return self.render_template("staff/imports_list.html", batches=list(batches), errors=errors or {},
                                    statuses=STATUSES,
                                    max_mb=import_files.max_bytes() // 1024 // 1024), status

    @expose("/")
    @has_access
    def list(self):
        return self._list()

    @expose("/upload", methods=["POST"])
    @has_access
    def upload(self):
        try:
            batch = imports.upload(current_actor(), request.files.get("file"), request.form.get("kind", ""))
        except ValidationFailed as error:
            return self._list(error.errors, error.status_code)
        flash(_("%(name)s: %(rows)s rows read. Check the columns below, then run the check.",
                name=batch.filename, rows=batch.total_rows), "success")
        return redirect(url_for("ImportView.show", pk=batch.id))

    def _page(self, batch: ImportBatch, errors=None, status=200):
        actor = current_actor()
        fields = imports.FIELDS[batch.kind]
        check_rows = list(_rows(batch, "check")) if batch.status == "checked" else []
        run_rows = list(_rows(batch, "run")) if batch.status in ("imported", "failed", "undone") else []
        ids = {r.customer_id for r in run_rows if r.customer_id}
        names = {}
        if ids and batch.status != "undone":
            names = {cid: name for cid, name in db.session.execute(
                select(Customer.id, Customer.name).where(Customer.id.in_(ids))).all()}
        templates = db.session.scalars(select(ImportTemplate).where(ImportTemplate.kind == batch.kind)
                                       .order_by(ImportTemplate.name))
        return self.render_template(
            "staff/imports_show.html", batch=batch, fields=fields, errors=errors or {}, check_rows=check_rows,
            run_rows=run_rows, templates=list(templates), shown=ROWS_SHOWN, status=status_of(batch),
            allowed=imports.TABLE.allowed_actions(batch.status, actor, batch), labels=ACTION_LABELS, outcomes=OUTCOMES,
            statuses=STATUSES, names=names,
            headers=[h for h in batch.headers if h]), status

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        return self._page(_batch(pk))

    @expose("/<int:pk>/status")
    @has_access
    def status(self, pk):
        return jsonify(status_of(_batch(pk)))

    def _params(self, action: str, kind: str) -> dict:
        form = request.form
        params = {"version": form["version"]} if form.get("version") else {}  # a stale page is refused (409)
        if action == "map" and form.get("template"):
            params.update(mapping={}, template=form.get("template"))
        elif action == "map":
            params["mapping"] = {f: form.get(f"map.{f}", "") for f in imports.FIELDS[kind]}
        elif action == "save_template":
            params["name"] = form.get("name", "")
        return params

    @expose("/<int:pk>/<action>", methods=["POST"])
    @has_access
    def act(self, pk, action):
        batch = _batch(pk)
        if action not in imports.TABLE.actions or action == "upload":
            abort(404)
        try:
            imports.TABLE.perform(batch, action, current_actor(), self._params(action, batch.kind))
        except ValidationFailed as error:
            db.session.refresh(batch)
            return self._page(batch, error.errors, error.status_code)
        except ServiceError as error:
            flash(error.message, "danger")
            return redirect(url_for("ImportView.show", pk=pk))
        if action == "run" and batch.total_rows <= imports.INLINE_ROWS:
            imports.process(batch.id)
        messages = {"map": _("Columns saved: run the check."), "save_template": _("Template saved."),
                    "dry_run": _("Checked: see the rows with errors below."),
                    "run": _("Import started."), "undo": _("The import was undone."),
                    "archive": _("Import archived.")}
        flash(messages[action], "success")
        if action == "archive":
            return redirect(url_for("ImportView.list"))
        return redirect(url_for("ImportView.show", pk=pk))

    @expose("/<int:pk>/rows.csv")
    @has_access
    def rows_csv(self, pk):
        """The dry run's errors (``?phase=check``) or the import's outcome per row (``phase=run``), one line
        per row and field, cells that could start a formula escaped."""
        batch = _batch(pk)
        phase = "run" if request.args.get("phase") == "run" else "check"

        def lines():
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(["row", "outcome", "field", "column", "message"])
            for row in _rows(batch, phase, None):
                for field, messages in (row.errors or {"": [""]}).items():
                    for message in messages:
                        writer.writerow([row.row_number, row.outcome, field, batch.mapping.get(field, ""),
                                         _escape(message)])
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()

        name = f"{batch.display_number}-{'errors' if phase == 'check' else 'result'}.csv"
        return Response(lines(), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _escape(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def register(appbuilder, add) -> None:
    add(appbuilder, ImportView, "Import", category="Customers", icon="fa-upload")
