"""Scheduled reports: definitions, runs, their files under ``exports/`` and the e-mail that carries them.

A ``ReportDefinition`` names a report of the catalogue (``app.reports.CATALOGUE``), its parameters (a
period such as ``last_week`` and the report's filters), a cron schedule in the shop's time zone, a format
and recipients. A ``ReportRun`` is one execution: ``queued`` (Run now, or a retry) → ``running`` →
``succeeded`` or ``failed``. Only the scheduler process executes runs (``app.scheduler``); a run it was
executing when it died is marked failed by the scheduler that takes the lease over, which queues one retry
(``attempt`` 2, trigger ``retry``): ``fail_interrupted`` through ``RUN_TABLE``. Files live in
``PORTICO_EXPORT_DIR/reports/<definition>/<run>/`` and are pruned after ``Settings.export_retention_days``.
"""
from __future__ import annotations

import base64
import datetime as dt
import logging
import shutil
import time
from contextlib import nullcontext
from pathlib import Path

from flask import current_app, has_request_context
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from ..core import formatting, languages
from ..core.actors import Actor
from ..core.errors import InvalidTransition, NotFound, ValidationFailed
from ..core.fields import not_blank
from ..core.settings import absolute, get_settings, shop_zone
from ..extensions import db
from ..models import ReportDefinition, ReportRun, SchedulerLease, utcnow
from ..reports import CATALOGUE
from ..reports.params import clean_params, run_bounds, validate_definition  # noqa: F401 (re-exported)
from ..reports.render import render_pdf, write_csv
from . import notify
from .audit import record
from .common import edit_fields
from .params import Unversioned
from .workflow import ANY, CREATE, Action, ActionTable, perform, register  # noqa: F401 (perform: the one door)

log = logging.getLogger(__name__)
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
LEASE_NAME = "scheduler"

# --- definitions ---------------------------------------------------------------------------------------

def prepare_definition(definition: ReportDefinition, actor: Actor) -> ReportDefinition:
    """Validate and normalise a new or edited definition (screens and API alike); ``ValidationFailed``."""
    validate_definition(definition)
    module = CATALOGUE[definition.kind]
    if any(p.name == "customer_id" for p in module.PARAMS) and definition.params.get("customer_id"):
        definition.customer_id = definition.params["customer_id"]
    else:
        definition.customer_id = None
    if definition.id is None and definition.created_by_id is None:
        definition.created_by_id = actor.user_id
    return definition


def create_definition(actor: Actor, **fields) -> ReportDefinition:
    definition = ReportDefinition(**fields)
    prepare_definition(definition, actor)
    db.session.add(definition)
    db.session.flush()
    record(definition, "create", None, None, actor)
    db.session.commit()
    return definition


# --- runs ------------------------------------------------------------------------------------------------

def queue_run(definition: ReportDefinition, actor: Actor) -> ReportRun:
    """Run now: a queued run that the scheduler process picks up within seconds."""
    run = ReportRun(definition_id=definition.id, status="queued", trigger="manual", worker=actor.label[:80])
    db.session.add(run)
    db.session.flush()
    log.info("Report run %s of %r queued by %s", run.id, definition.name, actor.label)
    return run


class DefinitionEdit(Unversioned):
    name = fields.String(validate=[validate.Length(max=120), not_blank])
    kind = fields.String(validate=validate.Length(max=40))
    cron = fields.String(validate=validate.Length(max=100))
    format = fields.String(validate=validate.OneOf(("pdf", "csv", "both")))
    recipients = fields.Raw(metadata={"description": "E-mail addresses: a list, or text with one per line or comma."})
    params = fields.Raw(metadata={"description": 'Period and filters, e.g. {"period": "last_week"} (or as JSON text).'})
    enabled = fields.Boolean()


def edit(definition: ReportDefinition, actor: Actor, **changes) -> ReportDefinition:
    edit_fields(definition, actor, **changes)
    with db.session.no_autoflush:
        clash = db.session.scalar(select(ReportDefinition.id).where(
            ReportDefinition.name == (definition.name or "").strip(), ReportDefinition.id != definition.id))
    if clash is not None:
        raise ValidationFailed({"name": [_l("Another report already has this name.")]})
    return prepare_definition(definition, actor)


def _switch(definition: ReportDefinition) -> str:
    return "enabled" if definition.enabled else "disabled"


