"""Time the staff list pages against a bare Flask-AppBuilder list: ``python -m bench.run``.

For each database (``DATABASE_URL``; with ``--both`` a SQLite file and ``--pg-url``) it builds the app,
adds ``BareWorkOrderView`` (FAB's plain ModelView over ``work_order``) and ``BareWorkOrderApi`` (FAB's plain
ModelRestApi over it), logs in as ``bench`` through the test client (a session for the pages, a JWT for the
REST lists) and requests every list ``--warmup`` times, then ``--samples`` times while timing each request
and counting its SQL statements. Each list is measured at page size 25 and 100. The requests of one round go
to every list in turn (the order rotating each round), so a change in the machine's load falls on all of them
alike and the ratios to the bare lists stay fair.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from flask_appbuilder import ModelRestApi, ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import event

from app.models import WorkOrder

from .generate import BENCH_PASSWORD, BENCH_USER

#: Models whose staff list pages are measured (matched on the view's ``datamodel.obj``).
MODELS = ("WorkOrder", "ServiceRequest", "Estimate", "Invoice", "Customer", "Unit", "Shipment")
PAGE_SIZES = (25, 100)
DEFAULT_SQLITE = "sqlite:////tmp/portico-bench.db"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/portico_bench"
TARGET_RATIO = 1.0
#: The REST lists measured against the bare ModelRestApi (SPEC §8's work order list).
API_PAGES = ("/api/v1/work_order/",)


class BareWorkOrderView(ModelView):
    """The yardstick: FAB's list over the same table with nothing added.

    Only the search columns are narrowed: FAB's default search form offers every column, relationships
    included, and fills each relationship's select with every row of the related table (customers, units,
    work items…) on every list request — 39 s a page at 100,000 orders. No real view can afford that.
    """

    datamodel = SQLAInterface(WorkOrder)
    list_columns = ["number", "status", "created_at"]
    search_columns = ["number", "status", "created_at"]


class CachedBareWorkOrderView(BareWorkOrderView):
    """The same bare list with Portico's permission cache: shows what the cache alone is worth."""


class BareWorkOrderApi(ModelRestApi):
    """The REST yardstick: FAB's ModelRestApi over the same table with nothing added."""

    resource_name = "bare_work_order"
    datamodel = SQLAInterface(WorkOrder)
    list_columns = ["id", "number", "status", "created_at"]
    search_columns = ["number", "status", "created_at"]


@dataclass
class Page:
    url: str
    view: str  # the view class name: FAB reads the page size from ``psize_<view>``
    api: bool = False  # a REST list: page size in the Rison ``q``, a JWT instead of the session

    def at(self, psize: int) -> str:
        if self.api:
            return f"{self.url}?q=(page_size:{psize})"
        return f"{self.url}{'&' if '?' in self.url else '?'}psize_{self.view}={psize}"


@dataclass
class Result:
    page: Page
    db: str
    psize: int
    times: list[float] = field(default_factory=list)  # seconds, wall clock
    cpu: list[float] = field(default_factory=list)  # seconds of this process's CPU (less swayed by other load)
    queries: list[int] = field(default_factory=list)
    error: str | None = None
    repeats: dict[str, int] = field(default_factory=dict)  # table -> SELECTs per request, when repeated

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times) * 1000 if self.times else math.nan

    @property
    def cpu_ms(self) -> float:
        return statistics.median(self.cpu) * 1000 if self.cpu else math.nan

    @property
    def p95_ms(self) -> float:  # nearest rank
        ordered = sorted(self.times)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000 if ordered else math.nan

    @property
    def query_label(self) -> str:
        if not self.queries:
            return "-"
        low, high = min(self.queries), max(self.queries)
        return str(low) if low == high else f"{low}-{high}"


