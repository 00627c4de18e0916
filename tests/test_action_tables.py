"""Every registered action table taken through ``perform`` itself, on real rows (SPEC §3, §8).

For each table in ``workflow.TABLES`` (so a new table or a new row is covered without touching this file)
one real record of the entity is built, and every (state, action, actor) of the product of the table's
states × its actions × the actors below is tried with ``perform(record, action, actor, {})``:

* what the table does not allow (the complement) is refused — 404 for an actor who may not see the
  record, else 409 naming the state when no row has the action in that state, else 403 — and leaves no
  trace: the state and ``version`` are those from before, and no audit line, notification or e-mail
  was written;
* what the table allows is not refused (it may answer 422 for the missing parameters, or succeed);
* internal rows (taken only by another action's effect) are refused through ``perform``, always.

Creation rows (from "—") are not taken through ``perform``. The actors: staff (an advisor), a manager,
a technician, the customer of the record, a reseller and a customer of other accounts, the system.
The cases of a table are aggregated in a few tests; a failure lists every offending case.
"""
from __future__ import annotations

import datetime as dt
import importlib
import itertools
import pkgutil
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import marshmallow
import pytest
from sqlalchemy import func, select, update

import app.services
from app.core.actors import Actor
from app.core.errors import InvalidTransition, NotFound, PermissionDenied, StaleObject, ValidationFailed
from app.extensions import db as _db
from app.models import (
    Address,
    AuditEvent,
    Customer,
    Estimate,
    ImportBatch,
    Invoice,
    InvoiceLine,
    LabourLine,
    Notification,
    OutboxEmail,
    PartLine,
    ReportDefinition,
    ReportRun,
    ServiceLocation,
    ServiceRequest,
    ServiceType,
    Settings,
    Shipment,
    ShippingMethod,
    TimeEntry,
    TimeProposal,
    Unit,
    User,
    WorkItem,
    WorkItemTemplate,
    WorkOrder,
    utcnow,
)
from app.services import numbering
from app.services.workflow import CREATE, TABLES, ActionTable, perform
from tests.factories import (
    CustomerFactory,
    ServiceLocationFactory,
    ServiceTypeFactory,
    ShippingMethodFactory,
    UnitFactory,
    actor,
    make_user,
)

for _module in pkgutil.iter_modules(app.services.__path__):  # every table registers itself on import
    importlib.import_module(f"{app.services.__name__}.{_module.name}")

SIDES = {"staff", "manager", "technician", "customer", "reseller", "system", "anyone"}
ACTOR_NAMES = ("staff", "manager", "technician", "customer", "other_reseller", "other_customer", "system")
REFUSALS = (InvalidTransition, PermissionDenied, NotFound)
_names = itertools.count(1)


# --- the shop and one real record of each entity ----------------------------------------------------------

@dataclass
class World:
    owner: object  # an individual customer account: owns requests, estimates, orders, invoices
    reseller_owner: object  # a reseller account: owns shipments
    users: dict
    service_type: object
    location: object
    method: object
    units: dict = field(default_factory=dict)

    def actors(self, record) -> dict[str, Actor]:
        """The seven actors for ``record``: "customer" is a portal user of the record's own account."""
        own = "own_reseller" if getattr(record, "customer_id", None) == self.reseller_owner.id else "own_customer"
        found = {name: actor(self.users[name]) for name in ("staff", "manager", "technician", "other_reseller",
                                                           "other_customer")}
        found["customer"] = actor(self.users[own])
        found["system"] = Actor.system_actor()
        return {name: found[name] for name in ACTOR_NAMES}


