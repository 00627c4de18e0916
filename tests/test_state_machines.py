"""Every action table of SPEC §3 and §8, and its complement: what is not in the table is refused.

``SPEC`` is the specification written out once more by hand, independently of the code: the transitions
of §3, the second release's additions of §8, and every non-transition action (notes, messages,
assignments, work items, invoicing, payments, edits, lines, report runs) with the states it is allowed
in (§8: "every action, transition or not, is a row of its entity's table"). The tests check ``find``
over the whole product of states × actions × actors: each allowed combination gives the written target,
every other one is refused (409 naming the state, or 403). ``tests/test_action_tables.py`` takes the
same product through ``perform`` on real rows.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.core.actors import Actor
from app.core.errors import InvalidTransition, PermissionDenied
from app.services import estimates, invoices, reports, requests, shipments, work_orders
from app.services.workflow import CREATE

ACTORS = {
    "staff": Actor(1, "advisor", frozenset({"Advisor"})),
    "manager": Actor(2, "manager", frozenset({"Manager"})),
    "technician": Actor(3, "tech", frozenset({"Technician"})),
    "customer": Actor(4, "jane", frozenset({"Customer"}), customer_id=10),
    "reseller": Actor(5, "fixit", frozenset({"Reseller"}), customer_id=11, is_reseller=True),
    "system": Actor.system_actor(),
    "anyone": Actor.public(),
}

# Every state of every entity, written out from SPEC §3 (a report definition is enabled or disabled).
REQUEST_STATES = ("new", "time_proposed", "accepted", "rejected", "cancelled", "resolved")
ESTIMATE_STATES = ("draft", "sent", "approved", "declined", "disputed", "superseded", "cancelled")
WORK_ORDER_STATES = ("pending_confirmation", "confirmed", "received", "in_progress", "ready", "completed",
                     "cancelled")
INVOICE_STATES = ("draft", "awaiting_authorization", "open", "paid", "void")
SHIPMENT_STATES = ("draft", "confirmed", "received")
REPORT_STATES = ("enabled", "disabled")
STATES = {"request": REQUEST_STATES, "estimate": ESTIMATE_STATES, "work_order": WORK_ORDER_STATES,
          "invoice": INVOICE_STATES, "shipment": SHIPMENT_STATES, "report": REPORT_STATES}

WO_BEFORE_COMPLETED = ("pending_confirmation", "confirmed", "received", "in_progress", "ready")


def _rows(sources, action, sides, target=None):
    """One written rule over several states and sides: (from, action, side, to) rows."""
    return [(source, action, side, target) for source in sources for side in sides]


#: SPEC §3 and §8 written out once more, independently of the code: (entity, from, action, side) → to.
#: ``None`` as "to": the state does not change.
SPEC = {
    "request": [
        ("new", "confirm", "staff", "accepted"), ("new", "propose", "staff", "time_proposed"),
        ("time_proposed", "propose", "staff", "time_proposed"),  # SPEC §8: staff may propose again
        ("time_proposed", "accept_time", "customer", "accepted"), ("time_proposed", "propose", "customer", "new"),
        ("new", "decline", "staff", "rejected"), ("time_proposed", "decline", "staff", "rejected"),
        ("new", "cancel", "customer", "cancelled"), ("time_proposed", "cancel", "customer", "cancelled"),
        ("accepted", "cancel", "customer", "cancelled"), ("accepted", "estimate", "staff", "accepted"),
        ("accepted", "work_order", "staff", "resolved"), ("accepted", "estimate_approved", "customer", "resolved"),
        # SPEC §8 booking: a booking moves to another free time (either side), the day-before reminder,
        # and a free slot of an "instant booking" service type booked as the request is made
        ("accepted", "reschedule", "staff", "accepted"), ("accepted", "reschedule", "customer", "accepted"),
        ("accepted", "remind", "system", None),
        ("new", "book", "staff", "accepted"), ("new", "book", "customer", "accepted"),
        *_rows(("new", "time_proposed", "accepted"), "edit", ("staff",)),
        *_rows(("new", "time_proposed", "accepted"), "attach", ("customer", "staff")),
    ],
    "estimate": [
        ("draft", "submit", "staff", "sent"), ("sent", "approve", "customer", "approved"),
        ("sent", "decline", "customer", "declined"), ("sent", "dispute", "customer", "disputed"),
        ("disputed", "acknowledge", "staff", "disputed"), ("disputed", "revise", "staff", "superseded"),
        ("declined", "revise", "staff", "superseded"), ("draft", "cancel", "staff", "cancelled"),
        ("approved", "offer_again", "staff", None),  # SPEC §8: declined lines offered again in a revision
        ("sent", "cancel", "staff", "cancelled"), ("disputed", "cancel", "staff", "cancelled"),
        *_rows(("sent", "disputed", "declined"), "notes", ("customer", "staff")),
        ("draft", "notes", "staff", None),
        ("draft", "edit", "staff", None),  # with labour_lines: the builder's save
    ],
    "work_order": [
        ("pending_confirmation", "confirm", "staff", "confirmed"), ("confirmed", "receive", "staff", "received"),
        ("received", "clock_on", "technician", "in_progress"), ("in_progress", "clock_on", "technician", "in_progress"),
        ("in_progress", "clock_off", "technician", None), ("in_progress", "ready", "technician", "ready"),
        ("ready", "complete", "staff", "completed"),
        *_rows(WO_BEFORE_COMPLETED, "cancel", ("staff",), "cancelled"),
        *_rows(WO_BEFORE_COMPLETED, "assign", ("staff",)),
        *_rows(WORK_ORDER_STATES, "messages", ("customer", "staff", "technician")),
        *_rows(("received", "in_progress"), "item", ("staff", "technician")),
        *_rows(("ready", "completed"), "invoice", ("staff",)),
        *_rows(WO_BEFORE_COMPLETED, "edit", ("staff",)),
        *_rows(WO_BEFORE_COMPLETED, "attach", ("customer", "staff", "technician")),
        *_rows(WO_BEFORE_COMPLETED, "lines", ("staff",)),
    ],
    "invoice": [
        ("awaiting_authorization", "authorize", "customer", "open"), ("open", "pay", "staff", "paid"),
        ("open", "pay", "system", "paid"),
        *_rows(("draft", "awaiting_authorization", "open"), "void", ("staff",), "void"),
        ("open", "payments", "staff", None), ("open", "payments", "system", None),
        ("open", "pay_online", "customer", None), ("draft", "lines", "staff", None),
        *_rows(("draft", "awaiting_authorization", "open"), "edit", ("staff",)),
        ("paid", "credit", "staff", None),
        # SPEC §8 invoice queries: the customer queries an issued, unpaid invoice; staff answer it (keep) or
        # void and re-issue it; both sides write in its query log
        *_rows(("awaiting_authorization", "open"), "query", ("customer",)),
        *_rows(("awaiting_authorization", "open"), "answer", ("staff",)),
        *_rows(("awaiting_authorization", "open"), "reissue", ("staff",), "void"),
        *_rows(("awaiting_authorization", "open", "paid", "void"), "notes", ("customer", "staff")),
    ],
    "shipment": [
        ("draft", "confirm", "reseller", "confirmed"), ("draft", "confirm", "staff", "confirmed"),
        ("confirmed", "receive", "staff", "received"),
        *_rows(("draft", "confirmed"), "tracking", ("reseller", "staff")),
        *_rows(("draft", "confirmed"), "edit", ("staff",)),
    ],
    "report": [
        *_rows(("enabled",), "run", ("staff", "system")),
        *_rows(("enabled", "disabled"), "edit", ("staff",)),
    ],
}
#: Rows that only another action's effect takes (no button, no route): ``perform`` refuses them.
INTERNAL = {("request", "estimate_approved"), ("request", "book"), ("invoice", "pay")}
#: Rows whose ``reason`` must not be blank.
REASON_REQUIRED = {("request", "decline"), ("estimate", "decline"), ("work_order", "cancel"), ("invoice", "void"),
                   ("invoice", "credit"), ("invoice", "reissue")}

MACHINES = {"request": requests.TABLE, "estimate": estimates.TABLE, "work_order": work_orders.TABLE,
            "invoice": invoices.TABLE, "shipment": shipments.TABLE, "report": reports.TABLE}
# Sides that also satisfy a rule written for another side (a reseller is a customer; a manager is staff).
IMPLIED = {"customer": {"customer", "reseller"}, "staff": {"staff", "manager"}, "technician": {"technician"},
           "system": {"system"}, "reseller": {"reseller"}}


def _allowed(entity: str) -> dict:
    allowed = {}
    for source, action, side, target in SPEC[entity]:
        for actor_name in IMPLIED[side]:
            allowed[(source, action, actor_name)] = target
    return allowed


def _creation_actions(machine) -> set[str]:
    return {r.name for r in machine.rows if tuple(r.sources) == (CREATE,)}


def _cases():
    for entity, machine in MACHINES.items():
        allowed = _allowed(entity)
        # The product is over the spec's states and actions as well as the table's: an action or a state
        # the spec names but the table lacks fails here too (not only the ones the table happens to have).
        states = set(STATES[entity]) | machine.states
        actions = ({a for _, a, _, _ in SPEC[entity]} | machine.actions) - _creation_actions(machine)
        for state in sorted(states):
            for action in sorted(actions):
                if (entity, action) == ("invoice", "submit"):
                    continue  # its target depends on the customer (a guard): see test_invoice_submit_guard
                for actor_name in ACTORS:
                    key = (state, action, actor_name)
                    yield pytest.param(entity, state, action, actor_name, key in allowed, allowed.get(key),
                                       id=f"{entity}-{state}-{action}-{actor_name}")


@pytest.mark.parametrize("entity,state,action,actor_name,allowed,target", list(_cases()))
def test_transition_table_and_complement(entity, state, action, actor_name, allowed, target):
    machine = MACHINES[entity]
    actor = ACTORS[actor_name]
    if allowed:
        transition = machine.find(state, action, actor)
        assert transition.target == target
    else:
        with pytest.raises((InvalidTransition, PermissionDenied)) as refused:
            machine.find(state, action, actor)
        if isinstance(refused.value, InvalidTransition):
            assert refused.value.current_status == state
            assert state.replace("_", " ") in refused.value.message


@pytest.mark.parametrize("entity", sorted(MACHINES))
def test_every_spec_row_is_in_the_table(entity):
    machine = MACHINES[entity]
    missing = []
    for source, action, side, target in SPEC[entity]:
        try:
            found = machine.find(source, action, ACTORS[side]).target
        except (InvalidTransition, PermissionDenied) as refused:
            found = f"refused: {type(refused).__name__}"
        if found != target:
            missing.append(f"{source} --{action} by {side}--> {target} (table: {found})")
    assert not missing, f"{entity}: rows of the spec the table lacks:\n" + "\n".join(missing)


@pytest.mark.parametrize("entity", sorted(MACHINES))
def test_the_table_has_no_state_or_action_outside_the_spec(entity):
    machine = MACHINES[entity]
    assert machine.states <= set(STATES[entity]), machine.states - set(STATES[entity])
    spec_actions = {a for _, a, _, _ in SPEC[entity]}
    guarded = {"submit"} if entity == "invoice" else set()  # see test_invoice_submit_guard
    extra = machine.actions - spec_actions - _creation_actions(machine) - guarded
    assert not extra, f"{entity}: actions the spec does not name: {sorted(extra)}"


@pytest.mark.parametrize("entity", sorted(MACHINES))
def test_internal_and_reason_required_rows(entity):
    machine = MACHINES[entity]
    internal = {r.name for r in machine.rows if r.internal}
    assert internal == {a for e, a in INTERNAL if e == entity}
    public = {r.name for r in machine.public_rows()}
    assert not public & internal
    reason = {r.name for r in machine.rows if r.reason_required}
    assert reason == {a for e, a in REASON_REQUIRED if e == entity}


@pytest.mark.parametrize("requires,target", [(True, "awaiting_authorization"), (False, "open")])
def test_invoice_submit_guard(requires, target):
    invoice = SimpleNamespace(customer=SimpleNamespace(requires_invoice_authorization=requires))
    for actor_name in ("staff", "manager"):
        assert invoices.TABLE.find("draft", "submit", ACTORS[actor_name], invoice).target == target
    for actor_name in ("technician", "customer", "reseller", "system", "anyone"):
        with pytest.raises(PermissionDenied):
            invoices.TABLE.find("draft", "submit", ACTORS[actor_name], invoice)
    for state in sorted(set(INVOICE_STATES) - {"draft"}):
        with pytest.raises(InvalidTransition):
            invoices.TABLE.find(state, "submit", ACTORS["staff"], invoice)


def test_creation_states():
    assert requests.TABLE.find(CREATE, "submit", ACTORS["anyone"]).target == "new"
    assert work_orders.TABLE.find(CREATE, "create", ACTORS["customer"]).target == "pending_confirmation"
    assert work_orders.TABLE.find(CREATE, "create", ACTORS["reseller"]).target == "confirmed"
    assert work_orders.TABLE.find(CREATE, "create", ACTORS["staff"]).target == "confirmed"
    assert work_orders.TABLE.find(CREATE, "create", ACTORS["system"]).target == "confirmed"
    assert estimates.TABLE.find(CREATE, "create", ACTORS["staff"]).target == "draft"
    assert invoices.TABLE.find(CREATE, "create", ACTORS["staff"]).target == "draft"
    assert shipments.TABLE.find(CREATE, "create", ACTORS["reseller"]).target == "draft"
    assert shipments.TABLE.find(CREATE, "create", ACTORS["staff"]).target == "draft"
    with pytest.raises(PermissionDenied):
        estimates.TABLE.find(CREATE, "create", ACTORS["customer"])
    with pytest.raises(PermissionDenied):
        invoices.TABLE.find(CREATE, "create", ACTORS["customer"])
    with pytest.raises(PermissionDenied):
        shipments.TABLE.find(CREATE, "create", ACTORS["customer"])


def test_invalid_transition_names_the_current_state():
    with pytest.raises(InvalidTransition) as refused:
        estimates.TABLE.find("approved", "submit", ACTORS["staff"])
    assert refused.value.current_status == "approved"
    assert "approved" in refused.value.message
    with pytest.raises(InvalidTransition) as refused:
        reports.TABLE.find("disabled", "run", ACTORS["staff"])
    assert refused.value.current_status == "disabled"
    assert "disabled" in refused.value.message
