"""What the load test's clients act on, taken from the benchmark shop before any server starts.

``prepare(customers=…, resellers=…)`` runs inside an app context on the bench database. It gives the
accounts with the most work orders a portal login each and a login link for it, both through the
customer's action table (``invite``, then ``login_link``, by the ``bench`` staff user: audited like any
invitation), and draws the ids the clients ask for: each account's own orders, order numbers and serial
numbers to search for, orders for the REST reads, notes and PDFs. ``renew_links`` makes new links before
each worker count (logging out revokes the link a session was opened with). The links exist only in
memory (the database holds their hashes); a link is valid for the shop's ``magic_link_hours``.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from sqlalchemy import func, select

from app.core.actors import Actor
from app.extensions import db
from app.models import Customer, Unit, WorkOrder
from app.services.workflow import perform

from .generate import BENCH_USER

#: Order ids per account (portal pages and PDFs) and per staff pool (search, REST, notes, PDFs).
OWN_ORDERS = 40
POOL = 500


@dataclass
class Account:
    customer_id: int
    portal_user_id: int
    kind: str
    orders: list[int]
    link: str = ""  # absolute login-link URL as the shop would mail it; only its path is used

    @property
    def link_path(self) -> str:
        return "/portal/" + self.link.split("/portal/", 1)[1]


@dataclass
class Shop:
    customers: list[Account]
    resellers: list[Account]
    orders: list[int] = field(default_factory=list)  # any order: REST item reads and staff PDFs
    open_orders: list[int] = field(default_factory=list)  # not completed or cancelled: internal notes
    terms: list[str] = field(default_factory=list)  # order numbers and unit serial numbers to search for


def _busiest(kinds: tuple[str, ...], count: int) -> list[Customer]:
    """The active accounts of these kinds with the most work orders (ties by id)."""
    orders = func.count(WorkOrder.id)
    stmt = (select(Customer).join(WorkOrder, WorkOrder.customer_id == Customer.id)
            .where(Customer.kind.in_(kinds), Customer.locked.is_(False), Customer.archived_at.is_(None),
                   Customer.email.is_not(None))
            .group_by(Customer.id).order_by(orders.desc(), Customer.id).limit(count))
    return list(db.session.scalars(stmt))


def _account(customer: Customer, actor: Actor, rng: random.Random) -> Account:
    invitation = perform(customer, "invite", actor, {"email": customer.email, "name": customer.name})
    ids = sorted(db.session.scalars(select(WorkOrder.id).where(WorkOrder.customer_id == customer.id)))
    return Account(customer.id, invitation.id, customer.kind, rng.sample(ids, min(OWN_ORDERS, len(ids))))


def renew_links(shop: Shop) -> None:
    """A fresh login link for every account: logging out revokes the link a session was opened with."""
    actor = Actor.for_user(bench_user())
    for account in shop.customers + shop.resellers:
        customer = db.session.get(Customer, account.customer_id)
        account.link = perform(customer, "login_link", actor, {"portal_user": account.portal_user_id})


def _sample(stmt, rng: random.Random, count: int = POOL) -> list:
    values = sorted(db.session.scalars(stmt))
    return rng.sample(values, min(count, len(values)))


def prepare(customers: int = 4, resellers: int = 4, seed: int = 42) -> Shop:
    """Portal logins for the busiest ``customers`` (individual or business) and ``resellers``, and the pools."""
    actor = Actor.for_user(bench_user())
    rng = random.Random(seed)
    shop = Shop(
        customers=[_account(c, actor, rng) for c in _busiest(("individual", "business"), customers)],
        resellers=[_account(c, actor, rng) for c in _busiest(("reseller",), resellers)],
    )
    if not shop.customers or not shop.resellers:
        raise SystemExit("the database holds no customers and resellers with orders: run 'python -m bench.generate'")
    # ids drawn from a sorted list by a seeded generator: the same shop and seed give the same pools
    step = max(1, (db.session.scalar(select(func.max(WorkOrder.id))) or 1) // (POOL * 20))
    shop.orders = _sample(select(WorkOrder.id).where(WorkOrder.id % step == 0), rng)
    shop.open_orders = _sample(select(WorkOrder.id).where(WorkOrder.status.not_in(("completed", "cancelled"))), rng)
    numbers = _sample(select(WorkOrder.number).where(WorkOrder.id % step == 0), rng, POOL // 2)
    serials = _sample(select(Unit.serial_number).where(Unit.serial_number.is_not(None), Unit.id % step == 0), rng,
                      POOL // 2)
    shop.terms = numbers + serials
    renew_links(shop)
    return shop


def bench_user():
    from flask import current_app

    user = current_app.appbuilder.sm.find_user(username=BENCH_USER)
    if user is None:
        raise SystemExit(f"no staff user {BENCH_USER!r}: run 'python -m bench.generate' on this database first")
    return user
