"""Test data: factory_boy factories bound to the app's session, and users per role."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import factory
from factory.alchemy import SQLAlchemyModelFactory
from flask import current_app

from app.core.actors import Actor
from app.core.scope import actor_for
from app.extensions import db
from app.models import (
    Address,
    Customer,
    PortalUser,
    ServiceLocation,
    ServiceType,
    ShippingMethod,
    Unit,
)

PASSWORD = "test-password-1"
_counter = itertools.count(1)


class _Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class CustomerFactory(_Base):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    kind = "individual"
    email = factory.Sequence(lambda n: f"customer{n}@example.com")


class AddressFactory(_Base):
    class Meta:
        model = Address

    customer = factory.SubFactory(CustomerFactory)
    line1 = factory.Sequence(lambda n: f"{n} Main Street")
    city = "Springfield"
    postal_code = "12345"


class UnitFactory(_Base):
    class Meta:
        model = Unit

    customer = factory.SubFactory(CustomerFactory)
    kind = "device"
    make = "Acme"
    model = "X1"
    serial_number = factory.Sequence(lambda n: f"SN{n:06d}")


class ServiceTypeFactory(_Base):
    class Meta:
        model = ServiceType

    name = factory.Sequence(lambda n: f"Service {n}")


class ServiceLocationFactory(_Base):
    class Meta:
        model = ServiceLocation

    name = factory.Sequence(lambda n: f"Depot {n}")
    city = "Springfield"


class ShippingMethodFactory(_Base):
    class Meta:
        model = ShippingMethod

    name = factory.Sequence(lambda n: f"Courier {n}")


def make_user(role: str, username: str | None = None, customer: Customer | None = None, email: str | None = None):
    """A FAB user with ``role``; customers and resellers are linked to ``customer`` (made if absent)."""
    sm = current_app.appbuilder.sm
    n = next(_counter)
    username = username or f"{role.lower()}{n}"
    user = sm.add_user(username=username, first_name=role, last_name=str(n),
                       email=email or f"{username}@example.com", role=sm.find_role(role), password=PASSWORD)
    assert user, f"could not create user {username}"
    if role in ("Customer", "Reseller"):
        if customer is None:
            customer = CustomerFactory(kind="reseller" if role == "Reseller" else "individual")
        db.session.add(PortalUser(user_id=user.id, customer_id=customer.id))
        db.session.flush()
    return user


def actor(user) -> Actor:
    return actor_for(user)


def tomorrow() -> dt.date:
    return dt.date.today() + dt.timedelta(days=1)


def money(value: str) -> Decimal:
    return Decimal(value)


def clocked_order(staff: Actor, technician: Actor, approver: Actor, customer_id: int, lines: list[dict],
                  minutes: float = 90):
    """A work order from an approved estimate of ``lines``, received, clocked on for ``minutes`` and marked
    ready by ``technician`` (the invoicing tests' starting point)."""
    import time_machine

    from app.services import estimates, work_orders

    est = estimates.create(staff, customer_id=customer_id, labour_lines=lines)
    estimates.perform(est, "submit", staff)
    order = estimates.perform(est, "approve", approver)
    work_orders.perform(order, "receive", staff)
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False):
        work_orders.perform(order, "clock_on", technician)
    with time_machine.travel(start + dt.timedelta(minutes=minutes), tick=False):
        work_orders.perform(order, "ready", technician)
    return order


def page_statements(client, url: str) -> tuple[int, int]:
    """(every SQL statement of one page, those not about FAB's permissions and menu), counted from a cold
    session as in production (nothing cached from an earlier request: the user, the settings)."""
    from sqlalchemy import event

    seen = []
    db.session.expire_all()

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen), sum("ab_permission_view" not in statement for statement in seen)
