"""Time the report catalogue and the manager dashboard on the benchmark shop: ``python -m bench.reports``.

For each database (``DATABASE_URL``; with ``--both`` the SQLite file and ``--pg-url``) and each period
(``--periods``, default ``last_30_days`` and ``all_time``: three years, every order) it runs every report of
``app.reports.CATALOGUE`` ``--samples`` times and reports the median time of the report itself (SQL and
pandas), of its files (PDF with charts and the CSVs, written to a temporary folder) and the peak memory
the report allocated (``tracemalloc``, in a separate run so that tracing does not slow the timed ones).
Then it requests ``/dashboard/`` through the test client as ``bench`` (``--warmup`` + ``--samples``
times) and reports the median, p95 and SQL statement count. Targets: a report under 10 s, the dashboard
under 300 ms.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from sqlalchemy import event, func, select

from .run import DEFAULT_PG, DEFAULT_SQLITE, build_app, login

REPORT_TARGET_S = 10.0
DASHBOARD_TARGET_MS = 300.0


def _biggest_reseller(session) -> int | None:
    from app.models import Customer, WorkOrder

    return session.scalar(select(WorkOrder.customer_id).join(Customer, Customer.id == WorkOrder.customer_id)
                          .where(Customer.kind == "reseller").group_by(WorkOrder.customer_id)
                          .order_by(func.count(WorkOrder.id).desc()).limit(1))


def _one_report(session, module, period: str, zone, now, folder: Path, filters: dict) -> tuple[float, float, int]:
    """(seconds to run, seconds to write its files, rows) for one run of ``module``."""
    from app.reports.periods import period_bounds
    from app.reports.render import render_pdf, write_csv

    start, end, label = period_bounds(period, zone, now)
    extra = {"output_dir": folder} if getattr(module, "WRITES_FILES", False) else {}
    began = time.perf_counter()
    result = module.run(session, start, end, zone=zone, now=now, **extra, **filters)
    ran = time.perf_counter() - began
    if not getattr(module, "WRITES_FILES", False):
        (folder / "report.pdf").write_bytes(render_pdf(result, name=module.TITLE, period=label, generated="bench",
                                                       shop="bench"))
        for index, table in enumerate(result.tables):
            write_csv(table, folder / f"table-{index}.csv")
    session.rollback()
    return ran, time.perf_counter() - began - ran, result.row_count


def measure_reports(app, periods: list[str], samples: int, echo) -> list[dict]:
    from app.core.settings import shop_zone
    from app.extensions import db
    from app.models import utcnow
    from app.reports import CATALOGUE

    rows = []
    with app.app_context(), tempfile.TemporaryDirectory(prefix="portico-bench-reports-") as tmp:
        zone, now, folder = shop_zone(), utcnow(), Path(tmp)
        reseller = _biggest_reseller(db.session)
        for period in periods:
            for kind, module in CATALOGUE.items():
                filters = {"customer_id": reseller} if kind == "reseller_orders_csv" else {}
                runs = [_one_report(db.session, module, period, zone, now, folder, filters) for _ in range(samples)]
                tracemalloc.start()
                _one_report(db.session, module, period, zone, now, folder, filters)
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                row = {"db": db.engine.dialect.name, "period": period, "kind": kind,
                       "run_s": statistics.median(r[0] for r in runs), "files_s": statistics.median(r[1] for r in runs),
                       "rows": runs[0][2], "peak_mb": peak / 1024 / 1024}
                row["total_s"] = row["run_s"] + row["files_s"]
                echo(f"  {row['db']:10} {period:13} {kind:20} {row['run_s']:6.2f} s + files {row['files_s']:5.2f} s, "
                     f"{row['rows']:>7} rows, peak {row['peak_mb']:6.1f} MB")
                rows.append(row)
        db.engine.dispose()
    return rows


def measure_dashboard(app, warmup: int, samples: int, echo) -> dict:
    from app.extensions import db

    with app.app_context():
        engine = db.engine
    client = app.test_client()
    login(client)
    statements: list[str] = []

    def counter(*_args):
        statements.append("")

    times, counts = [], []
    event.listen(engine, "before_cursor_execute", counter)
    try:
        for n in range(warmup + samples):
            statements.clear()
            began = time.perf_counter()
            response = client.get("/dashboard/")
            elapsed = time.perf_counter() - began
            if response.status_code != 200:
                raise SystemExit(f"/dashboard/ answered {response.status_code}")
            if n >= warmup:
                times.append(elapsed)
                counts.append(len(statements))
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    ordered = sorted(times)
    result = {"db": engine.dialect.name, "median_ms": statistics.median(times) * 1000,
              "p95_ms": ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000, "queries": max(counts)}
    echo(f"  {result['db']:10} /dashboard/ {result['median_ms']:6.1f} ms median, p95 {result['p95_ms']:6.1f} ms, "
         f"{result['queries']} statements")
    engine.dispose()
    return result


def markdown(reports: list[dict], dashboards: list[dict]) -> str:
    lines = ["| database | period | report | rows | report (s) | files (s) | total (s) | peak memory (MB) |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in reports:
        flag = " ⚠" if r["total_s"] > REPORT_TARGET_S else ""
        lines.append(f"| {r['db']} | {r['period']} | {r['kind']} | {r['rows']:,} | {r['run_s']:.2f} | "
                     f"{r['files_s']:.2f} | {r['total_s']:.2f}{flag} | {r['peak_mb']:.1f} |")
    lines += ["", "| database | dashboard median (ms) | p95 (ms) | SQL statements |", "|---|---:|---:|---:|"]
    for d in dashboards:
        lines.append(f"| {d['db']} | {d['median_ms']:.1f} | {d['p95_ms']:.1f} | {d['queries']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--both", action="store_true", help="SQLite and PostgreSQL")
    parser.add_argument("--sqlite-url", default=None)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--periods", nargs="+", default=["last_30_days", "all_time"])
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--dashboard-samples", type=int, default=20)
    args = parser.parse_args(argv)

    def echo(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    env = os.environ.get("DATABASE_URL", "")
    if args.both:
        urls = [args.sqlite_url or (env if env.startswith("sqlite") else DEFAULT_SQLITE), args.pg_url]
    else:
        urls = [env or DEFAULT_SQLITE]
    reports, dashboards = [], []
    for url in urls:
        echo(f"{url}:")
        app = build_app(url)
        reports += measure_reports(app, args.periods, args.samples, echo)
        dashboards.append(measure_dashboard(app, args.warmup, args.dashboard_samples, echo))
    print(markdown(reports, dashboards))
    slow = [r for r in reports if r["total_s"] > REPORT_TARGET_S] + \
        [d for d in dashboards if d["median_ms"] > DASHBOARD_TARGET_MS]
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
