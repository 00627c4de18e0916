"""Nothing lost: rows that history names are archived, never deleted; delete only what nothing names.

History (requests, estimates, work orders, invoices, payments, shipments, time entries, messages, audit
events…) refers to customers, units, addresses, users, service types and locations and shipping methods
with ``ON DELETE RESTRICT``. This module reads those foreign keys from the schema, so the one rule — "who
still names this row?" — is the database's own, and every adapter (the generated screens, their bulk
actions, the REST API, the portal) answers it the same way: a delete of a row that history names is a 409
saying what holds it ("Klara Fischer has 3 work orders and 1 invoice: archive instead.").

Each archivable entity's action table takes three rows from ``archive_rows``: ``archive`` and ``restore``
(audited; an archived row is hidden from pickers and default lists and still shown on every document that
names it) and ``delete`` (only without history).
"""
from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..core.actors import Actor
from ..core.errors import Conflict
from ..extensions import db
from ..models import AuditEvent, Customer, utcnow
from .audit import record
from .params import Unversioned
from .workflow import Action

#: How a table that holds history reads in "… has 3 work orders".
WHAT = {
    "service_request": lambda n: lazy_ngettext("%(num)d service request", "%(num)d service requests", n),
    "estimate": lambda n: lazy_ngettext("%(num)d estimate", "%(num)d estimates", n),
    "work_order": lambda n: lazy_ngettext("%(num)d work order", "%(num)d work orders", n),
    "invoice": lambda n: lazy_ngettext("%(num)d invoice", "%(num)d invoices", n),
    "payment": lambda n: lazy_ngettext("%(num)d payment", "%(num)d payments", n),
    "shipment": lambda n: lazy_ngettext("%(num)d shipment", "%(num)d shipments", n),
    "time_entry": lambda n: lazy_ngettext("%(num)d time entry", "%(num)d time entries", n),
    "order_message": lambda n: lazy_ngettext("%(num)d message", "%(num)d messages", n),
    "time_proposal": lambda n: lazy_ngettext("%(num)d time proposal", "%(num)d time proposals", n),
    "dispute_note": lambda n: lazy_ngettext("%(num)d dispute note", "%(num)d dispute notes", n),
    "attachment": lambda n: lazy_ngettext("%(num)d attachment", "%(num)d attachments", n),
    "audit_event": lambda n: lazy_ngettext("%(num)d history entry", "%(num)d history entries", n),
    "portal_user": lambda n: lazy_ngettext("%(num)d portal user", "%(num)d portal users", n),
}

#: Rows that keep a master row in use although their key is not RESTRICT (a login stays with its account).
ALSO_HELD_BY = {"customer": (("portal_user", "customer_id"),)}

#: The audit trail of a customer's own records (the customer, its units and addresses) names the customer;
#: deleting a customer that nothing else names keeps those lines and only unlinks them.
UNLINKED_ON_DELETE = {"customer": ((AuditEvent, AuditEvent.customer_id),)}


@cache
def _referrers(table_name: str) -> tuple:
    """``((table, (columns…)), …)``: every table whose RESTRICT foreign keys name ``table_name``."""
    from flask_appbuilder import Model

    found: dict = {}
    for table in Model.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == table_name and fk.ondelete == "RESTRICT":
                found.setdefault(table, []).append(fk.parent)
    for name, column in ALSO_HELD_BY.get(table_name, ()):
        table = Model.metadata.tables[name]
        found.setdefault(table, []).append(table.c[column])
    unlinked = {model.__table__ for model, _ in UNLINKED_ON_DELETE.get(table_name, ())}
    return tuple((table, tuple(columns)) for table, columns in found.items() if table not in unlinked)


def holders(obj) -> list[tuple[str, int]]:
    """``[(table name, rows), …]`` of the history that names ``obj`` (one COUNT per referring table)."""
    found = []
    for table, columns in _referrers(obj.__table__.name):
        count = db.session.scalar(select(func.count()).select_from(table)
                                  .where(or_(*(column == obj.id for column in columns))))
        if count:
            found.append((table.name, count))
    return found


def describe_holders(found: list[tuple[str, int]]) -> str:
    parts = [str(WHAT[name](count)) if name in WHAT else f"{count} {name}" for name, count in found]
    if len(parts) == 1:
        return parts[0]
    return str(_l("%(first)s and %(last)s", first=", ".join(parts[:-1]), last=parts[-1]))


def is_archived(obj) -> bool:
    if hasattr(obj, "archived_at"):
        return obj.archived_at is not None
    return not obj.active  # reference rows and users: archived is inactive


def state(obj, otherwise: str = "active") -> str:
    return "archived" if is_archived(obj) else otherwise


# --- the effects of the three rows -------------------------------------------------------------------

def archive(obj, actor: Actor, **_):
    if hasattr(obj, "archived_at"):
        obj.archived_at = utcnow()
    else:
        obj.active = False
    return obj


def restore(obj, actor: Actor, **_):
    if hasattr(obj, "archived_at"):
        obj.archived_at = None
    else:
        obj.active = True
    return obj


def refuse_if_held(obj) -> None:
    found = holders(obj)
    if found:
        raise Conflict(_l("%(name)s has %(what)s: archive instead.", name=str(obj), what=describe_holders(found)))


def delete(obj, actor: Actor, **_):
    """Delete a row no history names (else 409 naming what holds it). The delete itself is audited."""
    refuse_if_held(obj)
    for model, column in UNLINKED_ON_DELETE.get(obj.__table__.name, ()):
        db.session.execute(update(model).where(column == obj.id).values(customer_id=None)
                           .execution_options(synchronize_session=False))
    event = record(obj, "delete", None, None, actor, str(obj))
    if isinstance(obj, Customer):
        event.customer_id = None
    db.session.delete(obj)
    try:
        db.session.flush()
    except IntegrityError:  # something this rule does not know still names it: the database refuses
        db.session.rollback()
        raise Conflict(_l("%(name)s is still in use: archive instead.", name=str(obj))) from None
    return None


def archive_rows(by: tuple[str, ...], states: tuple[str, ...] = ("active",), delete_by: tuple[str, ...] | None = None,
                 ) -> list[Action]:
    """The ``archive`` / ``restore`` / ``delete`` rows of an archivable entity's table."""
    return [
        Action(states, "archive", by, None, archive, Unversioned),
        Action(("archived",), "restore", by, None, restore, Unversioned),
        Action((*states, "archived"), "delete", delete_by or by, None, delete, Unversioned, audited=False),
    ]
