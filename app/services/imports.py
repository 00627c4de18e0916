"""Importing customers (with contact details and an address) and units from CSV and Excel files.

An ``ImportBatch`` is one uploaded file, kept as uploaded under ``<upload dir>/imports/`` so that the
mapping can be changed and checked again without uploading it again. Its table:

    upload (— → uploaded) → map (→ uploaded) → dry_run (→ checked) → run (→ queued) → imported / failed
    → undo (→ undone); archive from any state but queued and running; save_template anywhere.

The **mapping** says which column holds which field; it is guessed from the headers in English and German
(``guess_mapping``) and can be saved as a named ``ImportTemplate``. A **dry run** checks every row with the
rules the customer and unit screens use (``customers._address_values`` and ``_unit_values``: IMEI check
digit, VIN, year, lengths) plus e-mail syntax, known countries, required fields and e-mail addresses used
twice in the file or by another customer; it records each bad row's errors per field (``ImportRow``,
phase ``check``). **run** queues the batch; ``process`` (inline for small files, the scheduler process for
large ones) imports the valid rows in one transaction per ``CHUNK`` rows, recording each row's outcome
(created / updated / skipped with its reasons), and the counts the progress bar polls.

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
import unicodedata
from functools import cache
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import func, insert, select, update

from ..core.actors import Actor
from ..core.errors import NotFound, ValidationFailed
from ..core.fields import not_blank
from ..extensions import db
from ..models import CUSTOMER_KINDS, UNIT_KINDS, Customer, ImportBatch, ImportRow, ImportTemplate, Unit, utcnow
from . import customers, import_files, units
from .audit import record
from .params import Params
from .workflow import CREATE, Action, ActionTable, register

CHUNK = 500
#: Files up to this many rows are imported while the user waits; larger ones by the scheduler process.
INLINE_ROWS = 2000
#: A running batch with no committed chunk for this long has lost its process (a chunk takes seconds).
STALLED_MINUTES = 10

#: field -> (label, header names it is guessed from; compared without case, spaces, dashes and umlauts).
CUSTOMER_FIELDS = {
    "external_ref": (_l("External reference"), ("external reference", "reference", "ref", "customer number",
                                                  "customer no", "kundennummer", "kundennr", "kunden nr", "kd nr",
                                                  "nummer", "nr", "no")),
    "company": (_l("Company"), ("company", "company name", "firma", "firmenname", "organisation", "organization")),
    "name": (_l("Name"), ("name", "customer", "customer name", "full name", "kunde", "kundenname")),
    "first_name": (_l("First name"), ("first name", "given name", "vorname")),
    "last_name": (_l("Last name"), ("last name", "surname", "family name", "nachname", "familienname")),
    "kind": (_l("Kind"), ("kind", "type", "customer type", "kundentyp", "art")),
    "email": (_l("E-mail"), ("email", "e mail", "email address", "mail", "e mail adresse", "emailadresse")),
    "phone": (_l("Phone"), ("phone", "phone number", "telephone", "mobile", "telefon", "telefonnummer", "tel",
                            "handy", "mobil")),
    "tax_id": (_l("Tax ID"), ("tax id", "vat id", "vat number", "ust idnr", "ustid", "ust id", "steuernummer")),
    "language": (_l("Language"), ("language", "sprache")),
    "line1": (_l("Street"), ("street", "address", "address line 1", "street and number", "strasse", "straße",
                             "adresse", "anschrift", "strasse und hausnummer")),
    "line2": (_l("Address line 2"), ("address line 2", "line 2", "adresszusatz", "zusatz")),
    "postal_code": (_l("Postal code"), ("postal code", "postcode", "zip", "zip code", "plz", "postleitzahl")),
    "city": (_l("City"), ("city", "town", "ort", "stadt", "wohnort")),
    "state": (_l("State"), ("state", "region", "county", "bundesland")),
    "country": (_l("Country"), ("country", "country code", "land", "laendercode", "landercode", "staat")),
    "notes": (_l("Notes"), ("notes", "note", "comment", "bemerkung", "bemerkungen", "notiz", "notizen")),
}
UNIT_FIELDS = {
    "customer_ref": (_l("Customer's external reference"), ("customer number", "customer no", "customer ref",
                                                          "customer reference", "kundennummer", "kundennr",
                                                          "kunden nr")),
    "customer_email": (_l("Customer's e-mail"), ("customer email", "customer e mail", "email", "e mail",
                                                 "kunden e mail", "kunden email")),
    "external_ref": (_l("External reference"), ("external reference", "unit reference", "asset id", "asset number",
                                                  "inventarnummer", "geraetenummer", "geratenummer")),
    "kind": (_l("Kind"), ("kind", "type", "unit type", "art", "typ")),
    "unit_number": (_l("Plate / unit number"), ("plate", "licence plate", "license plate", "registration",
                                                "unit number", "fleet number", "kennzeichen", "amtliches kennzeichen")),
    "make": (_l("Make"), ("make", "manufacturer", "brand", "hersteller", "marke", "fabrikat")),
    "model": (_l("Model"), ("model", "modell", "typbezeichnung")),
    "serial_number": (_l("Serial number"), ("serial", "serial number", "serial no", "sn", "s n", "seriennummer",
                                            "seriennr")),
    "imei": (_l("IMEI"), ("imei", "imei number", "imei nummer")),
    "vin": (_l("VIN"), ("vin", "fin", "vehicle identification number", "fahrgestellnummer", "fahrzeug ident nummer",
                        "chassis number")),
    "year": (_l("Year"), ("year", "model year", "baujahr", "jahr", "modelljahr")),
    "notes": (_l("Notes"), ("notes", "note", "comment", "bemerkung", "bemerkungen", "notiz", "notizen")),
}
FIELDS = {"customers": CUSTOMER_FIELDS, "units": UNIT_FIELDS}
KIND_WORDS = {"privat": "individual", "private": "individual", "person": "individual", "firma": "business",
              "company": "business", "gewerbe": "business", "geschaeftskunde": "business", "handler": "reseller",
              "haendler": "reseller", "wiederverkaeufer": "reseller", "fahrzeug": "vehicle", "geraet": "device",
              "anlage": "equipment", "maschine": "equipment"}


def _key(text: str) -> str:
    """A header as compared: lower case, umlauts folded, ß as ss, punctuation as spaces."""
    text = (text or "").strip().lower().replace("ß", "ss")
    text = text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def guess_mapping(kind: str, headers: list[str]) -> dict[str, str]:
    """field -> header for every field whose name or a synonym is a header (each header used once)."""
    by_key = {_key(h): h for h in headers if h}
    mapping, used = {}, set()
    for field, (_label, names) in FIELDS[kind].items():
        for name in (field.replace("_", " "), *names):
            header = by_key.get(_key(name))
            if header and header not in used:
                mapping[field] = header
                used.add(header)
                break
    return mapping


@cache
def _countries() -> dict[str, str]:
    """Known countries: ISO code, English and German names (folded) -> ISO code."""
    from babel import Locale

    known: dict[str, str] = {}
    for language in ("en", "de"):
        for code, name in Locale.parse(language).territories.items():
            if len(code) == 2 and code.isalpha() and code not in ("ZZ", "XA", "XB", "QO", "EU", "EZ", "UN"):
                known[code.lower()] = code
                known[_key(name)] = code
    known.update({"uk": "GB", "deutschland": "DE", "germany": "DE", "usa": "US", "oesterreich": "AT",
                  "schweiz": "CH"})
    return known


def country_code(value: str) -> str | None:
    return _countries().get(_key(value)) or _countries().get(value.strip().lower())


# --- rows checked -------------------------------------------------------------------------------------------

def _messages(error: ValidationFailed) -> dict[str, list[str]]:
    return {k: [str(m) for m in v] for k, v in error.errors.items()}


def _cells(row: dict, mapping: dict) -> tuple[dict, dict]:
    """The mapped fields of one row as text, and the errors of cells that cannot be taken at all."""
    values, errors = {}, {}
    for field, header in mapping.items():
        raw = row.get(header, "")
        if isinstance(raw, import_files.Formula):
            errors[field] = [_("This cell is a formula (%(formula)s): formulas are not imported, type the value.",
                               formula=raw[:40])]
            continue
        if "\x00" in raw:
            errors[field] = [_("This cell holds a NUL character: it is not imported.")]
            continue
        if len(raw) > import_files.MAX_CELL:
            errors[field] = [_("At most %(limit)s characters.", limit=import_files.MAX_CELL)]
            continue
        values[field] = raw.strip() or None
    return values, errors


def _email(value: str | None, errors: dict) -> str | None:
    if not value:
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        errors["email"] = [_("Not a valid e-mail address: %(value)s", value=value[:80])]
        return None


def _kind(value: str | None, allowed: tuple, default: str, errors: dict) -> str:
    if not value:
        return default
    kind = KIND_WORDS.get(_key(value), _key(value))
    if kind not in allowed:
        errors["kind"] = [_("Unknown kind %(value)s: use %(allowed)s.", value=value[:40], allowed=", ".join(allowed))]
        return default
    return kind


def check_customer(values: dict, errors: dict) -> dict:
    """Customer, contact and address fields of one row, checked as the customer screens check them."""
    name = values.get("company") or values.get("name") or " ".join(
        p for p in (values.get("first_name"), values.get("last_name")) if p) or None
    if not name:
        errors["name"] = [_("A name is required (a company, a name or a first and last name).")]
    elif len(name) > 200:
        errors["name"] = [_("At most %(limit)s characters.", limit=200)]
    out = {"external_ref": values.get("external_ref"), "name": name,
           "kind": _kind(values.get("kind"), CUSTOMER_KINDS, "business" if values.get("company") else "individual",
                         errors),
           "email": _email(values.get("email"), errors), "phone": values.get("phone"),
           "tax_id": values.get("tax_id"), "language": (values.get("language") or "").lower()[:2] or None,
           "notes": values.get("notes")}
    if values.get("company") and (values.get("first_name") or values.get("last_name")):
        contact = " ".join(p for p in (values.get("first_name"), values.get("last_name")) if p)
        out["notes"] = "\n".join(p for p in (out["notes"], _("Contact: %(name)s", name=contact)) if p)
    for field, limit in (("external_ref", 80), ("phone", 40), ("tax_id", 40)):
        if out[field] and len(out[field]) > limit:
            errors[field] = [_("At most %(limit)s characters.", limit=limit)]
    address = {f: values.get(f) for f in ("line1", "line2", "postal_code", "city", "state", "country")}
    if address["country"]:
        code = country_code(address["country"])
        if code is None:
            errors["country"] = [_("Unknown country: %(value)s (use a country code such as DE or a country's name).",
                                   value=address["country"][:40])]
        address["country"] = code
    if any(address[f] for f in ("line1", "postal_code", "city")):
        try:
            out["address"] = customers._address_values({k: v for k, v in address.items() if v})
        except ValidationFailed as error:
            errors.update({k: v for k, v in _messages(error).items() if k not in errors})
    return out


def check_unit(values: dict, errors: dict, customer_id: int | None, unit_id: int | None) -> dict:
    """Unit fields of one row, checked as the unit screens check them (IMEI check digit, VIN, year…)."""
    fields_ = {f: values.get(f) for f in customers.UNIT_FIELDS}
    fields_["kind"] = _kind(values.get("kind"), UNIT_KINDS, "vehicle" if values.get("vin") else "device", errors)
    try:
        out = customers._unit_values(fields_, customer_id or -1, unit_id)
    except ValidationFailed as error:
        errors.update({k: v for k, v in _messages(error).items() if k not in errors})
        out = {}
    out["external_ref"] = values.get("external_ref")
    out["notes"] = values.get("notes")
    return out


# --- matching --------------------------------------------------------------------------------------------------

def _customer_index(refs: set, emails: set) -> tuple[dict, dict]:
    """Existing customers by external reference and by lower-case e-mail (one query each per chunk)."""
    by_ref, by_email = {}, {}
    if refs:
        for cid, ref in db.session.execute(select(Customer.id, Customer.external_ref)
                                           .where(Customer.external_ref.in_(refs)).order_by(Customer.id.desc())):
            by_ref[ref] = cid
    if emails:
        for cid, email, ref in db.session.execute(
                select(Customer.id, func.lower(Customer.email), Customer.external_ref)
                .where(func.lower(Customer.email).in_(emails)).order_by(Customer.id.desc())):
            by_email[email] = (cid, ref)
    return by_ref, by_email


class Seen:
    """What earlier rows of the same file used (e-mail addresses, references): duplicates are row errors."""

    def __init__(self):
        self.emails: dict[str, int] = {}
        self.refs: dict[str, int] = {}

    def claim(self, table: dict, value: str | None, number: int) -> int | None:
        if not value:
            return None
        first = table.setdefault(value.lower(), number)
        return first if first != number else None


def plan_customers(chunk: list, mapping: dict, seen: Seen) -> list[dict]:
    """Each row of a chunk checked and matched: ``{"row", "errors", "values", "match"}``."""
    checked = []
    for number, row in chunk:
        values, errors = _cells(row, mapping)
        out = check_customer(values, errors)
        checked.append({"row": number, "errors": errors, "values": out, "match": None})
    by_ref, by_email = _customer_index({c["values"]["external_ref"] for c in checked if c["values"]["external_ref"]},
                                       {c["values"]["email"].lower() for c in checked if c["values"]["email"]})
    for item in checked:
        values, errors, number = item["values"], item["errors"], item["row"]
        ref, email = values["external_ref"], (values["email"] or "").lower() or None
        earlier = seen.claim(seen.refs, ref, number)
        if earlier:
            errors.setdefault("external_ref", []).append(_("Used twice in this file (also row %(row)s).", row=earlier))
        earlier = seen.claim(seen.emails, email, number)
        if earlier:
            errors.setdefault("email", []).append(_("Used twice in this file (also row %(row)s).", row=earlier))
        match = by_ref.get(ref) if ref else None
        owner = by_email.get(email) if email else None
        if match is None and owner is not None:
            if ref and owner[1] and owner[1] != ref:
                errors.setdefault("email", []).append(_("This e-mail address belongs to another customer."))
            else:
                match = owner[0]
        elif match is not None and owner is not None and owner[0] != match:
            errors.setdefault("email", []).append(_("This e-mail address belongs to another customer."))
        item["match"] = match
    return checked


def plan_units(chunk: list, mapping: dict, seen: Seen) -> list[dict]:
    checked = []
    by_ref, by_email = {}, {}
    cells = [(number, *_cells(row, mapping)) for number, row in chunk]
    refs = {v.get("customer_ref") for _n, v, _e in cells if v.get("customer_ref")}
    emails = {v["customer_email"].lower() for _n, v, _e in cells if v.get("customer_email")}
    by_ref, by_email = _customer_index(refs, emails)
    for number, values, errors in cells:
        customer_id = by_ref.get(values.get("customer_ref")) if values.get("customer_ref") else None
        if customer_id is None and values.get("customer_email"):
            customer_id = (by_email.get(values["customer_email"].lower()) or (None,))[0]
        if customer_id is None:
            field = ("customer_ref" if values.get("customer_ref") or "customer_email" not in mapping
                     else "customer_email")
            errors[field] = [_("No customer with this reference or e-mail address: import the customers first.")
                             if values.get("customer_ref") or values.get("customer_email")
                             else _("Give the customer's external reference or e-mail address.")]
        match = _find_unit(customer_id, values) if customer_id else None
        out = check_unit(values, errors, customer_id, match)
        for field in ("external_ref", "vin", "imei", "serial_number"):
            key = f"{customer_id}:{field}:{out.get(field)}" if out.get(field) else None
            earlier = seen.claim(seen.refs, key, number)
            if earlier:
                errors.setdefault(field, []).append(_("Used twice in this file (also row %(row)s).", row=earlier))
        checked.append({"row": number, "errors": errors, "values": out, "match": match, "customer_id": customer_id})
    return checked


def _find_unit(customer_id: int, values: dict) -> int | None:
    """The customer's unit this row describes: by external reference or VIN, else by IMEI or serial number."""
    for field in ("external_ref", "vin"):
        if values.get(field):
            wanted = values[field].replace(" ", "").upper() if field == "vin" else values[field]
            found = db.session.scalar(select(Unit.id).where(Unit.customer_id == customer_id,
                                                            getattr(Unit, field) == wanted).order_by(Unit.id).limit(1))
            if found:
                return found
    imei = units.normalize_imei(values["imei"]) if values.get("imei") else None
    unit = units._existing(customer_id, {"imei": imei, "serial_number": values.get("serial_number")})
    return unit.id if unit else None


PLANS = {"customers": plan_customers, "units": plan_units}


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
