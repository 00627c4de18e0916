"""Every transition table of SPEC §3, and its complement: what is not in the table is refused."""
from __future__ import annotations

import pytest

from app.core.actors import Actor
from app.core.errors import InvalidTransition, PermissionDenied
from app.services import estimates, invoices, requests, shipments, work_orders
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

#: SPEC §3 written out once more, independently of the code: (entity, from, action, side) → to.
SPEC = {
    "request": [
        ("new", "confirm", "staff", "accepted"), ("new", "propose", "staff", "time_proposed"),
        ("time_proposed", "accept_time", "customer", "accepted"), ("time_proposed", "propose", "customer", "new"),
        ("new", "decline", "staff", "rejected"), ("time_proposed", "decline", "staff", "rejected"),
        ("new", "cancel", "customer", "cancelled"), ("time_proposed", "cancel", "customer", "cancelled"),
        ("accepted", "cancel", "customer", "cancelled"), ("accepted", "estimate", "staff", "accepted"),
        ("accepted", "work_order", "staff", "resolved"), ("accepted", "estimate_approved", "customer", "resolved"),
    ],
    "estimate": [
        ("draft", "submit", "staff", "sent"), ("sent", "approve", "customer", "approved"),
        ("sent", "decline", "customer", "declined"), ("sent", "dispute", "customer", "disputed"),
        ("disputed", "acknowledge", "staff", "disputed"), ("disputed", "revise", "staff", "superseded"),
        ("declined", "revise", "staff", "superseded"), ("draft", "cancel", "staff", "cancelled"),
        ("sent", "cancel", "staff", "cancelled"), ("disputed", "cancel", "staff", "cancelled"),
    ],
    "work_order": [
        ("pending_confirmation", "confirm", "staff", "confirmed"), ("confirmed", "receive", "staff", "received"),
        ("received", "clock_on", "technician", "in_progress"), ("in_progress", "clock_on", "technician", "in_progress"),
        ("in_progress", "clock_off", "technician", None), ("in_progress", "ready", "technician", "ready"),
        ("ready", "complete", "staff", "completed"),
    ] + [(s, "cancel", "staff", "cancelled") for s in work_orders.BEFORE_COMPLETED],
    "invoice": [
        ("awaiting_authorization", "authorize", "customer", "open"), ("open", "pay", "staff", "paid"),
        ("open", "pay", "system", "paid"),
    ] + [(s, "void", "staff", "void") for s in ("draft", "awaiting_authorization", "open")],
    "shipment": [
        ("draft", "confirm", "reseller", "confirmed"), ("draft", "confirm", "staff", "confirmed"),
        ("confirmed", "receive", "staff", "received"),
    ],
}
MACHINES = {"request": requests.MACHINE, "estimate": estimates.MACHINE, "work_order": work_orders.MACHINE,
            "invoice": invoices.MACHINE, "shipment": shipments.MACHINE}
# Sides that also satisfy a rule written for another side (a reseller is a customer; a manager is staff).
IMPLIED = {"customer": {"customer", "reseller"}, "staff": {"staff", "manager"}, "technician": {"technician"},
           "system": {"system"}, "reseller": {"reseller"}}


def _cases():
    for entity, machine in MACHINES.items():
        allowed = {}
        for source, action, side, target in SPEC[entity]:
            for actor_name in IMPLIED[side]:
                allowed[(source, action, actor_name)] = target
        for state in sorted(machine.states):
            for action in sorted(machine.actions):
                if (entity, action) == ("invoice", "submit"):
                    continue  # its target depends on the customer (a guard): see test_workflow_services
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
    for source, action, side, target in SPEC[entity]:
        assert machine.find(source, action, ACTORS[side]).target == target


def test_creation_states():
    assert requests.MACHINE.find(CREATE, "submit", ACTORS["anyone"]).target == "new"
    assert work_orders.MACHINE.find(CREATE, "create", ACTORS["customer"]).target == "pending_confirmation"
    assert work_orders.MACHINE.find(CREATE, "create", ACTORS["reseller"]).target == "confirmed"
    assert work_orders.MACHINE.find(CREATE, "create", ACTORS["staff"]).target == "confirmed"
    assert estimates.MACHINE.find(CREATE, "create", ACTORS["staff"]).target == "draft"
    with pytest.raises(PermissionDenied):
        estimates.MACHINE.find(CREATE, "create", ACTORS["customer"])


def test_invalid_transition_names_the_current_state():
    with pytest.raises(InvalidTransition) as refused:
        estimates.MACHINE.find("approved", "submit", ACTORS["staff"])
    assert refused.value.current_status == "approved"
    assert "approved" in refused.value.message
