"""Importing customers (with contact details and an address) and units from CSV and Excel files.

An ``ImportBatch`` is one uploaded file, kept as uploaded under ``<upload dir>/imports/`` so that the
mapping can be changed and checked again without uploading it again. Its table:

    upload (— → uploaded) → map (→ uploaded) → dry_run (→ checked) → run (→ queued) → imported / failed
    → undo (→ undone); archive from any state but queued and running; save_template anywhere.

The **mapping** says which column holds which field; it is guessed from the headers in English and German
(``import_rows.guess_mapping``) and can be saved as a named ``ImportTemplate``. A **dry run** checks every
row (``import_rows``) with the rules the customer and unit screens use (``customers._address_values`` and
``_unit_values``: IMEI check digit, VIN, year, lengths) plus e-mail syntax, known countries, required fields
and e-mail addresses used twice in the file or by another customer; it records each bad row's errors per
field (``ImportRow``, phase ``check``). **run** queues the batch; ``process`` (inline for small files, the
scheduler process for large ones) imports the valid rows in one transaction per ``CHUNK`` rows, recording
each row's outcome (created / updated / skipped with its reasons), and the counts the progress bar polls.

Re-importing the same file **updates**: a customer is matched by its external reference, else by e-mail; a
unit by its external reference, VIN, IMEI or serial number within its customer (found by the customer's
external reference or e-mail). Empty cells leave a field as it is. **undo** deletes what the import created
and puts back what it changed, in one transaction, unless something else names those rows (then 409, naming
them). Every action is audited on the batch.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import insert, select, update

from ..core.actors import Actor
from ..core.errors import NotFound, ValidationFailed
from ..core.fields import not_blank
from ..extensions import db
from ..models import ImportBatch, ImportRow, ImportTemplate, utcnow
from . import import_files
from .audit import record
from .import_rows import CUSTOMER_FIELDS, FIELDS, PLANS, UNIT_FIELDS, Seen, guess_mapping  # noqa: F401
from .params import Params
from .workflow import CREATE, Action, ActionTable, register

CHUNK = 500
#: Files up to this many rows are imported while the user waits; larger ones by the scheduler process.
INLINE_ROWS = 2000
#: A running batch with no committed chunk for this long has lost its process (a chunk takes seconds).
STALLED_MINUTES = 10



# --- files -----------------------------------------------------------------------------------------------------

def import_dir() -> Path:
    return Path(current_app.config["PORTICO_UPLOAD_DIR"]) / "imports"


def batch_path(batch: ImportBatch) -> Path:
    if not re.fullmatch(r"[0-9a-f]{32}\.(csv|xlsx)", batch.stored_name or ""):
        raise NotFound()
    return import_dir() / batch.stored_name


def chunks(batch: ImportBatch, size: int = CHUNK):
    return import_files.open_table(batch_path(batch), batch.file_format, batch.encoding, batch.delimiter, size)[1]


def upload(actor: Actor, file_storage, kind: str) -> ImportBatch:
    """Keep the uploaded file, read its headers and rows once, guess the mapping (``upload`` row)."""
    if kind not in FIELDS:
        raise ValidationFailed({"kind": [_l("Choose customers or units.")]})
    filename, data = import_files.read_upload(file_storage)
    file_format = import_files.sniff_format(filename, data[:4096])
    path = import_dir() / f"{secrets.token_hex(16)}.{file_format}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    try:
        info = import_files.inspect_file(path, file_format)
    except Exception:
        path.unlink(missing_ok=True)
        raise
    batch = ImportBatch(kind=kind, filename=Path(filename).name[:200] or "upload", stored_name=path.name,
                        file_format=file_format, size=len(data), created_by_id=actor.user_id, **info)
    batch.mapping = guess_mapping(kind, info["headers"])
    try:
        db.session.add(batch)
        TABLE.enter(batch, "upload", actor, f"{batch.filename}, {batch.total_rows} rows")
        db.session.commit()
    except Exception:
        db.session.rollback()
        path.unlink(missing_ok=True)
        raise
    return batch


# --- the batch's actions -------------------------------------------------------------------------------------

class MappingParams(Params):
    mapping = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True), required=True,
                          metadata={"description": "field -> column header ('' for not imported)"})
    template = fields.Integer(allow_none=True, metadata={"description": "apply this saved template instead"})


class TemplateParams(Params):
    name = fields.String(required=True, validate=[validate.Length(max=120), not_blank])


def set_mapping(batch: ImportBatch, actor: Actor, mapping=None, template=None) -> ImportBatch:
    if template:
        saved = db.session.get(ImportTemplate, template)
        if saved is None or saved.kind != batch.kind:
            raise ValidationFailed({"template": [_l("Choose one of the saved templates for this kind of file.")]})
        mapping = saved.mapping
    known, headers = FIELDS[batch.kind], set(batch.headers)
    errors = {}
    chosen, used = {}, {}
    for field, header in (mapping or {}).items():
        if not header:
            continue
        if field not in known:
            errors[field] = [_l("Unknown field.")]
        elif header not in headers:
            errors[field] = [_l("There is no column %(name)s in this file.", name=str(header)[:80])]
        elif header in used:
            errors[field] = [_l("Column %(name)s is already used for another field.", name=header)]
        else:
            chosen[field], used[header] = header, field
    if errors:
        raise ValidationFailed(errors)
    batch.mapping = chosen
    batch.valid_rows = batch.error_rows = None
    return batch


def save_template(batch: ImportBatch, actor: Actor, name: str) -> ImportTemplate:
    name = name.strip()
    saved = db.session.scalar(select(ImportTemplate).where(ImportTemplate.name == name))
    if saved is not None and saved.kind != batch.kind:
        raise ValidationFailed({"name": [_l("A template for the other kind of file already has this name.")]})
    if saved is None:
        saved = ImportTemplate(name=name, kind=batch.kind)
        db.session.add(saved)
    saved.mapping = dict(batch.mapping)
    return saved


def _required(batch: ImportBatch) -> None:
    mapping = batch.mapping
    if batch.kind == "customers" and not ({"company", "name", "first_name", "last_name"} & set(mapping)):
        raise ValidationFailed({"mapping": [_l("Map a column to the name (company, name or first and last name).")]})
    if batch.kind == "units" and not ({"customer_ref", "customer_email"} & set(mapping)):
        raise ValidationFailed({"mapping": [_l("Map a column to the customer's external reference or e-mail.")]})


def dry_run(batch: ImportBatch, actor: Actor) -> ImportBatch:
    """Check every row; keep the errors of the bad ones (``ImportRow`` phase check)."""
    _required(batch)
    db.session.execute(ImportRow.__table__.delete().where(ImportRow.batch_id == batch.id, ImportRow.phase == "check"))
    seen, valid, bad = Seen(), 0, 0
    for chunk in chunks(batch):
        rows = []
        for item in PLANS[batch.kind](chunk, batch.mapping, seen):
            if item["errors"]:
                bad += 1
                rows.append({"batch_id": batch.id, "phase": "check", "row_number": item["row"], "outcome": "error",
                             "errors": item["errors"]})
            else:
                valid += 1
        if rows:
            db.session.execute(insert(ImportRow), rows)
    batch.valid_rows, batch.error_rows = valid, bad
    return batch


def queue(batch: ImportBatch, actor: Actor) -> ImportBatch:
    """Queued for ``process`` (offered only when the dry run found valid rows)."""
    batch.processed_rows = batch.created_count = batch.updated_count = batch.skipped_count = 0
    batch.error = None
    return batch


def archive(batch: ImportBatch, actor: Actor) -> ImportBatch:
    return batch


def undo(batch: ImportBatch, actor: Actor) -> ImportBatch:
    from .import_undo import undo_batch

    undo_batch(batch, actor)
    return batch


TABLE = register(ImportBatch, ActionTable("import", [
    Action((CREATE,), "upload", ("staff",), "uploaded"),
    Action(("uploaded", "checked"), "map", ("staff",), "uploaded", set_mapping, MappingParams),
    Action(("uploaded", "checked"), "dry_run", ("staff",), "checked", dry_run, Params),
    Action(("checked",), "run", ("staff",), "queued", queue, Params, guard=lambda b: bool(b.valid_rows)),
    Action(("uploaded", "checked", "imported", "failed", "undone"), "save_template", ("staff",), None,
           save_template, TemplateParams),
    Action(("imported", "failed"), "undo", ("staff",), "undone", undo, Params),
    Action(("uploaded", "checked", "imported", "failed", "undone"), "archive", ("staff",), "archived", archive,
           Params),
]))


# --- the import itself (inline or in the scheduler process) ----------------------------------------------------

def claim(batch_id: int) -> bool:
    """Take a queued batch (one process wins)."""
    taken = db.session.execute(update(ImportBatch).where(ImportBatch.id == batch_id, ImportBatch.status == "queued")
                               .values(status="running", started_at=utcnow(), version=ImportBatch.version + 1))
    db.session.commit()
    return taken.rowcount == 1


def fail_stalled(now=None) -> int:
    """Batches ``running`` without a committed chunk for ``STALLED_MINUTES`` died with their process: failed
    (what their committed chunks imported stays, and undo takes it back)."""
    cutoff = (now or utcnow()) - dt.timedelta(minutes=STALLED_MINUTES)
    stalled = list(db.session.scalars(select(ImportBatch).where(ImportBatch.status == "running",
                                                                ImportBatch.updated_at < cutoff)))
    for batch in stalled:
        batch.status, batch.finished_at = "failed", utcnow()
        batch.error = (f"Interrupted after {batch.processed_rows} rows: the process importing it stopped. "
                       "Undo it, then upload the file again.")
        record(batch, "failed", "running", "failed", Actor.system_actor(), batch.error)
    db.session.commit()
    return len(stalled)


def queued_ids(limit: int = 5) -> list[int]:
    """Batches waiting for the scheduler process (stalled ones are marked failed first)."""
    fail_stalled()
    return list(db.session.scalars(select(ImportBatch.id).where(ImportBatch.status == "queued")
                                   .order_by(ImportBatch.id).limit(limit)))


def process(batch_id: int) -> ImportBatch | None:
    """Import a queued batch: one transaction per chunk; a failure marks it failed (committed chunks stay,
    and undo takes them back). Returns the batch, or None when another process took it."""
    from .import_apply import apply_chunk

    if not claim(batch_id):
        return None
    batch = db.session.get(ImportBatch, batch_id)
    db.session.refresh(batch)
    actor = Actor.system_actor(f"import {batch.display_number}")
    seen = Seen()
    try:
        for chunk in chunks(batch):
            counts = apply_chunk(batch, PLANS[batch.kind](chunk, batch.mapping, seen))
            batch.processed_rows += len(chunk)
            batch.created_count += counts["created"]
            batch.updated_count += counts["updated"]
            batch.skipped_count += counts["skipped"]
            db.session.commit()
        batch.status, batch.finished_at = "imported", utcnow()
        record(batch, "imported", "running", "imported", actor,
               f"{batch.created_count} created, {batch.updated_count} updated, {batch.skipped_count} skipped")
        db.session.commit()
    except Exception as exc:  # noqa: BLE001 - a bad file or a database error must not take the caller down
        db.session.rollback()
        current_app.logger.exception("Import %s failed", batch_id)
        batch = db.session.get(ImportBatch, batch_id)
        batch.status, batch.finished_at = "failed", utcnow()
        batch.error = (exc.message if isinstance(exc, ValidationFailed) else type(exc).__name__)[:4000]
        record(batch, "failed", "running", "failed", actor, batch.error)
        db.session.commit()
    return batch
