"""The double-booking guard under real concurrency (PostgreSQL, and a crowd on SQLite).

Two threads, each with its own app context, session and database connection, confirm two different
requests into the last free seat of the same slot. Thread A is held just before its commit (it has read
the bookings and written its own); thread B then runs its whole confirm. B must wait for A (the slot is
locked) and, once A commits, be refused with "fully booked". A broken guard lets B count the bookings
without A's and book the seat too: two bookings, and this test fails.

A crowd of twenty threads confirms twenty requests into the last place of one slot at a location with
opening hours: on PostgreSQL exactly one books it; on SQLite (one writer at a time) at most one does, and
the others are refused or told the shop is busy, never anything else.
"""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from app.core.errors import StaleObject, ValidationFailed, database_busy
from app.core.settings import get_settings
from app.models import WEEKDAYS, Customer, ServiceRequest
from app.services import catalog, requests
from tests.factories import ServiceLocationFactory, ServiceTypeFactory, UnitFactory, actor, make_user

#: A safety net so a broken implementation fails instead of hanging; no assertion depends on timing.
GIVE_UP = 60


@pytest.fixture()
def postgres(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (set PORTICO_TEST_DATABASE_URL)")
    return db


def _requests_in_one_slot(db, *, location_capacity: int | None, shop_capacity: int):
    """One booked request and two new ones for the same slot; capacity 2, so one seat is left."""
    get_settings().slot_capacity = shop_capacity
    location = ServiceLocationFactory(slot_capacity=location_capacity) if location_capacity else None
    staff = actor(make_user("Advisor"))
    customer_user = make_user("Customer")
    jane = actor(customer_user)
    service_type = ServiceTypeFactory()
    unit = UnitFactory(customer=db.session.get(Customer, jane.customer_id))
    db.session.commit()
    day = dt.date.today() + dt.timedelta(days=5)
    made = [
        requests.submit(jane, service_type_id=service_type.id, subject=f"Request {n}", preferred_date=day,
                        preferred_slot="morning", unit_id=unit.id,
                        service_location_id=location.id if location else None)
        for n in range(3)
    ]
    requests.perform(made[0], "confirm", staff)
    return staff, made[0].scheduled_start, made[1].id, made[2].id


def _run_confirm(app, request_id, staff, outcome: dict, started: threading.Event | None = None):
    """Confirm one request in its own app context (own session, own connection)."""
    from app.extensions import db

    with app.app_context():
        try:
            req = db.session.get(ServiceRequest, request_id)
            # The backend of the connection this transaction holds (and confirm goes on using): taken after
            # the read, not before a rollback that could hand the thread another pooled connection.
            outcome["pid"] = db.session.scalar(text("SELECT pg_backend_pid()"))
            if started is not None:
                started.set()
            requests.perform(req, "confirm", staff)
            outcome["status"] = req.status
        except ValidationFailed as refused:
            outcome["refused"] = refused
        except StaleObject as stale:
            outcome["stale"] = stale
        except Exception as error:  # noqa: BLE001 - reported by the assertions below
            outcome["error"] = error


def _blocked(db, pid) -> bool:
    return bool(db.session.scalar(text("SELECT cardinality(pg_blocking_pids(:pid)) > 0"), {"pid": pid}))


@pytest.mark.postgres
@pytest.mark.parametrize("location_capacity, shop_capacity", [(2, 9), (None, 2)],
                         ids=["location-capacity", "shop-wide-capacity"])
def test_two_advisors_cannot_book_the_last_seat_twice(app, postgres, location_capacity, shop_capacity):
    db = postgres
    staff, start, first_id, second_id = _requests_in_one_slot(
        db, location_capacity=location_capacity, shop_capacity=shop_capacity)

    a_ready, release_a = threading.Event(), threading.Event()

    def hold_a_before_commit(session):
        if threading.current_thread().name == "confirm-A" and not a_ready.is_set():
            a_ready.set()
            release_a.wait(GIVE_UP)

    event.listen(Session, "before_commit", hold_a_before_commit)
    try:
        outcome_a, outcome_b = {}, {}
        thread_a = threading.Thread(target=_run_confirm, name="confirm-A", args=(app, first_id, staff, outcome_a))
        thread_a.start()
        assert a_ready.wait(GIVE_UP), f"A never reached its commit: {outcome_a}"

        thread_b = threading.Thread(target=_run_confirm, name="confirm-B", args=(app, second_id, staff, outcome_b))
        thread_b.start()
        # Let B run as far as it can while A holds its uncommitted booking: it either waits for A's lock
        # (a correct guard) or finishes on its own (a guard that did not see A's booking).
        b_was_blocked = False
        for _ in range(GIVE_UP * 20):
            if "pid" in outcome_b and _blocked(db, outcome_b["pid"]):
                b_was_blocked = True
                break
            thread_b.join(0.05)
            if not thread_b.is_alive():
                break
        db.session.rollback()
        release_a.set()
        thread_a.join(GIVE_UP)
        thread_b.join(GIVE_UP)
    finally:
        release_a.set()
        event.remove(Session, "before_commit", hold_a_before_commit)

    assert "error" not in outcome_a and "error" not in outcome_b, (outcome_a, outcome_b)
    assert outcome_a.get("status") == "accepted", outcome_a
    assert "fully booked" in str(outcome_b.get("refused")), outcome_b
    assert outcome_b["refused"].errors == {"start": [outcome_b["refused"].message]}
    assert b_was_blocked, "B should have waited for A's booking"

    db.session.expire_all()
    booked = db.session.scalar(select(func.count(ServiceRequest.id)).where(
        ServiceRequest.scheduled_start == start, ServiceRequest.status == "accepted"))
    assert booked == 2  # the earlier booking and A's: exactly one of the two racing confirms
    assert db.session.get(ServiceRequest, first_id).status == "accepted"
    second = db.session.get(ServiceRequest, second_id)
    assert (second.status, second.scheduled_start) == ("new", None)


@pytest.mark.postgres
def test_simultaneous_confirms_book_exactly_one(app, postgres):
    """Both threads released at once by a barrier, no hooks: still exactly one of them books the seat."""
    staff, start, first_id, second_id = _requests_in_one_slot(postgres, location_capacity=2, shop_capacity=9)
    barrier = threading.Barrier(2)
    outcomes = [{}, {}]

    def race(request_id, outcome):
        from app.extensions import db

        with app.app_context():
            req = db.session.get(ServiceRequest, request_id)
            barrier.wait(GIVE_UP)
            try:
                requests.perform(req, "confirm", staff)
                outcome["status"] = req.status
            except ValidationFailed as refused:
                outcome["refused"] = refused.message

    threads = [threading.Thread(target=race, args=(ident, out))
               for ident, out in zip((first_id, second_id), outcomes, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(GIVE_UP)

    assert sorted("status" in out for out in outcomes) == [False, True], outcomes
    assert any("fully booked" in out.get("refused", "") for out in outcomes)
    postgres.session.expire_all()
    assert postgres.session.scalar(select(func.count(ServiceRequest.id)).where(
        ServiceRequest.scheduled_start == start, ServiceRequest.status == "accepted")) == 2


@pytest.mark.postgres
def test_the_same_request_confirmed_twice_at_once_is_refused_as_stale(app, postgres):
    """Two advisors confirm the same request at the same moment: one books it, the other is told it changed."""
    staff, start, first_id, _ = _requests_in_one_slot(postgres, location_capacity=3, shop_capacity=9)
    a_ready, release_a = threading.Event(), threading.Event()

    def hold_a_before_commit(session):
        if threading.current_thread().name == "confirm-A" and not a_ready.is_set():
            a_ready.set()
            release_a.wait(GIVE_UP)

    event.listen(Session, "before_commit", hold_a_before_commit)
    outcome_a, outcome_b = {}, {}
    try:
        thread_a = threading.Thread(target=_run_confirm, name="confirm-A", args=(app, first_id, staff, outcome_a))
        thread_a.start()
        assert a_ready.wait(GIVE_UP)
        b_started = threading.Event()
        thread_b = threading.Thread(target=_run_confirm, name="confirm-B",
                                    args=(app, first_id, staff, outcome_b, b_started))
        thread_b.start()
        assert b_started.wait(GIVE_UP)  # B has loaded the request while it is still new
        for _ in range(GIVE_UP * 20):
            if _blocked(postgres, outcome_b["pid"]) or not thread_b.is_alive():
                break
            thread_b.join(0.05)
        postgres.session.rollback()
        release_a.set()
        thread_a.join(GIVE_UP)
        thread_b.join(GIVE_UP)
    finally:
        release_a.set()
        event.remove(Session, "before_commit", hold_a_before_commit)

    assert outcome_a.get("status") == "accepted", outcome_a
    assert "error" not in outcome_b, outcome_b
    assert "changed by someone else" in str(outcome_b.get("stale")), outcome_b
    postgres.session.expire_all()
    assert postgres.session.scalar(select(func.count(ServiceRequest.id)).where(
        ServiceRequest.scheduled_start == start, ServiceRequest.status == "accepted")) == 2


# --- a crowd at the last place of a slot --------------------------------------------------------------

#: How many confirms race for the one place left.
CROWD = 20


def _crowd_for_the_last_place(db, crowd: int):
    """A location open every day 08:00-17:00 with two places per slot, one booked at 10:00 in five days,
    and ``crowd`` new requests; returns the staff actor, the contested start (text and naive UTC), the ids."""
    get_settings().slot_capacity = 9  # the location's own capacity decides
    staff = actor(make_user("Manager"))
    jane = actor(make_user("Customer"))
    service_type = ServiceTypeFactory()
    location = ServiceLocationFactory(slot_capacity=2)
    db.session.commit()
    catalog.perform(location, "edit", staff, {f"hours_{day}": "08:00-17:00" for day in WEEKDAYS})
    day = dt.date.today() + dt.timedelta(days=5)
    start = f"{day.isoformat()}T10:00"
    made = [requests.submit(jane, service_type_id=service_type.id, subject=f"Crowd {n}", preferred_date=day,
                            preferred_slot="morning", service_location_id=location.id)
            for n in range(crowd + 1)]
    requests.perform(made[0], "confirm", staff, start=start)
    db.session.commit()
    return staff, start, made[0].scheduled_start, [req.id for req in made[1:]]


def _race_crowd(app, staff, start: str, request_ids: list[int]) -> list[dict]:
    """Every request confirmed at ``start`` by its own thread (own app context, session, connection),
    all released at once; the outcome of each."""
    barrier = threading.Barrier(len(request_ids))
    outcomes = [{} for _ in request_ids]

    def race(request_id, outcome):
        from app.extensions import db

        with app.app_context():
            try:
                barrier.wait(GIVE_UP)
                req = db.session.get(ServiceRequest, request_id)
                requests.perform(req, "confirm", staff, start=start)
                outcome["status"] = req.status
            except ValidationFailed as refused:
                outcome["refused"] = refused
            except StaleObject as stale:
                outcome["stale"] = stale
            except Exception as error:  # noqa: BLE001 - reported by the assertions
                outcome["error"] = error

    threads = [threading.Thread(target=race, args=(ident, out), name=f"crowd-{n}")
               for n, (ident, out) in enumerate(zip(request_ids, outcomes, strict=True))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(GIVE_UP * 2)
    assert not any(thread.is_alive() for thread in threads), "a confirm hung"
    return outcomes


def _booked(db, start) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(ServiceRequest.id)).where(
        ServiceRequest.scheduled_start == start, ServiceRequest.status == "accepted"))


@pytest.mark.postgres
def test_a_crowd_of_confirms_books_the_last_place_exactly_once(app, postgres):
    staff, start, start_utc, ids = _crowd_for_the_last_place(postgres, CROWD)
    postgres.session.rollback()  # the test's own connection holds nothing while the crowd runs
    outcomes = _race_crowd(app, staff, start, ids)

    assert [out for out in outcomes if "error" in out] == []
    won = [ident for ident, out in zip(ids, outcomes, strict=True) if out.get("status") == "accepted"]
    assert len(won) == 1, outcomes
    lost = [out for out in outcomes if "status" not in out]
    assert len(lost) == CROWD - 1
    for out in lost:
        assert "stale" in out or "fully booked" in out["refused"].message, out
    assert _booked(postgres, start_utc) == 2  # the earlier booking and the one winner
    assert postgres.session.get(ServiceRequest, won[0]).status == "accepted"
    assert {postgres.session.get(ServiceRequest, ident).status for ident in ids if ident != won[0]} == {"new"}


def test_a_crowd_of_confirms_on_sqlite_books_the_last_place_at_most_once(app, db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the SQLite variant (PostgreSQL runs test_a_crowd_of_confirms_books_the_last_place_exactly_once)")
    if db.engine.url.database in (None, "", ":memory:") or "mode=memory" in str(db.engine.url):
        pytest.skip("an in-memory SQLite database is not shared between the threads' connections")
    staff, start, start_utc, ids = _crowd_for_the_last_place(db, CROWD)
    db.session.rollback()
    outcomes = _race_crowd(app, staff, start, ids)

    unexpected = [out["error"] for out in outcomes if "error" in out and not database_busy(out["error"])]
    assert unexpected == [], unexpected
    won = [ident for ident, out in zip(ids, outcomes, strict=True) if out.get("status") == "accepted"]
    assert len(won) <= 1, outcomes
    assert _booked(db, start_utc) == 1 + len(won)
    for out in outcomes:
        if "refused" in out:
            assert "fully booked" in out["refused"].message, out
    assert {db.session.get(ServiceRequest, ident).status for ident in ids if ident not in won} == {"new"}
