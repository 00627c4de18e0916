"""The rows of an import file checked and matched (``imports``' dry run and run share this).

``guess_mapping`` maps headers in English and German to fields. ``plan_customers`` / ``plan_units`` take one
chunk of rows: each row's mapped cells are checked with the rules the customer and unit screens use
(``customers._address_values`` and ``_unit_values``: lengths, postal address, IMEI check digit, VIN, year) plus
e-mail syntax, known countries (ISO codes, English and German names), required fields and formula cells, and
matched to an existing customer (external reference, else e-mail) or unit (external reference or VIN, else
IMEI or serial number, within its customer). Values used twice in one file are errors of the later row
(``Seen``). Existing rows are looked up once per chunk, not once per row.
"""
from __future__ import annotations

import re
import unicodedata
from functools import cache

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..core.errors import ValidationFailed
from ..extensions import db
from ..models import CUSTOMER_KINDS, UNIT_KINDS, Customer, Unit
from . import customers, import_files, units

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