#: A report definition's "state" is whether it is enabled: a disabled report keeps its runs but neither
#: runs on its schedule nor on request.
TABLE = register(ReportDefinition, ActionTable("report", [
    Action(("enabled",), "run", ("staff", "system"), None, queue_run, Unversioned),
    Action((ANY,), "edit", ("staff",), None, edit, DefinitionEdit, audited=False),
], state=_switch, known_states=("enabled", "disabled")))


def claim(run_id: int, worker: str) -> bool:
    """Take a queued run (one process wins even if several try)."""
    result = db.session.execute(
        update(ReportRun).where(ReportRun.id == run_id, ReportRun.status == "queued")
        .values(status="running", started_at=utcnow(), worker=worker)
    )
    db.session.commit()
    return result.rowcount == 1


def start_scheduled(definition_id: int, slot: dt.datetime, worker: str) -> ReportRun | None:
    """The run of one scheduled slot, or None when that slot already ran (or is running) elsewhere."""
    run = ReportRun(definition_id=definition_id, status="running", trigger="schedule", scheduled_for=slot,
                    started_at=utcnow(), worker=worker)
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.info("Report %s slot %s already ran: skipped", definition_id, slot)
        return None
    return run


class _Superseded(Exception):
    """The run was taken from this worker meanwhile (its lease ran out and another scheduler interrupted it)."""


def _still_ours(run_id: int, worker: str | None) -> bool:
    """Lock the run's row and check that it is still ``running`` under ``worker`` (see ``execute``)."""
    row = db.session.execute(select(ReportRun.status, ReportRun.worker).where(ReportRun.id == run_id)
                             .with_for_update()).first()
    return row is not None and row.status == "running" and row.worker == worker


def execute(run: ReportRun) -> ReportRun:
    """Run a claimed (``running``) run: report, files, e-mail. Never raises: a failure is recorded.

    A run that another scheduler marked interrupted meanwhile (this process lost its lease while the report
    ran) is left as that one recorded it: no result, no file, no mail (its retry gives them)."""
    run_id, started, worker = run.id, time.monotonic(), run.worker
    definition = run.definition
    directory = run_path(run)
    try:
        module = CATALOGUE.get(definition.kind)
        if module is None:
            raise ValidationFailed({"kind": [f"There is no report {definition.kind!r} in the catalogue."]})
        zone = shop_zone()
        reference = run.scheduled_for or run.started_at or utcnow()
        start, end, label, filters = run_bounds(definition, zone, reference)
        directory.mkdir(parents=True, exist_ok=True)
        extra = {"output_dir": directory} if getattr(module, "WRITES_FILES", False) else {}
        # The scheduler's runs speak the shop's default language (their files are kept for every reader and
        # mailed to addresses); "Run now" the language of whoever pressed it.
        with nullcontext() if has_request_context() else force_locale(languages.shop_default()):
            result = module.run(db.session, start, end, zone=zone, now=utcnow(), **extra, **filters)
            run.files = _write_outputs(result, definition, directory, label, reference, zone)
            run.row_count = result.row_count
            _email(definition, run, result, label, directory)
        if not _still_ours(run_id, worker):
            raise _Superseded
        run.status, run.finished_at, run.error = "succeeded", utcnow(), None
        db.session.commit()
        log.info("Report run %s (%s, %s) succeeded in %.1f s: %s rows, %s file(s)", run_id, definition.name, label,
                 time.monotonic() - started, run.row_count, len(run.files or []))
    except _Superseded:
        db.session.rollback()
        shutil.rmtree(directory, ignore_errors=True)
        log.warning("Report run %s (%s) was interrupted by another scheduler while it ran: its result dropped",
                    run_id, definition.name)
        run = db.session.get(ReportRun, run_id, populate_existing=True)
    except Exception as exc:  # noqa: BLE001 - a report must never take the scheduler down
        db.session.rollback()
        log.exception("Report run %s (%s) failed", run_id, definition.name)
        shutil.rmtree(directory, ignore_errors=True)
        if not _still_ours(run_id, worker):
            db.session.rollback()
            return db.session.get(ReportRun, run_id, populate_existing=True)
        run = db.session.get(ReportRun, run_id)
        run.status, run.finished_at = "failed", utcnow()
        run.error = (exc.message if isinstance(exc, ValidationFailed) else f"{type(exc).__name__}: {exc}")[:4000]
        run.files, run.row_count = None, None
        db.session.commit()
    return run