@pytest.fixture()
def world(db, app):
    owner = CustomerFactory(name="Owner", kind="individual", requires_invoice_authorization=False)
    reseller_owner = CustomerFactory(name="Owner Reseller", kind="reseller")
    users = {
        "staff": make_user("Advisor"), "manager": make_user("Manager"), "technician": make_user("Technician"),
        "own_customer": make_user("Customer", customer=owner),
        "own_reseller": make_user("Reseller", customer=reseller_owner),
        "other_reseller": make_user("Reseller"), "other_customer": make_user("Customer"),
    }
    shop = World(owner=owner, reseller_owner=reseller_owner, users=users, service_type=ServiceTypeFactory(),
                 location=ServiceLocationFactory(), method=ShippingMethodFactory())
    shop.units = {owner.id: UnitFactory(customer=owner), reseller_owner.id: UnitFactory(customer=reseller_owner)}
    db.session.commit()
    return shop


def _request(world: World, status: str = "new") -> ServiceRequest:
    req = ServiceRequest(customer_id=world.owner.id, service_type_id=world.service_type.id, subject="Fridge too warm",
                         summary="It hums", preferred_date=dt.date.today() + dt.timedelta(days=3),
                         preferred_slot="morning", unit_id=world.units[world.owner.id].id, source="portal",
                         status=status)
    numbering.assign(req)
    _db.session.add(req)
    _db.session.flush()
    _db.session.add(TimeProposal(service_request_id=req.id, proposed_by="staff", outcome="open",
                                 start=utcnow().replace(microsecond=0) + dt.timedelta(days=4)))
    return req


def _estimate(world: World) -> Estimate:
    req = _request(world, status="accepted")
    est = Estimate(customer_id=world.owner.id, service_request_id=req.id, unit_id=req.unit_id,
                   tax_rate=Decimal("19.00"), subtotal=Decimal("500.00"), tax=Decimal("95.00"), total=Decimal("595.00"))
    numbering.assign(est)
    labour = LabourLine(position=0, description="Replace compressor", hours=Decimal("2.50"), rate=Decimal("80.00"))
    labour.parts.append(PartLine(position=0, part_number="C-1", description="Compressor", quantity=Decimal("1.00"),
                                 unit_price=Decimal("300.00")))
    est.labour_lines.append(labour)
    est.labour_lines.append(LabourLine(position=1, description="Deep clean", hours=Decimal("1.00"),
                                       rate=Decimal("80.00")))
    _db.session.add(est)
    return est


def _work_order(world: World, customer=None, status: str = "confirmed") -> WorkOrder:
    customer = customer or world.owner
    order = WorkOrder(customer_id=customer.id, kind="repair", unit_id=world.units[customer.id].id, fault="Broken",
                      service_location_id=world.location.id, shipping_method_id=world.method.id, status=status)
    numbering.assign(order)
    labour = WorkItem(position=0, kind="labour", description="Bench test", quantity=Decimal("1.50"),
                      unit_price=Decimal("80.00"))
    order.items.append(labour)
    order.items.append(WorkItem(position=1, kind="part", parent=labour, part_number="F-1", description="Fuse",
                                quantity=Decimal("1.00"), unit_price=Decimal("2.50")))
    _db.session.add(order)
    return order


def _invoice(world: World) -> Invoice:
    order = _work_order(world, status="completed")
    _db.session.flush()
    invoice = Invoice(customer_id=world.owner.id, work_order_id=order.id, tax_rate=Decimal("19.00"),
                      subtotal=Decimal("95.00"), tax=Decimal("18.05"), total=Decimal("113.05"))
    numbering.assign(invoice)
    invoice.lines.append(InvoiceLine(position=0, kind="labour", description="Labour", quantity=Decimal("1.00"),
                                     unit_price=Decimal("95.00")))
    _db.session.add(invoice)
    return invoice


def _shipment(world: World) -> Shipment:
    order = _work_order(world, customer=world.reseller_owner)
    shipment = Shipment(customer_id=world.reseller_owner.id, service_location_id=world.location.id,
                        shipping_method_id=world.method.id)
    numbering.assign(shipment)
    order.shipment = shipment
    _db.session.add(shipment)
    return shipment


