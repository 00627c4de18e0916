"""The staff search box (issue 15): one term, every kind of record people look things up by.

``search_everything(actor, term, limit)`` answers the groups of records ``term`` identifies, in the order of
``KINDS``: service requests, estimates, work orders, invoices, shipments and credit notes by number
(``REQ-000012``, ``req-12``, ``req12``; a bare ``12`` is number 12 of every kind), work orders also by
everything ``search.search_orders`` knows (references, tracking number, the unit's serial number or IMEI),
shipments by tracking number, customers by the start of their name or e-mail address and by phone number
(separators ignored), units by serial number, IMEI, VIN and plate.

Every branch is an exact or prefix match on an indexed column or expression (migrations 0005 and
0022_search): a prefix is a range ``lower(col) >= 'jan' AND lower(col) < 'jao'``, which an index answers on
SQLite and PostgreSQL alike (``LIKE 'jan%'`` would not use an expression index on SQLite). One statement
per kind at most, ``limit`` rows each, whatever the number of records.

Each kind goes through ``scope.scoped`` and names the sides that may search it: staff (advisors, managers,
admins) find everything; a technician finds work orders only — their own and the unassigned ones (the view
adds its board's states with ``narrow``) — and so no invoice, credit note or customer; anyone else is refused
(the portal has its own order search).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, literal_column, or_, select, union_all

from ..core.errors import PermissionDenied
from ..core.scope import scoped
from ..extensions import db
from ..models import CreditNote, Customer, Estimate, Invoice, ServiceRequest, Shipment, Unit, WorkOrder
from .search import MAX_TERM, conditions, document_number

DEFAULT_LIMIT = 5
MAX_LIMIT = 25
MIN_PREFIX = 2  # one letter would list customers alphabetically, not find one
MIN_PHONE_DIGITS = 5
#: What people put between a phone number's digits (the index of migration 0022_search strips the same).
PHONE_SEPARATORS = (" ", "-", "(", ")", ".", "/", "+")
_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")  # control characters, lone surrogates
_SEPARATORS = re.compile(r"[\s\-./]")


@dataclass(frozen=True)
class Term:
    """What was typed, cleaned once: control characters (NUL…) and lone surrogates gone, at most ``MAX_TERM``
    characters."""

    text: str

    @classmethod
    def of(cls, raw) -> Term:
        return cls(_CONTROL.sub("", str(raw or "")).strip()[:MAX_TERM])

    @property
    def lowered(self) -> str:
        return self.text.lower()

    @property
    def compact(self) -> str:
        return _SEPARATORS.sub("", self.text)

    @property
    def phone(self) -> str | None:
        digits = self.text
        for separator in PHONE_SEPARATORS:
            digits = digits.replace(separator, "")
        return digits if digits.isdigit() and len(digits) >= MIN_PHONE_DIGITS else None


@dataclass(frozen=True)
class Hit:
    """One record found: ``title`` is its number or name, ``detail`` the words beside it (customer, status…),
    ``status`` a state to show as a badge, ``target_id`` the record whose page shows it (a credit note's
    invoice)."""

    kind: str
    id: int
    title: str
    detail: str = ""
    status: str | None = None
    target_id: int | None = None


@dataclass(frozen=True)
class Kind:
    key: str
    label: object  # a lazy string
    model: type
    sides: frozenset[str]
    statement: Callable[[Term], object | None]  # None: the term cannot be one of these
    hit: Callable[[object], Hit]


@dataclass(frozen=True)
class Group:
    key: str
    label: object
    hits: list[Hit]


def prefix_of(expression, prefix: str):
    """``expression`` starts with ``prefix`` (already lower-case), as an index range; the ``startswith``
    (escaped: ``%`` and ``_`` are literal) keeps the range exact under any collation."""
    following = ord(prefix[-1]) + 1
    if 0xD800 <= following < 0xE000:  # no surrogate: it cannot be encoded
        following = 0xE000
    found = [expression >= prefix, expression.startswith(prefix, autoescape=True)]
    if following <= 0x10FFFF:
        found.append(expression < prefix[:-1] + chr(following))
    return and_(*found)


def phone_digits(column):
    """The phone number without separators, written exactly as migration 0022_search's index expression."""
    expression = column
    for separator in PHONE_SEPARATORS:
        expression = func.replace(expression, literal_column(f"'{separator}'"), literal_column("''"))
    return expression


def _numbered(model, prefix: str, *extra):
    """A document by its number; ``extra`` columns for its hit."""
    def statement(term: Term):
        number = document_number(term.text, prefix)
        if number is None:
            return None
        return (select(model.id, model.number, Customer.name.label("customer"), *extra)
                .join(Customer, model.customer_id == Customer.id).where(model.number == number)
                .order_by(model.id.desc()))
    return statement


def _document_hit(key: str):
    def hit(row) -> Hit:
        return Hit(key, row.id, row.number, row.customer, getattr(row, "status", None))
    return hit


def _estimate_hit(row) -> Hit:
    title = row.number if row.revision == 1 else f"{row.number}-R{row.revision}"
    return Hit("estimates", row.id, title, row.customer, row.status)


def _credit_note_hit(row) -> Hit:
    return Hit("credit_notes", row.id, row.number, row.customer, target_id=row.invoice_id)