#: How many times one report run is tried: a run interrupted by a dead scheduler is retried once.
MAX_ATTEMPTS = 2


def _interrupt(run: ReportRun, actor: Actor) -> ReportRun | None:
    """The effect of ``interrupt``: the run failed (in words), its partial files gone, one retry queued."""
    retry = None
    if (run.attempt or 1) < MAX_ATTEMPTS and run.definition.enabled:
        retry = ReportRun(definition_id=run.definition_id, status="queued", trigger="retry",
                          scheduled_for=run.scheduled_for, attempt=(run.attempt or 1) + 1, worker=actor.label[:80])
        db.session.add(retry)
        db.session.flush()
        RUN_TABLE.enter(retry, "retry", actor, f"retry of run {run.id}")
        then = f"It is tried once more (run {retry.id})."
    elif (run.attempt or 1) >= MAX_ATTEMPTS:
        then = "It was already a retry: it is not tried again. Run it again with Run now."
    else:
        then = "The report is disabled: it is not tried again."
    run.finished_at = utcnow()
    run.error = (f"Interrupted: the scheduler process ({run.worker or 'unknown'}) stopped during this run. "
                 f"{then} Its next scheduled run goes ahead as usual.")
    run.files, run.row_count = None, None
    return retry


#: A report run's states: queued (Run now, or a retry) → running → succeeded or failed. The scheduler
#: taking over the lease takes ``interrupt`` on the runs a dead scheduler left running (audited, one retry).
RUN_TABLE = register(ReportRun, ActionTable("report_run", [
    Action((CREATE,), "retry", ("system",), "queued"),
    Action(("running",), "interrupt", ("system",), "failed", _interrupt, Unversioned),
], known_states=("succeeded",)))


def fail_interrupted(worker: str) -> int:
    """Runs still ``running`` under another worker died with it: ``interrupt`` each (called on taking the lease).

    Only the lease holder runs reports, so a run left ``running`` by another worker is one whose scheduler
    stopped (its lease ran out or was released). Queued, finished and this worker's own runs are not touched."""
    actor = Actor.system_actor(f"scheduler {worker}"[:80])
    ids = list(db.session.scalars(select(ReportRun.id).where(
        ReportRun.status == "running", or_(ReportRun.worker.is_(None), ReportRun.worker != worker))
        .order_by(ReportRun.id)))
    interrupted = 0
    for run_id in ids:
        # Locked and read afresh: a run that its scheduler finished meanwhile is refused (409) and left alone.
        run = db.session.get(ReportRun, run_id, with_for_update=True, populate_existing=True)
        previous = run.worker
        try:
            retry = perform(run, "interrupt", actor)
        except InvalidTransition:
            continue
        interrupted += 1
        shutil.rmtree(run_path(run), ignore_errors=True)  # after the commit: a partial file of a failed run
        log.warning("Report run %s of %s was interrupted by the end of %s: marked failed%s", run_id,
                    run.definition_id, previous, f", retried as run {retry.id}" if retry else ", not retried")
    return interrupted


def queued_ids(limit: int = 20) -> list[int]:
    return list(db.session.scalars(select(ReportRun.id).where(ReportRun.status == "queued")
                                   .order_by(ReportRun.id).limit(limit)))


# --- files -------------------------------------------------------------------------------------------------

def export_root() -> Path:
    return Path(current_app.config["PORTICO_EXPORT_DIR"]).resolve()


def run_path(run: ReportRun) -> Path:
    return export_root() / "reports" / str(run.definition_id) / str(run.id)


def file_path(run: ReportRun, name: str) -> Path:
    """The file ``name`` of ``run`` if the run lists it and it is on disk; ``NotFound`` otherwise."""
    if not any(f.get("name") == name for f in run.files or []):
        raise NotFound(_l("No such file in this run"))
    path = (run_path(run) / name).resolve()
    if not path.is_relative_to(run_path(run)) or not path.is_file():
        raise NotFound(_l("The file is no longer kept (see the retention setting)"))
    return path


def _slug(text: str) -> str:
    keep = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    return "-".join(part for part in keep.split("-") if part)[:50] or "report"