def _import_batch(world: World) -> ImportBatch:
    """A checked one-row customers file, kept where the Import screen keeps uploads."""
    from app.services import imports

    path = imports.import_dir() / f"{next(_names):032x}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"Name\nTable import customer\n")
    batch = ImportBatch(kind="customers", filename="table.csv", stored_name=path.name, file_format="csv",
                        size=path.stat().st_size, encoding="utf-8", delimiter=",", headers=["Name"],
                        mapping={"name": "Name"}, total_rows=1, valid_rows=1, error_rows=0)
    _db.session.add(batch)
    return batch


def _report(world: World) -> ReportDefinition:
    definition = ReportDefinition(name=f"Weekly report {next(_names)}", kind="open_requests", cron="0 7 * * 1",
                                  format="pdf", recipients=["boss@example.com"], params={}, enabled=True)
    _db.session.add(definition)
    return definition


def _report_run(world: World) -> ReportRun:
    run = ReportRun(definition=_report(world), status="running", trigger="schedule", started_at=utcnow(),
                    worker="a scheduler that died")
    _db.session.add(run)
    return run


def _customer(world: World) -> Customer:
    customer = Customer(name=f"Table customer {next(_names)}", kind="business")
    _db.session.add(customer)
    return customer


def _owned_unit(world: World) -> Unit:
    unit = Unit(customer_id=world.owner.id, kind="device", make="Table", model=f"Unit {next(_names)}")
    _db.session.add(unit)
    return unit


def _owned_address(world: World) -> Address:
    address = Address(customer_id=world.owner.id, line1="1 Table Street", city="Kiel", postal_code="24103")
    _db.session.add(address)
    return address


def _settings(world: World):
    from app.core.settings import get_settings

    return get_settings()


def _keep(record, state: str) -> None:
    """Reference rows without a workflow state (units, addresses): one state, "kept"."""


def _set_locked(record: Customer, state: str) -> None:
    record.locked = state == "locked"
    record.archived_at = utcnow() if state == "archived" else None


def _set_archived(record, state: str) -> None:
    """Units and addresses (``archived_at``), catalog rows (``active``): in use or archived."""
    if hasattr(record, "archived_at"):
        record.archived_at = utcnow() if state == "archived" else None
    else:
        record.active = state != "archived"


_CATALOG_NUMBERS = itertools.count(1)


def _login(world: World) -> User:
    number = next(_CATALOG_NUMBERS)
    user = User(username=f"table-user-{number}", first_name="Table", last_name=f"User {number}",
                email=f"table-user-{number}@example.test", active=True)
    _db.session.add(user)
    return user


def _catalog(model, **fields):
    def build(world: World):
        row = model(name=f"Table {model.__name__} {next(_CATALOG_NUMBERS)}", **fields)
        _db.session.add(row)
        return row
    return build


def _set_status(record, state: str) -> None:
    record.status = state


def _set_request(record: ServiceRequest, state: str) -> None:
    record.status = state
    booked = state in ("accepted", "resolved")  # a booked request has its time (the reminder needs one)
    record.scheduled_start = utcnow() + dt.timedelta(days=1) if booked else None
    record.reminder_sent_at = None


def _set_estimate(record: Estimate, state: str) -> None:
    record.status = state
    record.sent_at = None if state == "draft" else utcnow()  # a customer sees an estimate once it was sent
    for line, decision in zip(record.labour_lines, ("approved", "declined"), strict=False):
        line.decision = decision if state == "approved" else None  # approved in part: one line declined


def _set_invoice(record: Invoice, state: str) -> None:
    record.status = state
    record.issued_at = None if state == "draft" else utcnow()  # …and an invoice once it was issued
    record.queried_at = utcnow() if state in ("awaiting_authorization", "open") else None  # answer needs a query


def _set_enabled(record: ReportDefinition, state: str) -> None:
    record.enabled = {"enabled": True, "disabled": False}[state]


def _owner_sees(record, state: str) -> bool:
    return True