def _shipments(term: Term):
    found = [func.lower(Shipment.tracking_number) == term.lowered]
    number = document_number(term.text, "SHP")
    if number:
        found.append(Shipment.number == number)
    return (select(Shipment.id, Shipment.number, Shipment.status, Customer.name.label("customer"))
            .join(Customer, Shipment.customer_id == Customer.id).where(or_(*found)).order_by(Shipment.id.desc()))


def _work_orders(term: Term):
    """``search.conditions`` as a union of index look-ups: as one ``OR`` (with the unit's ``IN`` subquery)
    PostgreSQL's planner reads the orders backwards by id and filters all 100,000 (24 ms)."""
    found = union_all(*(select(WorkOrder.id).where(condition) for condition in conditions(term.text)))
    return (select(WorkOrder.id, WorkOrder.number, WorkOrder.status, Customer.name.label("customer"))
            .join(Customer, WorkOrder.customer_id == Customer.id).where(WorkOrder.id.in_(found))
            .order_by(WorkOrder.id.desc()))


def _customers(term: Term):
    found = []
    if len(term.text) >= MIN_PREFIX:
        found += [prefix_of(func.lower(Customer.name), term.lowered),
                  prefix_of(func.lower(Customer.email), term.lowered)]
    if term.phone:
        found.append(prefix_of(phone_digits(Customer.phone), term.phone))
    if not found:
        return None
    return (select(Customer.id, Customer.name, Customer.email, Customer.phone, Customer.archived_at)
            .where(or_(*found)).order_by(func.lower(Customer.name), Customer.id))


def _customer_hit(row) -> Hit:
    detail = " · ".join(part for part in (row.email, row.phone) if part)
    return Hit("customers", row.id, row.name, detail, "archived" if row.archived_at else None)


def _units(term: Term):
    found = [func.lower(Unit.serial_number) == term.lowered, func.lower(Unit.vin) == term.lowered,
             func.lower(Unit.unit_number) == term.lowered]
    if term.compact.isdecimal():
        found.append(Unit.imei == term.compact)
    return (select(Unit.id, Unit.kind, Unit.make, Unit.model, Unit.unit_number, Unit.serial_number, Unit.imei,
                   Unit.vin, Customer.name.label("customer"))
            .join(Customer, Unit.customer_id == Customer.id).where(or_(*found)).order_by(Unit.id.desc()))


def _unit_hit(row) -> Hit:
    name = " ".join(part for part in (row.make, row.model) if part) or row.kind
    ident = row.unit_number or row.serial_number or row.imei or row.vin
    return Hit("units", row.id, f"{name} ({ident})" if ident else name, row.customer)


STAFF = frozenset({"staff"})
KINDS: tuple[Kind, ...] = (
    Kind("service_requests", _l("Service requests"), ServiceRequest, STAFF,
         _numbered(ServiceRequest, "REQ", ServiceRequest.status), _document_hit("service_requests")),
    Kind("estimates", _l("Estimates"), Estimate, STAFF,
         _numbered(Estimate, "EST", Estimate.status, Estimate.revision), _estimate_hit),
    Kind("work_orders", _l("Work orders"), WorkOrder, frozenset({"staff", "technician"}), _work_orders,
         _document_hit("work_orders")),
    Kind("invoices", _l("Invoices"), Invoice, STAFF, _numbered(Invoice, "INV", Invoice.status),
         _document_hit("invoices")),
    Kind("shipments", _l("Shipments"), Shipment, STAFF, _shipments, _document_hit("shipments")),
    Kind("credit_notes", _l("Credit notes"), CreditNote, STAFF, _numbered(CreditNote, "CN", CreditNote.invoice_id),
         _credit_note_hit),
    Kind("customers", _l("Customers"), Customer, STAFF, _customers, _customer_hit),
    Kind("units", _l("Units"), Unit, STAFF, _units, _unit_hit),
)


def kinds_for(actor) -> list[Kind]:
    """The kinds ``actor`` may search; ``PermissionDenied`` for customers, resellers and the public."""
    if actor.side not in ("staff", "technician"):
        raise PermissionDenied()
    return [kind for kind in KINDS if actor.side in kind.sides]


def search_everything(actor, term, limit: int = DEFAULT_LIMIT, *, narrow: dict | None = None) -> list[Group]:
    """The groups of records ``term`` finds that ``actor`` may see, at most ``limit`` hits each; empty
    groups are left out, an empty term finds nothing. ``narrow`` adds a condition per kind key: the screen's
    own filter where it lists fewer rows than the scope allows (the technician board's states)."""
    kinds = kinds_for(actor)
    term = Term.of(term)
    limit = max(1, min(int(limit), MAX_LIMIT))
    if not term.text:
        return []
    groups = []
    for kind in kinds:
        stmt = kind.statement(term)
        if stmt is None:
            continue
        if narrow and kind.key in narrow:
            stmt = stmt.where(narrow[kind.key])
        rows = db.session.execute(scoped(stmt, kind.model, actor).limit(limit)).all()
        if rows:
            groups.append(Group(kind.key, kind.label, [kind.hit(row) for row in rows]))
    return groups