def normalize(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def build_app(url: str):
    """The Portico app on ``url`` with the bare view registered and the Admin role granted it."""
    from app import create_app
    from app.security import sync_security

    app = create_app("config.Config", SQLALCHEMY_DATABASE_URI=normalize(url), WTF_CSRF_ENABLED=False,
                     RATELIMIT_ENABLED=False, AUTH_RATE_LIMITED=False, PORTICO_SYNC_SECURITY_ON_START=True)
    with app.app_context():
        appbuilder = app.appbuilder
        appbuilder.add_view_no_menu(BareWorkOrderView)
        appbuilder.add_view_no_menu(CachedBareWorkOrderView)
        appbuilder.add_api(BareWorkOrderApi)
        appbuilder.add_permissions(update_perms=True)
        sync_security(appbuilder)
        serve_bare_as_stock_fab(appbuilder.sm)
    return app


#: Endpoints served with Flask-AppBuilder's own permission checks: the yardsticks are stock FAB.
STOCK_ENDPOINTS = (f"{BareWorkOrderView.__name__}.", f"{BareWorkOrderApi.__name__}.")


def serve_bare_as_stock_fab(sm) -> None:
    """The bare lists answer their permission checks as stock FAB does — one query per check (the menu's
    entries, the view's own permission) — instead of from Portico's cache (app/ops/permission_cache.py).
    Only this bench's app is changed; ``CachedBareWorkOrderView`` keeps the cache for comparison."""
    from flask import request
    from flask_appbuilder.security.sqla.manager import SecurityManager

    cached, cached_public = sm.exist_permission_on_roles, sm.is_item_public

    def check(view_name, permission_name, role_ids):
        if (request.endpoint or "").startswith(STOCK_ENDPOINTS):
            return SecurityManager.exist_permission_on_roles(sm, view_name, permission_name, role_ids)
        return cached(view_name, permission_name, role_ids)

    def public(permission_name, view_name):
        if (request.endpoint or "").startswith(STOCK_ENDPOINTS):
            return SecurityManager.is_item_public(sm, permission_name, view_name)
        return cached_public(permission_name, view_name)

    sm.exist_permission_on_roles, sm.is_item_public = check, public


def discover(app) -> list[Page]:
    """The list URL of every ModelView over one of ``MODELS``, from the app's URL map."""
    views = {view.endpoint: view for view in app.appbuilder.baseviews}
    pages = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.endswith(".list") or rule.arguments:
            continue
        view = views.get(rule.endpoint.rsplit(".", 1)[0])
        model = getattr(getattr(view, "datamodel", None), "obj", None)
        if model is not None and model.__name__ in MODELS and not isinstance(view, BareWorkOrderView):
            pages.append(Page(rule.rule, type(view).__name__))
    return sorted(pages, key=lambda p: p.url)


def page_for(app, url: str) -> Page:
    """A ``--pages`` URL, with its view's name looked up for the page size argument."""
    path = url.split("?", 1)[0]
    try:
        endpoint, _ = app.url_map.bind("localhost").match(path)
        name = endpoint.rsplit(".", 1)[0]
    except Exception:  # noqa: BLE001 - an unknown URL is still timed; its page size stays FAB's default
        name = "unknown"
    views = {view.endpoint: type(view).__name__ for view in app.appbuilder.baseviews}
    return Page(url, views.get(name, name))


def bare_page(app, cls=BareWorkOrderView) -> Page:
    for view in app.appbuilder.baseviews:
        if type(view) is cls:
            return Page(f"{view.route_base}/list/", type(view).__name__)
    raise RuntimeError(f"{cls.__name__} is not registered")


def bare_api(app) -> Page:
    for view in app.appbuilder.baseviews:
        if isinstance(view, BareWorkOrderApi):
            return Page(f"{view.route_base}/", type(view).__name__, api=True)
    raise RuntimeError("BareWorkOrderApi is not registered")


def api_pages(app) -> list[Page]:
    names = {view.route_base + "/": type(view).__name__ for view in app.appbuilder.baseviews}
    return [Page(url, names.get(url, "unknown"), api=True) for url in API_PAGES]


def login(client) -> dict:
    """A session for the pages; returns the Authorization header for the REST lists."""
    response = client.post("/login/", data={"username": BENCH_USER, "password": BENCH_PASSWORD})
    if response.status_code != 302 or "/login" in response.headers.get("Location", ""):
        raise SystemExit(f"cannot log in as {BENCH_USER!r}: run 'python -m bench.generate' on this database first")
    token = client.post("/api/v1/security/login", json={"username": BENCH_USER, "password": BENCH_PASSWORD,
                                                        "provider": "db"})
    if token.status_code != 200:
        raise SystemExit(f"cannot get a token for {BENCH_USER!r}: HTTP {token.status_code}")
    return {"Authorization": f"Bearer {token.get_json()['access_token']}"}


def repeated_tables(statements: list[str]) -> dict[str, int]:
    """Tables read more than twice in one request (lazy loads per row), the menu's permission checks aside."""
    tables = Counter(m.group(1) for st in statements if (m := re.search(r"\bFROM\s+\"?([a-z_]\w*)", st)))
    return {t: n for t, n in tables.most_common() if n > 2 and not t.startswith("ab_permission")}


def measure(client, engine, pages: list[Page], db_name: str, psize: int, warmup: int, samples: int,
            headers: dict) -> list[Result]:
    """Every page at one page size, round by round: each round requests each page once."""
    results = [Result(page, db_name, psize) for page in pages]
    statements: list[str] = []

    def counter(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", counter)
    try:
        for n in range(warmup + samples):
            shift = n % len(results)
            for result in results[shift:] + results[:shift]:
                if result.error:
                    continue
                statements.clear()
                started, cpu_started = time.perf_counter(), time.process_time()
                response = client.get(result.page.at(psize), headers=headers if result.page.api else None)
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
                if response.status_code != 200:
                    result.error = f"HTTP {response.status_code}"
                    continue
                if n >= warmup:
                    result.times.append(elapsed)
                    result.cpu.append(cpu)
                    result.queries.append(len(statements))
                if n == warmup + samples - 1:
                    result.repeats = repeated_tables(statements)
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    return results


def run_database(url: str, explicit: list[str], warmup: int, samples: int, echo) -> tuple[list[Result], list[str]]:
    """Every page on one database: (results, names of the models without a list page yet)."""
    from app.extensions import db

    app = build_app(url)
    with app.app_context():
        engine = db.engine
        pages = [page_for(app, u) for u in explicit] if explicit else discover(app)
        covered = {page.view for page in pages}
        found = {v.datamodel.obj.__name__ for v in app.appbuilder.baseviews if type(v).__name__ in covered}
        pending = [] if explicit else [m for m in MODELS if m not in found]
        pages = ([bare_page(app), bare_page(app, CachedBareWorkOrderView), *pages]
                 + ([] if explicit else [bare_api(app), *api_pages(app)]))
    # Requests run outside any app context, as under a real server: each one gets its own context and so
    # its own database session. (Inside one, the session and its identity map would live across requests
    # and hide every lazy load after the first request.)
    client = app.test_client()
    headers = login(client)
    results = []
    for psize in PAGE_SIZES:
        for result in measure(client, engine, pages, engine.dialect.name, psize, warmup, samples, headers):
            echo(f"  {result.db:10} {result.page.url:40} psize {psize:>3}: {result.median_ms:7.1f} ms median, "
                 f"{result.query_label} queries{' ' + result.error if result.error else ''}")
            results.append(result)
    engine.dispose()
    return results, pending


def is_bare(result: Result) -> bool:
    return result.page.view in (BareWorkOrderView.__name__, BareWorkOrderApi.__name__)


def ratio(result: Result, results: list[Result]) -> float:
    """The median over the bare list's of the same kind (page or REST), database and page size."""
    for other in results:
        if (is_bare(other) and other.page.api == result.page.api and other.db == result.db
                and other.psize == result.psize and other.times):
            return result.median_ms / other.median_ms
    return math.nan


def table(results: list[Result], markdown: bool) -> str:
    header = ("page", "db", "psize", "median ms", "p95 ms", "cpu ms", "queries", "× bare FAB")
    rows = []
    for r in results:
        x = ratio(r, results)
        rows.append((
            r.page.url + ((" (bare FAB REST)" if r.page.api else " (bare FAB)") if is_bare(r) else
                          " (bare FAB + Portico's permission cache)" if r.page.view == CachedBareWorkOrderView.__name__
                          else ""),
            r.db, str(r.psize),
            f"{r.median_ms:.1f}" if r.times else r.error or "-", f"{r.p95_ms:.1f}" if r.times else "-",
            f"{r.cpu_ms:.1f}" if r.cpu else "-",
            r.query_label, "-" if math.isnan(x) else f"{x:.2f}" + (" !" if x > TARGET_RATIO else ""),
        ))
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join(fmt.format(*row) for row in [header, *rows])


def verdict(results: list[Result]) -> list[str]:
    """Pages over the target ratio or whose (median) statement count grows with the page size. Medians: a
    request that happens to reload the permission cache (its lifetime ran out) reads two more."""
    notes = []
    by_key = {(r.page.url, r.db, r.psize): r for r in results}
    for r in results:
        x = ratio(r, results)
        if not is_bare(r) and r.page.view != CachedBareWorkOrderView.__name__ and x > TARGET_RATIO:
            notes.append(f"{r.page.url} on {r.db} at psize {r.psize}: {x:.2f}× the bare FAB list")
        small = by_key.get((r.page.url, r.db, PAGE_SIZES[0]))
        if (r.psize != PAGE_SIZES[0] and small and small.queries and r.queries
                and statistics.median(r.queries) > statistics.median(small.queries)):
            repeats = ", ".join(f"{table} ×{n}" for table, n in r.repeats.items())
            notes.append(f"{r.page.url} on {r.db}: {small.query_label} queries at psize {small.psize}, "
                         f"{r.query_label} at psize {r.psize}" + (f" (per-row reads: {repeats})" if repeats else ""))
    return notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--both", action="store_true", help="run against --sqlite-url and --pg-url")
    parser.add_argument("--sqlite-url", help=f"SQLite database for --both (default: DATABASE_URL if SQLite, "
                                             f"else {DEFAULT_SQLITE})")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL database for --both")
    parser.add_argument("--pages", nargs="+", metavar="URL", help="list URLs to measure instead of discovering")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)

    from config import Config

    primary = os.environ.get("DATABASE_URL") or Config.SQLALCHEMY_DATABASE_URI
    urls = [primary]
    if args.both:
        sqlite = args.sqlite_url or (primary if primary.startswith("sqlite") else DEFAULT_SQLITE)
        urls = [sqlite, args.pg_url]
    echo = lambda message: print(message, file=sys.stderr)  # noqa: E731 - progress goes to stderr
    results, pending = [], set()
    load_before = os.getloadavg()[0]
    for url in urls:
        echo(f"measuring {url}")
        found, missing = run_database(url, args.pages or [], args.warmup, args.samples, echo)
        results += found
        pending.update(missing)
    print(table(results, args.markdown))
    notes = verdict(results)
    print()
    print(f"{args.samples} timed requests per row after {args.warmup} warm-ups; 1-minute load average "
          f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after ({os.cpu_count()} CPUs)")
    print(f"target: every list at or under {TARGET_RATIO}× the bare FAB list of its kind, queries not growing "
          "with psize")
    for note in notes or ["all pages meet the target"]:
        print(f"- {note}")
    if pending:
        print(f"- no list page yet for: {', '.join(m for m in MODELS if m in pending)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
