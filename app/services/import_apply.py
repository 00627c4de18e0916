"""One chunk of an import applied (``imports.process``): new rows created, matched rows updated, bad rows skipped.

Each row's outcome is an ``ImportRow`` (phase ``run``) with the ids it created or updated and, for an update,
the values it replaced, so that ``import_undo`` can take the import back. An empty cell changes nothing.
The caller commits the chunk.
"""
from __future__ import annotations

from sqlalchemy import insert, select

from ..extensions import db
from ..models import Address, Customer, ImportBatch, ImportRow, Unit

CUSTOMER_COLUMNS = ("external_ref", "name", "kind", "email", "phone", "tax_id", "language", "notes")
UNIT_COLUMNS = ("external_ref", "kind", "unit_number", "make", "model", "serial_number", "imei", "vin", "year",
                "notes")


def _changes(obj, values: dict, columns: tuple) -> dict:
    """Set the non-empty values that differ; return the old values of what changed."""
    before = {}
    for column in columns:
        new = values.get(column)
        if new in (None, "") or getattr(obj, column) == new:
            continue
        before[column] = getattr(obj, column)
        setattr(obj, column, new)
    return before


def _same_address(customer_id: int, values: dict) -> bool:
    return db.session.scalar(select(Address.id).where(
        Address.customer_id == customer_id, Address.line1 == values["line1"],
        Address.postal_code == values["postal_code"]).limit(1)) is not None


def _customers(batch: ImportBatch, plans: list[dict], outcome: list) -> None:
    matched = {c.id: c for c in db.session.scalars(
        select(Customer).where(Customer.id.in_({p["match"] for p in plans if p["match"]})))}
    fresh = []
    for plan in plans:
        values = plan["values"]
        address = values.get("address")
        if plan["match"]:
            customer = matched[plan["match"]]
            before = _changes(customer, values, CUSTOMER_COLUMNS)
            new_address = None
            if address and not _same_address(customer.id, address):
                new_address = Address(customer_id=customer.id, **address)
                db.session.add(new_address)
            kind = "updated" if before or new_address is not None else "skipped"
            outcome.append((plan, kind, customer, new_address, before or None))
        else:
            customer = Customer(**{c: values.get(c) for c in CUSTOMER_COLUMNS})
            customer.kind = values["kind"]
            new_address = Address(**address) if address else None
            if new_address is not None:
                customer.addresses.append(new_address)
            db.session.add(customer)
            fresh.append((customer, new_address))
            outcome.append((plan, "created", customer, new_address, None))
    db.session.flush()
    for customer, address in fresh:
        if address is not None:
            customer.default_service_address_id = customer.default_billing_address_id = address.id


def _units(batch: ImportBatch, plans: list[dict], outcome: list) -> None:
    matched = {u.id: u for u in db.session.scalars(
        select(Unit).where(Unit.id.in_({p["match"] for p in plans if p["match"]})))}
    for plan in plans:
        values = plan["values"]
        if plan["match"]:
            unit = matched[plan["match"]]
            before = _changes(unit, values, UNIT_COLUMNS)
            outcome.append((plan, "updated" if before else "skipped", unit, None, before or None))
        else:
            unit = Unit(customer_id=plan["customer_id"], **{c: values.get(c) for c in UNIT_COLUMNS})
            db.session.add(unit)
            outcome.append((plan, "created", unit, None, None))
    db.session.flush()


def apply_chunk(batch: ImportBatch, plans: list[dict]) -> dict[str, int]:
    """Apply the valid rows of one chunk; record every row's outcome. Returns the counts."""
    outcome: list = []
    valid = [p for p in plans if not p["errors"]]
    (_customers if batch.kind == "customers" else _units)(batch, valid, outcome)
    rows = []
    counts = {"created": 0, "updated": 0, "skipped": 0}
    for plan, kind, obj, address, before in outcome:
        counts[kind] += 1
        unit = obj if isinstance(obj, Unit) else None
        rows.append({"batch_id": batch.id, "phase": "run", "row_number": plan["row"], "outcome": kind, "errors": None,
                     "customer_id": obj.customer_id if unit else obj.id, "unit_id": unit.id if unit else None,
                     "address_id": address.id if address is not None else None, "before": before})
    for plan in plans:
        if plan["errors"]:
            counts["skipped"] += 1
            rows.append({"batch_id": batch.id, "phase": "run", "row_number": plan["row"], "outcome": "skipped",
                         "errors": plan["errors"], "customer_id": None, "unit_id": None, "address_id": None,
                         "before": None})
    if rows:
        db.session.execute(insert(ImportRow), rows)
    return counts
