"""Time the staff search box on the benchmark shop: ``python -m bench.search``.

For each database (``DATABASE_URL``; with ``--both`` the SQLite file and ``--pg-url``) it picks real terms
from the shop — an IMEI, a serial number, a work order number, the start of a customer's name, an e-mail
address, a phone number, a plate, a VIN and a term that finds nothing — and asks the navbar's endpoint
(``GET /search/?q=…``, JSON, as ``bench``) for each ``--warmup`` + ``--samples`` times, timing each request and
counting its SQL statements (with ``bench.run.measure``). The ``search`` column times
``global_search.search_everything`` alone (no HTTP, no login, no permission check), with its statement
count. Target: the search under 50 ms median at 100,000 orders on SQLite, a statement count that does not
depend on the term's hits.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import event, func, select

from .run import DEFAULT_PG, DEFAULT_SQLITE, Result, build_app, login, measure

TARGET_MS = 50.0


@dataclass
class Probe:
    """One search term, shaped like ``bench.run.Page`` for ``measure`` (the page size does not apply)."""

    label: str
    term: str

    @property
    def url(self) -> str:
        return "/search/?" + urlencode({"q": self.term, "format": "json"})

    def at(self, _psize: int) -> str:
        return self.url


def probes(session) -> list[Probe]:
    """Terms people type, taken from the shop's own rows (from the middle of each table, not its first row)."""
    from app.models import Customer, Unit, WorkOrder

    def middle(column, *where):
        stmt = select(column).where(column.is_not(None), *where).order_by(column)
        count = session.scalar(select(func.count()).select_from(stmt.subquery()))
        return session.scalar(stmt.offset(count // 2).limit(1)) if count else None

    order = middle(WorkOrder.number)
    imei = middle(Unit.imei, Unit.id.in_(select(WorkOrder.unit_id)))
    name = middle(Customer.name)
    found = [
        ("IMEI", imei), ("serial", middle(Unit.serial_number)), ("WO number", order),
        ("WO number, short", "wo-" + str(int(order.split("-")[1])) if order else None),
        ("bare number (every kind)", str(int(order.split("-")[1])) if order else None),
        ("customer name prefix", name[:6] if name else None), ("e-mail", middle(Customer.email)),
        ("phone", middle(Customer.phone)), ("plate", middle(Unit.unit_number, Unit.kind == "vehicle")),
        ("VIN", middle(Unit.vin)), ("miss", "no-such-thing-4711"),
    ]
    return [Probe(label, term) for label, term in found if term]


def time_service(app, probe: Probe, warmup: int, samples: int) -> tuple[float, int, int]:
    """(median ms, statements, hits) of ``search_everything`` alone, a fresh session per call."""
    from app.core.scope import actor_for
    from app.extensions import db
    from app.models import User
    from app.services.global_search import search_everything

    from .generate import BENCH_USER

    times, statements, hits = [], [], 0
    for n in range(warmup + samples):
        with app.app_context():
            staff = actor_for(db.session.scalar(select(User).where(User.username == BENCH_USER)))
            seen = []
            listener = lambda *_args, seen=seen: seen.append(1)  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listener)
            started = time.perf_counter()
            groups = search_everything(staff, probe.term)
            elapsed = time.perf_counter() - started
            event.remove(db.engine, "before_cursor_execute", listener)
            if n >= warmup:
                times.append(elapsed)
                statements.append(len(seen))
                hits = sum(len(group.hits) for group in groups)
    return statistics.median(times) * 1000, max(statements), hits


def run_database(url: str, warmup: int, samples: int, echo) -> list[dict]:
    from app.extensions import db

    app = build_app(url)
    with app.app_context():
        engine = db.engine
        chosen = probes(db.session)
    client = app.test_client()
    login(client)
    rows = []
    for probe in chosen:
        result: Result = measure(client, engine, probe, engine.dialect.name, 0, warmup, samples)
        service_ms, service_statements, hits = time_service(app, probe, warmup, samples)
        rows.append({"db": engine.dialect.name, "probe": probe, "result": result, "service_ms": service_ms,
                     "service_statements": service_statements, "hits": hits})
        echo(f"  {engine.dialect.name:10} {probe.label:22} {probe.term[:24]:24} {result.median_ms:6.1f} ms request, "
             f"{service_ms:6.1f} ms search, {service_statements} statements, {hits} hits"
             f"{' ' + result.error if result.error else ''}")
    engine.dispose()
    return rows


def table(rows: list[dict]) -> str:
    header = ("term", "db", "request median ms", "request p95 ms", "request statements", "search median ms",
              "search statements", "hits")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        result, probe = row["result"], row["probe"]
        lines.append("| " + " | ".join((
            f"{probe.label} (`{probe.term}`)", row["db"],
            f"{result.median_ms:.1f}" if result.times else result.error or "-",
            f"{result.p95_ms:.1f}" if result.times else "-", result.query_label,
            f"{row['service_ms']:.1f}", str(row["service_statements"]), str(row["hits"]))) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__.splitlines()[0])
    parser.add_argument("--both", action="store_true", help="SQLite and PostgreSQL")
    parser.add_argument("--sqlite-url", help=f"SQLite database for --both (default: {DEFAULT_SQLITE})")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args(argv)

    from config import Config

    primary = os.environ.get("DATABASE_URL") or Config.SQLALCHEMY_DATABASE_URI
    urls = [primary]
    if args.both:
        urls = [args.sqlite_url or (primary if primary.startswith("sqlite") else DEFAULT_SQLITE), args.pg_url]
    echo = lambda message: print(message, file=sys.stderr)  # noqa: E731 - progress goes to stderr
    rows = []
    for url in urls:
        echo(f"measuring {url}")
        rows += run_database(url, args.warmup, args.samples, echo)
    print(table(rows))
    print()
    print(f"{args.samples} timed requests per term after {args.warmup} warm-ups; 1-minute load average "
          f"{os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    for db_name in dict.fromkeys(row["db"] for row in rows):
        mine = [row for row in rows if row["db"] == db_name and row["result"].times]
        if not mine:
            continue
        request = statistics.median(t for row in mine for t in row["result"].times) * 1000
        search = statistics.median(row["service_ms"] for row in mine)
        most = max(row["service_statements"] for row in mine)
        verdict = "meets" if search < TARGET_MS else "MISSES"
        print(f"- {db_name}: search {search:.1f} ms median over the terms, whole request {request:.1f} ms; "
              f"at most {most} statements per search; {verdict} the {TARGET_MS:.0f} ms target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
