"""Fill a database with the benchmark shop: ``python -m bench.generate --orders 100000``.

``generate(session_or_connection, orders=…, seed=…)`` writes the rows with SQLAlchemy Core ``insert()``
in batches (executemany) and leaves committing to the caller. The command line wraps it: it migrates the
database (``db upgrade``), refuses a non-empty one unless ``--force`` (which wipes the business tables first), sets
the document number counters, and creates the staff user ``bench`` (Admin) that ``bench.run`` logs in as.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time

from flask_appbuilder import Model
from sqlalchemy import bindparam, func, inspect, select, text, update
from sqlalchemy.engine import Connection
from werkzeug.security import generate_password_hash

from . import catalog as c
from .orders import SPAN, TABLES, Orders
from .people import People

BATCH = 5000
CHUNK = 5000  # orders built (and held in memory) at a time
TECHNICIANS = 12
BENCH_USER, BENCH_PASSWORD = "bench", "bench-password"
#: Tables ``--force`` leaves alone: security, migrations, shop settings, counters and the reference lists.
KEEP = {"alembic_version", "settings", "document_sequence", "service_type", "service_location", "shipping_method"}


class Ids:
    """Hands out primary keys after the highest one already in each table."""

    def __init__(self, conn):
        self.conn = conn
        self._next: dict[str, int] = {}

    def next(self, table: str) -> int:
        if table not in self._next:
            column = Model.metadata.tables[table].c.id
            self._next[table] = (self.conn.execute(select(func.max(column))).scalar() or 0) + 1
        value = self._next[table]
        self._next[table] = value + 1
        return value

    @property
    def tables(self) -> list[str]:
        return list(self._next)


def insert_rows(conn, table: str, rows: list[dict]) -> None:
    target = Model.metadata.tables[table]
    for start in range(0, len(rows), BATCH):
        conn.execute(target.insert(), rows[start:start + BATCH])


def reference(conn, ids: Ids) -> dict[str, list[int]]:
    """Service types, locations, shipping methods (kept if present) and the technicians' user ids."""
    wanted = {
        "service_type": [{"name": n, "duration_minutes": m, "description": None, "active": True}
                         for n, m in c.SERVICE_TYPES],
        "service_location": [{"name": n, "city": city, "postal_code": pc, "country": "DE", "active": True}
                             for n, city, pc in c.SERVICE_LOCATIONS],
        "shipping_method": [{"name": n, "carrier": carrier, "active": True} for n, carrier in c.SHIPPING_METHODS],
    }
    refs = {}
    for table, rows in wanted.items():
        target = Model.metadata.tables[table]
        have = set(conn.execute(select(target.c.name)).scalars())
        missing = [dict(row, id=ids.next(table)) for row in rows if row["name"] not in have]
        if missing:
            insert_rows(conn, table, missing)
        refs[table] = list(conn.execute(select(target.c.id).order_by(target.c.id)).scalars())
    refs["technician"] = technicians(conn)
    return refs


def technicians(conn) -> list[int]:
    """Users ``bench-tech-01``… with the Technician role (if it exists). They cannot log in."""
    users, links, roles = (Model.metadata.tables[t] for t in ("ab_user", "ab_user_role", "ab_role"))
    names = [f"bench-tech-{n:02d}" for n in range(1, TECHNICIANS + 1)]
    have = set(conn.execute(select(users.c.username).where(users.c.username.in_(names))).scalars())
    missing = [n for n in names if n not in have]
    if missing:
        unusable = generate_password_hash("!" + str(random.random()))
        conn.execute(users.insert(), [
            {"username": n, "first_name": "Tech", "last_name": n[-2:], "email": f"{n}@bench.portico.example",
             "password": unusable, "active": True} for n in missing
        ])
        role_id = conn.execute(select(roles.c.id).where(roles.c.name == "Technician")).scalar()
        if role_id is not None:
            new_ids = conn.execute(select(users.c.id).where(users.c.username.in_(missing))).scalars()
            conn.execute(links.insert(), [{"user_id": uid, "role_id": role_id} for uid in new_ids])
    return list(conn.execute(select(users.c.id).where(users.c.username.in_(names)).order_by(users.c.id)).scalars())


def ensure_settings(conn) -> None:
    settings = Model.metadata.tables["settings"]
    if conn.execute(select(func.count()).select_from(settings)).scalar() == 0:
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        conn.execute(settings.insert(), [{"shop_name": "Portico Bench Shop", "created_at": now, "updated_at": now}])