def _write_outputs(result, definition, directory: Path, label: str, reference: dt.datetime, zone) -> list[dict]:
    files = [{"name": f["name"], "content_type": f["content_type"]} for f in result.files]
    stem = f"{_slug(definition.name)}-{reference.replace(tzinfo=dt.UTC).astimezone(zone):%Y%m%d-%H%M}"
    if definition.format in ("pdf", "both") and not result.files:
        now = dt.datetime.now(zone)
        generated = f"{formatting.datetime(now)} {now:%Z}"  # in the reader's language, the zone's abbreviation
        pdf = render_pdf(result, name=definition.name, period=label, generated=generated,
                         shop=get_settings().shop_name)
        (directory / f"{stem}.pdf").write_bytes(pdf)
        files.append({"name": f"{stem}.pdf", "content_type": "application/pdf"})
    if definition.format in ("csv", "both") and not result.files:
        for table in result.tables:
            name = f"{stem}-{table.slug or _slug(table.title)}.csv"
            write_csv(table, directory / name)
            files.append({"name": name, "content_type": "text/csv"})
    for entry in files:
        entry["size"] = (directory / entry["name"]).stat().st_size
    return files


def _email(definition: ReportDefinition, run: ReportRun, result, label: str, directory: Path) -> None:
    module = CATALOGUE[definition.kind]
    staff = list(dict.fromkeys(definition.recipients or []))
    customers = []
    if getattr(module, "EMAILS_CUSTOMER", False) and definition.customer is not None:
        customers = [a for a in notify.customer_addresses(definition.customer) if a not in staff]
    if not staff and not customers:
        return
    total = sum(f["size"] for f in run.files or [])
    attachments = None
    if total <= MAX_ATTACHMENT_BYTES:
        attachments = [{"filename": f["name"], "content_type": f["content_type"],
                        "data": base64.b64encode((directory / f["name"]).read_bytes()).decode("ascii")}
                       for f in run.files or []]
    shop = get_settings().shop_name
    figures = "\n".join(f"  {name}: {value}" for name, value in result.summary)
    body = f"{result.title}\n{label}\n\n{figures}\n\n"
    body += (_("Attached: %(files)s", files=", ".join(f["name"] for f in run.files or [])) if attachments
             else _("The files are too large to attach.")) + "\n"
    for address in staff:
        link = absolute(f"/reportdefinitionview/show/{definition.id}")
        notify.queue_email(address, f"{shop}: {definition.name} ({label})",
                           body + "\n" + _("All runs: %(link)s", link=link) + "\n",
                           event="report.run", attachments=attachments)
    for address in customers:
        notify.queue_email(address, f"{shop}: {result.title} ({label})", body, event="report.export",
                           attachments=attachments)


def prune(now: dt.datetime | None = None) -> dict:
    """Delete runs (and their files) older than the retention setting, and stray folders of deleted runs."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=max(int(get_settings().export_retention_days or 0), 1))
    old = list(db.session.scalars(select(ReportRun).where(
        ReportRun.status.in_(("succeeded", "failed")),
        or_(ReportRun.finished_at < cutoff, ReportRun.finished_at.is_(None) & (ReportRun.started_at < cutoff)))))
    for run in old:
        shutil.rmtree(run_path(run), ignore_errors=True)
        db.session.delete(run)
    db.session.commit()
    stray = 0
    root = export_root() / "reports"
    if root.is_dir():
        known = {(d, r) for d, r in db.session.execute(select(ReportRun.definition_id, ReportRun.id))}
        for folder in root.glob("*/*"):
            if not (folder.is_dir() and folder.parent.name.isdecimal() and folder.name.isdecimal()):
                continue
            modified = dt.datetime.fromtimestamp(folder.stat().st_mtime, dt.UTC).replace(tzinfo=None)
            if (int(folder.parent.name), int(folder.name)) not in known and modified < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                stray += 1
    log.info("Pruned %s report run(s) and %s stray folder(s) older than %s", len(old), stray, cutoff)
    return {"runs": len(old), "folders": stray}


def scheduler_alive(now: dt.datetime | None = None) -> bool:
    lease = db.session.get(SchedulerLease, LEASE_NAME)
    return lease is not None and lease.expires_at > (now or utcnow())


def preview_bounds(definition: ReportDefinition, now: dt.datetime | None = None) -> str:
    """The period a run now would cover, e.g. for the show page."""
    try:
        return run_bounds(definition, shop_zone(), now or utcnow())[2]
    except ValidationFailed:
        return ""