@dataclass(frozen=True)
class Kind:
    """How to make one record of an entity and put it into a state; what its own customer may see."""

    build: Callable[[World], object]
    set_state: Callable[[object, str], None] = _set_status
    states: tuple[str, ...] = ()  # states a row reaches only through ANY (not named by any row)
    owner_sees: Callable[[object, str], bool] = _owner_sees  # is it shown to its account's portal users?


KINDS = {
    ServiceRequest: Kind(_request, _set_request),
    Estimate: Kind(_estimate, _set_estimate, owner_sees=lambda record, state: state != "draft"),
    WorkOrder: Kind(_work_order),
    Invoice: Kind(_invoice, _set_invoice, owner_sees=lambda record, state: state != "draft"),
    Shipment: Kind(_shipment),
    ReportDefinition: Kind(_report, _set_enabled, states=("enabled", "disabled"),
                           owner_sees=lambda record, state: False),  # report definitions are staff-only
    ReportRun: Kind(_report_run, owner_sees=lambda record, state: False),  # staff-only, like definitions
    # A fresh account, not the acting customer's own: every customer actor is another account's (404).
    Customer: Kind(_customer, _set_locked, states=("active", "locked", "archived"),
                   owner_sees=lambda record, state: False),
    Unit: Kind(_owned_unit, _set_archived, owner_sees=lambda record, state: True),
    Address: Kind(_owned_address, _set_archived, owner_sees=lambda record, state: True),
    ServiceType: Kind(_catalog(ServiceType), _set_archived, owner_sees=lambda record, state: False),
    ServiceLocation: Kind(_catalog(ServiceLocation), _set_archived, owner_sees=lambda record, state: False),
    ShippingMethod: Kind(_catalog(ShippingMethod), _set_archived, owner_sees=lambda record, state: False),
    WorkItemTemplate: Kind(_catalog(WorkItemTemplate, kind="labour"), _set_archived,
                           owner_sees=lambda record, state: False),  # the shop's catalogue
    User: Kind(_login, _set_archived, owner_sees=lambda record, state: False),  # logins are the shop's
    Settings: Kind(_settings, _keep, states=("kept",), owner_sees=lambda record, state: False),  # the shop's
    ImportBatch: Kind(_import_batch, owner_sees=lambda record, state: False),  # staff-only
}
MODELS = sorted(TABLES, key=lambda model: model.__name__)


def _kind(model) -> Kind:
    assert model in KINDS, f"{model.__name__} has an action table but no record builder in KINDS: add one"
    return KINDS[model]


# --- what the table says ---------------------------------------------------------------------------------

def _sources(row) -> tuple:
    return tuple(row.sources) if isinstance(row.sources, (tuple, list)) else (row.sources,)


def _creating(row) -> bool:
    return CREATE in _sources(row)


def _states(table: ActionTable, kind: Kind) -> list[str]:
    return sorted(table.states | set(kind.states))


def _actions(table: ActionTable) -> list[str]:
    """Every action with a row on an existing record (creation rows are not taken through ``perform``)."""
    return sorted({row.name for row in table.rows if not _creating(row)})


def _visible(record, state: str, name: str, kind: Kind) -> bool:
    """SPEC §1: staff, the system and technicians see the row (the work order is left unassigned); a
    customer only their own account's, and only what is shown to them."""
    if name == "customer":
        return kind.owner_sees(record, state)
    return not name.startswith("other_")


def _expected(table: ActionTable, record, state: str, action: str, who: Actor, visible: bool):
    """``None`` when allowed, else the refusal ``perform`` must answer (404, then 409, then 403)."""
    if not visible:
        return NotFound
    rows = [row for row in table.rows if row.name == action and not _creating(row) and row.allows(state)
            and (row.guard is None or row.guard(record))]
    if not rows:
        return InvalidTransition
    taken = next((row for row in rows if who.may(row.by)), None)
    if taken is None:
        return PermissionDenied
    return InvalidTransition if taken.internal else None


def _cases(table: ActionTable, kind: Kind, record, actors: dict):
    for state in _states(table, kind):
        for action in _actions(table):
            for name, who in actors.items():
                yield state, action, name, who


