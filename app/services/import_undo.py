"""Undoing an import (``imports.undo``): what it created is deleted and what it changed is put back, in one
transaction, unless something else names those rows — then nothing changes and the 409 names them
("Cannot undo: Klara Fischer has 1 work order; …").

Something else is: history that names the row (``history.holders``: requests, work orders, invoices, portal
users…), and for a customer the import created, units or addresses it did not create (another import's units
included: undo that one first).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..core.actors import Actor
from ..core.errors import Conflict
from ..extensions import db
from ..models import Address, Customer, ImportBatch, ImportRow, Unit
from . import history

SHOWN = 5  # holders named in the refusal


def _rows(batch: ImportBatch, outcome: str) -> list[ImportRow]:
    return list(db.session.scalars(select(ImportRow).where(
        ImportRow.batch_id == batch.id, ImportRow.phase == "run", ImportRow.outcome == outcome)
        .order_by(ImportRow.row_number)))


def _others(model, customer_id: int, own: set[int]) -> int:
    ids = set(db.session.scalars(select(model.id).where(model.customer_id == customer_id)))
    return len(ids - own)


def _blockers(batch: ImportBatch, created: list[ImportRow]) -> list[str]:
    found = []
    own_addresses = {r.address_id for r in created if r.address_id}
    own_units = {r.unit_id for r in created if r.unit_id}
    for row in created:
        obj = db.session.get(Unit, row.unit_id) if batch.kind == "units" else db.session.get(Customer, row.customer_id)
        if obj is None:
            continue
        held = history.holders(obj)
        if isinstance(obj, Customer):
            for model, own, table in ((Unit, own_units, "unit"), (Address, own_addresses, "address")):
                count = _others(model, obj.id, own)
                if count:
                    held.append((table, count))
        if held:
            found.append(str(_l("%(name)s has %(what)s", name=str(obj), what=_describe(held))))
    return found


def _describe(held: list[tuple[str, int]]) -> str:
    words = {"unit": lambda n: _l("%(num)d other unit(s)", num=n),
             "address": lambda n: _l("%(num)d other address(es)", num=n)}
    known = [h for h in held if h[0] not in words]
    parts = [history.describe_holders(known)] if known else []
    parts += [str(words[name](count)) for name, count in held if name in words]
    return ", ".join(parts)


def undo_batch(batch: ImportBatch, actor: Actor) -> None:
    created, updated = _rows(batch, "created"), _rows(batch, "updated")
    blockers = _blockers(batch, created)
    if blockers:
        more = len(blockers) - SHOWN
        text = "; ".join(blockers[:SHOWN]) + (str(_l("; and %(count)s more", count=more)) if more > 0 else "")
        raise Conflict(_l("Cannot undo this import: %(what)s. Archive or remove those first.", what=text))
    model = Unit if batch.kind == "units" else Customer
    for row in updated:
        obj = db.session.get(model, row.unit_id if batch.kind == "units" else row.customer_id)
        if obj is None:
            continue
        for column, value in (row.before or {}).items():
            setattr(obj, column, value)
        if row.address_id:
            address = db.session.get(Address, row.address_id)
            if address is not None:
                history.delete(address, actor)
    for row in reversed(created):
        obj = db.session.get(model, row.unit_id if batch.kind == "units" else row.customer_id)
        if obj is not None:
            history.delete(obj, actor)
    remaining = db.session.scalar(select(func.count(Customer.id)).where(
        Customer.id.in_({r.customer_id for r in created}))) if batch.kind == "customers" else 0
    if remaining:
        raise Conflict(_l("Cannot undo this import: some of its customers are still in use."))