def set_counters(conn, counters: dict[str, int]) -> None:
    """Each ``document_sequence`` counter becomes the highest number used."""
    sequence = Model.metadata.tables["document_sequence"]
    have = set(conn.execute(select(sequence.c.name)).scalars())
    for name, value in counters.items():
        if name in have:
            conn.execute(update(sequence).where(sequence.c.name == name).values(value=value))
        else:
            conn.execute(sequence.insert().values(name=name, value=value))


def reset_pg_sequences(conn, tables: list[str]) -> None:
    """Rows were inserted with explicit ids: move PostgreSQL's id sequences past them."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM \"{table}\""))


def generate(session_or_connection, orders: int = 100_000, seed: int = 42, now: dt.datetime | None = None,
             log=None) -> dict[str, int]:
    """Write a shop with ``orders`` work orders and ``orders // 10`` customers; return rows per table.

    ``now`` (naive UTC) ends the three years of history; it defaults to today's midnight so that one seed
    gives the same shop all day. The caller commits.
    """
    conn = session_or_connection
    if not isinstance(conn, Connection):  # a Session or scoped_session: write in its transaction
        conn = conn.connection()
    rng = random.Random(seed)
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    log = log or (lambda message: None)
    started = time.perf_counter()
    counts: dict[str, int] = {}

    def write(rows_by_table: dict[str, list[dict]]) -> None:
        for table, rows in rows_by_table.items():
            insert_rows(conn, table, rows)
            counts[table] = counts.get(table, 0) + len(rows)

    ids = Ids(conn)
    ensure_settings(conn)
    refs = reference(conn, ids)
    people = People(rng, ids, refs, created_before=now - SPAN)
    customers = people.build(max(1, orders // 10))
    write(people.rows)
    customer = Model.metadata.tables["customer"]
    conn.execute(
        update(customer).where(customer.c.id == bindparam("b_id")).values(
            default_service_address_id=bindparam("b_service"), default_billing_address_id=bindparam("b_billing")),
        people.defaults,
    )
    log(f"customers: {len(customers)} in {time.perf_counter() - started:.1f} s")
    builder = Orders(rng, ids, refs, customers, now, orders)
    for first in range(0, orders, CHUNK):
        write(builder.build(first, min(first + CHUNK, orders)))
        log(f"orders: {min(first + CHUNK, orders)} in {time.perf_counter() - started:.1f} s")
    set_counters(conn, builder.counters)
    reset_pg_sequences(conn, ids.tables)
    return {table: counts.get(table, 0) for table in ("customer", "address", "unit", *TABLES)}


# -- command line ------------------------------------------------------------------------------------------
def business_tables() -> list:
    return [t for t in reversed(Model.metadata.sorted_tables) if t.name not in KEEP and not t.name.startswith("ab_")]


def wipe(conn) -> None:
    tables = business_tables()
    if conn.dialect.name == "postgresql":
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " CASCADE"))
    else:
        for table in tables:
            conn.execute(table.delete())
    conn.execute(text("UPDATE document_sequence SET value = 0"))


def is_empty(conn) -> bool:
    return all(conn.execute(select(func.count()).select_from(Model.metadata.tables[name])).scalar() == 0
               for name in ("customer", "work_order"))


def ensure_bench_user() -> None:
    from flask import current_app

    from app.security import sync_security

    sm = current_app.appbuilder.sm
    role = sm.find_role("Admin")
    if role is None:
        sync_security(current_app.appbuilder)
        role = sm.find_role("Admin")
    if sm.find_user(username=BENCH_USER) is None:
        user = sm.add_user(BENCH_USER, "Bench", "Runner", "bench@bench.portico.example", role, password=BENCH_PASSWORD)
        if not user:
            raise SystemExit("could not create the bench user")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000, help="work orders to create (customers: a tenth)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--force", action="store_true", help="wipe the business tables of a non-empty database")
    args = parser.parse_args(argv)

    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.security import sync_security

    app = create_app()
    with app.app_context():
        url = db.engine.url.render_as_string(hide_password=True)
        fresh = not inspect(db.engine).has_table("work_order")
        upgrade()  # builds an empty database, brings an older bench database to the models' schema
        if fresh or app.appbuilder.sm.find_role("Admin") is None:
            sync_security(app.appbuilder)
        with db.engine.begin() as conn:
            if not is_empty(conn):
                if not args.force:
                    print(f"{url} already holds customers or work orders; use --force to wipe them", file=sys.stderr)
                    return 2
                print("wiping business tables")
                wipe(conn)
        started = time.perf_counter()
        with db.engine.begin() as conn:
            counts = generate(conn, orders=args.orders, seed=args.seed, log=print)
        elapsed = time.perf_counter() - started
        ensure_bench_user()
        print(f"generated into {url} in {elapsed:.1f} s ({sum(counts.values())} rows)")
        for table, count in counts.items():
            print(f"  {table:16} {count:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