# --- running a case --------------------------------------------------------------------------------------

def _footprint() -> tuple[int, int, int]:
    return tuple(_db.session.scalar(select(func.count()).select_from(model))
                 for model in (AuditEvent, Notification, OutboxEmail))


def _put(table: ActionTable, kind: Kind, record, state: str) -> tuple:
    """Put ``record`` into ``state`` (set directly and committed); its (state, version) afterwards."""
    kind.set_state(record, state)
    _db.session.commit()
    return table.state(record), getattr(record, "version", None)


def _now(table: ActionTable, record) -> tuple:
    _db.session.rollback()
    _db.session.refresh(record)
    return table.state(record), getattr(record, "version", None)


def _where(error: BaseException) -> str:
    """The innermost frame of the app in ``error``'s traceback: ``app/services/x.py:12 in f``."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "/app/" in f.filename]
    if not frames:
        return ""
    frame = frames[-1]
    return f" at {frame.filename[frame.filename.rindex('/app/') + 1:]}:{frame.lineno} in {frame.name}"


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "it succeeded"
    return f"{type(error).__name__}: {error}{_where(error)}"


def _try(record, action: str, who: Actor, params: dict) -> BaseException | None:
    """``perform`` through the one door; the exception it raised (every outcome is judged by the caller)."""
    try:
        perform(record, action, who, params)
    except Exception as error:
        return error
    return None


# --- the tests -------------------------------------------------------------------------------------------

def test_every_table_has_a_builder():
    assert {model.__name__ for model in TABLES} >= {"ServiceRequest", "Estimate", "WorkOrder", "Invoice", "Shipment",
                                                     "ReportDefinition"}
    missing = sorted(model.__name__ for model in TABLES if model not in KINDS)
    assert not missing, f"tables without a record builder in KINDS: {missing}"


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_rows_are_well_formed(model):
    """Sources are a tuple of states (or CREATE/ANY inside one), sides are known, creation rows lead somewhere."""
    table = TABLES[model]
    problems = []
    for row in table.rows:
        if not isinstance(row.sources, tuple) or not row.sources:
            problems.append(f"{row.name}: sources {row.sources!r} is not a non-empty tuple of states")
        if not isinstance(row.by, tuple) or not row.by or not set(row.by) <= SIDES:
            problems.append(f"{row.name}: by {row.by!r} is not a tuple of sides out of {sorted(SIDES)}")
        if _creating(row) and row.target is None:
            problems.append(f"{row.name}: a creation row without a first state")
    assert not problems, f"{table.entity}:\n" + "\n".join(problems)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_perform_refuses_the_complement_and_leaves_no_trace(model, world):
    table, kind = TABLES[model], _kind(model)
    record = kind.build(world)
    _db.session.commit()
    actors = world.actors(record)
    problems, count = [], 0
    for state in _states(table, kind):
        before = _put(table, kind, record, state)
        for action in _actions(table):
            for name, who in actors.items():
                expected = _expected(table, record, state, action, who, _visible(record, state, name, kind))
                if expected is None:
                    continue
                count += 1
                trace = _footprint()
                error = _try(record, action, who, {})
                after = _now(table, record)
                case = f"{state} / {action} / {name}"
                if not isinstance(error, REFUSALS):
                    problems.append(f"{case}: expected {expected.__name__}, but {_describe(error)}")
                elif type(error) is not expected:
                    problems.append(f"{case}: refused with {type(error).__name__}, expected {expected.__name__}"
                                    f" ({error})")
                elif isinstance(error, InvalidTransition) and error.current_status != state:
                    problems.append(f"{case}: the 409 names {error.current_status!r}, not the state {state!r}")
                if after != before:
                    problems.append(f"{case}: (state, version) went from {before} to {after}")
                    before = _put(table, kind, record, state)
                if _footprint() != trace:
                    problems.append(f"{case}: wrote audit/notification/e-mail rows {trace} -> {_footprint()}")
    assert count, f"{table.entity}: no refused case at all"
    assert not problems, f"{table.entity}: {len(problems)} of {count} refused cases are wrong:\n" + "\n".join(problems)


def _later(days: int) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).replace(hour=10, minute=0, second=0,
                                                                        microsecond=0).isoformat()


#: Plausible parameters per action name, so that an allowed case that answers 422 to ``{}`` is taken once
#: more through its effect (an action missing here is tried with ``{}`` only).
SAMPLES: dict[str, Callable[[object], dict]] = {
    "decline": lambda record: {"reason": "Not this time"},
    "cancel": lambda record: {"reason": "No longer needed"},
    "void": lambda record: {"reason": "Issued twice"},
    "notes": lambda record: {"text": "Why is the compressor so dear?"},
    "messages": lambda record: {"text": "Is it ready?"},
    "propose": lambda record: {"start": _later(5), "note": "Would this suit you?"},
    "set_lines": lambda record: {"labour_lines": [{"description": "Leak test", "hours": "0.50", "rate": "80.00",
                                                   "parts": []}]},
    "dispute": lambda record: {"note": "Too dear", "lines": [
        {"kind": "labour", "id": record.labour_lines[0].id, "note": "Two hours?"}]},
    "payments": lambda record: {"amount": "10.00", "method": "cash", "reference": "R1"},
    "pay_online": lambda record: {"token": "tok_demo_ok"},  # the demo provider accepts it
    "item": lambda record: {"item": record.items[0].id, "done": True},
    "tracking": lambda record: {"tracking_number": "TRACK-123456"},  # the table's method has no known carrier
}


def _fresh(table: ActionTable, kind: Kind, world: World, state: str):
    # one open time entry per technician: close what an earlier case opened
    _db.session.execute(update(TimeEntry).where(TimeEntry.ended_at.is_(None)).values(ended_at=utcnow()))
    record = kind.build(world)
    _db.session.commit()
    _put(table, kind, record, state)
    return record


def _judge(problems: list, case: str, error: BaseException | None) -> None:
    if error is not None and not isinstance(error, ValidationFailed):
        kind_of = "refused" if isinstance(error, REFUSALS) else "failed"
        problems.append(f"{case}: {kind_of}: {_describe(error)}")


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_perform_takes_every_allowed_case(model, world):
    """Each allowed case on a fresh record: not refused (422 for missing parameters, or done) and no crash."""
    table, kind = TABLES[model], _kind(model)
    problems, count = [], 0
    probe = kind.build(world)
    _db.session.commit()
    actors = world.actors(probe)
    for state, action, name, who in list(_cases(table, kind, probe, actors)):
        if _expected(table, probe, state, action, who, _visible(probe, state, name, kind)) is not None:
            continue
        count += 1
        case = f"{state} / {action} / {name}"
        record = _fresh(table, kind, world, state)
        error = _try(record, action, who, {})
        _judge(problems, case, error)
        _db.session.rollback()
        if isinstance(error, ValidationFailed) and action in SAMPLES:
            record = _fresh(table, kind, world, state)
            params = SAMPLES[action](record)
            _judge(problems, f"{case} with {sorted(params)}", _try(record, action, who, params))
            _db.session.rollback()
    assert count, f"{table.entity}: no allowed case at all"
    assert not problems, f"{table.entity}: {len(problems)} of {count} allowed cases:\n" + "\n".join(problems)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_internal_rows_are_refused_through_perform(model, request):
    table, kind = TABLES[model], _kind(model)
    internal = [row for row in table.rows if row.internal]
    if not internal:
        pytest.skip(f"{table.entity} has no internal row")
    world = request.getfixturevalue("world")
    record = kind.build(world)
    _db.session.commit()
    problems = []
    for row in internal:
        for state in _sources(row):
            before = _put(table, kind, record, state)
            for name, who in world.actors(record).items():
                trace = _footprint()
                error = _try(record, row.name, who, {})
                if not isinstance(error, REFUSALS):
                    problems.append(f"{state} / {row.name} / {name}: not refused, {_describe(error)}")
                if _now(table, record) != before or _footprint() != trace:
                    problems.append(f"{state} / {row.name} / {name}: changed the record or wrote rows")
                    before = _put(table, kind, record, state)
    assert not problems, f"{table.entity}: internal rows taken through perform:\n" + "\n".join(problems)


def _allowed_case(table: ActionTable, kind: Kind, record, row, actors: dict):
    """A (state, actor name) in which ``row``'s action is allowed through ``perform``, or None."""
    states = [s for s in _sources(row) if s not in (CREATE, "*")] or _states(table, kind)
    for state in states:
        kind.set_state(record, state)
        for name, who in actors.items():
            if _expected(table, record, state, row.name, who, _visible(record, state, name, kind)) is None:
                return state, name
    return None


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_public_rows_parse_their_parameters(model, world):
    """Each public row has a marshmallow schema; an unknown parameter answers 422 naming it, a stale
    ``version`` 409 (StaleObject), and neither changes anything."""
    table, kind = TABLES[model], _kind(model)
    problems = []
    ours = []  # the first row of each name, in table order
    for row in table.rows:
        if not _creating(row) and not row.internal and row.name not in {r.name for r in ours}:
            ours.append(row)
    try:
        rows = table.public_rows()
    except Exception as error:  # reported below; the rows are still checked
        problems.append(f"public_rows() crashed: {_describe(error)}")
        rows = ours
    if [row.name for row in rows] != [row.name for row in ours]:
        problems.append(f"public_rows() gives {[r.name for r in rows]}, expected {[r.name for r in ours]}")
    assert rows, f"{table.entity}: no public row"
    record = kind.build(world)
    _db.session.commit()
    actors = world.actors(record)
    for row in rows:
        if not (isinstance(row.params, type) and issubclass(row.params, marshmallow.Schema)):
            problems.append(f"{row.name}: params {row.params!r} is not a marshmallow schema class")
            continue
        if table.schema(row.name) is not row.params:
            problems.append(f"{row.name}: table.schema() answers another schema than the row's")
        found = _allowed_case(table, kind, record, row, actors)
        _db.session.rollback()
        if found is None:
            problems.append(f"{row.name}: no state and actor in which it is allowed")
            continue
        state, name = found
        before = _put(table, kind, record, state)
        # Parameters are parsed before the version is compared: give the stale version with good parameters.
        sample = SAMPLES.get(row.name, lambda record: {})(record)
        stale = {**sample, "version": (before[1] - 1) if before[1] is not None else 1}
        unsampled = [key for key, value in row.params().fields.items() if value.required and key not in sample]
        # A record without a version column cannot be stale: its rows may refuse the parameter instead (422).
        outdated = StaleObject if before[1] is not None else (StaleObject, ValidationFailed)
        for params, expected in (({"no_such_field": 1}, ValidationFailed), (stale, outdated)):
            trace = _footprint()
            error = _try(record, row.name, actors[name], params)
            case = f"{row.name} in {state} by {name} with {sorted(params)}"
            if expected is not ValidationFailed and unsampled and isinstance(error, ValidationFailed):
                pass  # a required parameter without a sample (an upload): 422 comes first, rightly
            elif not isinstance(error, expected):
                names = " or ".join(e.__name__ for e in (expected if isinstance(expected, tuple) else (expected,)))
                problems.append(f"{case}: expected {names}, but {_describe(error)}")
            elif expected is ValidationFailed and "no_such_field" not in error.errors:
                problems.append(f"{case}: the 422 does not name the unknown field: {error.errors}")
            if _now(table, record) != before or _footprint() != trace:
                problems.append(f"{case}: the refused call changed the record or wrote rows")
                before = _put(table, kind, record, state)
    assert not problems, f"{table.entity}:\n" + "\n".join(problems)
