"""One chunk of an import applied (``imports.process``): new rows created, matched rows updated, bad rows skipped.

Each row's outcome is an ``ImportRow`` (phase ``run``) with the ids it created or updated and, for an update,
the values it replaced, so that ``import_undo`` can take the import back. An empty cell changes nothing.
The caller commits the chunk.
"""
from __future__ import annotations

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

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


def _known_addresses(customer_ids: set[int]) -> set[tuple]:
    """(customer, street, postal code) of the matched customers' addresses (one query per chunk)."""
    if not customer_ids:
        return set()
    return set(db.session.execute(select(Address.customer_id, Address.line1, Address.postal_code)
                                  .where(Address.customer_id.in_(customer_ids))).tuples())


def _customers(batch: ImportBatch, plans: list[dict], outcome: list) -> None:
    matched = {c.id: c for c in db.session.scalars(
        select(Customer).where(Customer.id.in_({p["match"] for p in plans if p["match"]})))}
    known = _known_addresses(set(matched))
    fresh = []
    for plan in plans:
        values = plan["values"]
        address = values.get("address")
        if plan["match"]:
            customer = matched[plan["match"]]
            before = _changes(customer, values, CUSTOMER_COLUMNS)
            new_address = None
            if address and (customer.id, address["line1"], address["postal_code"]) not in known:
                new_address = Address(customer_id=customer.id, **address)
                db.session.add(new_address)
                known.add((customer.id, address["line1"], address["postal_code"]))
            kind = "updated" if before or new_address is not None else "skipped"
            outcome.append((plan, kind, customer, new_address, before or None))
        else:
            customer = Customer(**{c: values.get(c) for c in CUSTOMER_COLUMNS})
            customer.kind = values["kind"]
            new_address = Address(**address) if address else None
            db.session.add(customer)
            fresh.append((customer, new_address))
            outcome.append((plan, "created", customer, new_address, None))
    db.session.flush()
    for customer, address in fresh:  # by key, not through the collection (that would load it: a query each)
        if address is not None:
            address.customer_id = customer.id
            db.session.add(address)
    db.session.flush()
    defaults = [{"cid": c.id, "aid": a.id} for c, a in fresh if a is not None]
    if defaults:  # one statement for the chunk (the ORM would send one UPDATE per customer)
        table = Customer.__table__
        db.session.execute(update(table).where(table.c.id == bindparam("cid"))
                           .values(default_service_address_id=bindparam("aid"),
                                   default_billing_address_id=bindparam("aid")), defaults)
        for customer, address in fresh:
            if address is not None:
                set_committed_value(customer, "default_service_address_id", address.id)
                set_committed_value(customer, "default_billing_address_id", address.id)


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
