"""Documents benchmark: ``python -m bench.documents`` on the bench database (``DATABASE_URL``).

1. CSV export of every order (``app.documents.csv_export.stream_orders_csv``, staff actor, with the BOM) and of
   the biggest reseller's orders (their actor) against the **one-table floor**: a plain ``csv.writer`` over one
   streaming cursor (``yield_per``) of the ``work_order`` table alone (every column, no join, no formatting).
   Beside it the older floors: the export's plain columns joined over unit, location, method, shipment and
   customer, with and without one SQL row per work item, and pandas (``read_sql`` with ``chunksize`` +
   ``to_csv``) over the joined orders. Time: median of ``--csv-samples`` runs; memory: tracemalloc peak of one
   more run of each (tracemalloc slows Python down, so it is not on during the timed runs). The ratio column
   is each line's median over the one-table floor's, measured in the same run.
2. A one-page work order PDF (``render_pdf`` with an empty cache) against WeasyPrint alone on the same HTML
   (``HTML(string=…, base_url=static folder).write_pdf()`` with its default fetcher), alternating, medians;
   then the cached repeat, each sample in a fresh session that loads the order as a request would.
3. A packing list of 100 orders (a shipment made inside a transaction that is rolled back).

Targets: the staff CSV under 3x the one-table floor and under 50 MB peak growth; PDF within 1.3x bare
WeasyPrint; cached repeat under 10 ms. Progress goes to stderr, the table (Markdown) to stdout.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import func, select

DEFAULT_URL = "sqlite:////tmp/portico-bench.db"


class Sink:
    """Counts what is written (a CSV destination that keeps nothing)."""

    def __init__(self):
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        return len(text)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def normalize(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def build_app(url: str, cache_dir: str):
    from flask_migrate import upgrade

    from app import create_app

    app = create_app("config.Config", SQLALCHEMY_DATABASE_URI=normalize(url), PORTICO_DOCUMENT_CACHE_DIR=cache_dir,
                     PORTICO_SYNC_SECURITY_ON_START=False)
    with app.app_context():
        upgrade()  # the bench database may predate the newest indexes
        from app.extensions import db

        if db.engine.dialect.name == "postgresql":
            # A freshly generated database has no planner statistics until autovacuum analyses it, and
            # autovacuum is off on this machine kind: without them PostgreSQL picks plans no live database
            # (autovacuum on) would get. SQLite has no statistics unless ANALYZE runs, and none are made.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
    return app


def timed(fn, samples: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def peak_mb(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


# ------------------------------------------------------------------ CSV
def floor_stmt(with_items: bool):
    """The old floors: the export's plain columns joined over unit, location, method, shipment and customer
    (``with_items``: and every work item, one SQL row per item)."""
    from app.models import Customer, ServiceLocation, Shipment, ShippingMethod, Unit, WorkItem, WorkOrder

    wo, unit = WorkOrder.__table__, Unit.__table__
    joined = (wo.join(Customer.__table__, wo.c.customer_id == Customer.__table__.c.id)
              .outerjoin(unit, wo.c.unit_id == unit.c.id)
              .outerjoin(ServiceLocation.__table__, wo.c.service_location_id == ServiceLocation.__table__.c.id)
              .outerjoin(ShippingMethod.__table__, wo.c.shipping_method_id == ShippingMethod.__table__.c.id)
              .outerjoin(Shipment.__table__, wo.c.shipment_id == Shipment.__table__.c.id))
    columns = [wo.c.id, wo.c.number, Customer.__table__.c.name, wo.c.customer_reference, wo.c.internal_reference,
               wo.c.created_at, wo.c.received_at, wo.c.ready_at, wo.c.completed_at, wo.c.status, wo.c.kind,
               unit.c.make, unit.c.model, unit.c.serial_number, unit.c.imei, wo.c.fault, wo.c.accessories,
               wo.c.public_notes, wo.c.tracking_number, ServiceLocation.__table__.c.name,
               ShippingMethod.__table__.c.name, Shipment.__table__.c.number]
    order = [wo.c.created_at, wo.c.id]
    if with_items:
        item = WorkItem.__table__
        joined = joined.outerjoin(item, item.c.work_order_id == wo.c.id)
        columns += [item.c.kind, item.c.part_number, item.c.description, item.c.quantity, item.c.unit_price]
        order += [item.c.position, item.c.id]
    return select(*columns).select_from(joined).order_by(*order)


def table_stmt():
    """The one-table floor: every column of ``work_order`` alone, no join, no order."""
    from app.models import WorkOrder

    return select(WorkOrder.__table__)


def cursor_export(db, stmt) -> int:
    """``csv.writer`` over one streaming cursor (``yield_per``), rows as they come: no formatting at all."""
    sink = Sink()
    writer = csv.writer(sink)
    with db.engine.connect() as conn:
        result = conn.execution_options(yield_per=2000).execute(stmt)
        for rows in result.partitions():
            writer.writerows(rows)
    return sink.size


def raw_table_export(db) -> int:
    """The one-table floor's rows through the DB-API cursor alone: no SQLAlchemy rows, no type processing
    (SQLite's timestamps stay text). A reference, not the floor: the export itself runs through SQLAlchemy."""
    sink = Sink()
    writer = csv.writer(sink)
    raw = db.engine.raw_connection()
    try:
        server_side = db.engine.dialect.name == "postgresql"
        cursor = raw.driver_connection.cursor(name="bench_raw_floor") if server_side else raw.cursor()
        cursor.execute("SELECT * FROM work_order")
        while rows := cursor.fetchmany(2000):
            writer.writerows(rows)
        cursor.close()
    finally:
        raw.close()
    return sink.size


def pandas_export(db) -> int:
    import pandas as pd

    sink = Sink()
    with db.engine.connect() as conn:
        conn = conn.execution_options(stream_results=True)
        for i, frame in enumerate(pd.read_sql(floor_stmt(False), conn, chunksize=2000)):
            sink.write(frame.to_csv(index=False, header=i == 0))
    return sink.size


def our_export(actor) -> int:
    from app.documents.csv_export import stream_orders_csv

    sink = Sink()
    for chunk in stream_orders_csv(actor, bom=True):
        sink.write(chunk)
    return sink.size


def biggest_reseller(db):
    """An actor for the reseller with the most orders (a portal user's export)."""
    from app.core.actors import Actor
    from app.models import Customer, WorkOrder

    found = db.session.execute(
        select(Customer.id, Customer.name, func.count(WorkOrder.id).label("n"))
        .join(WorkOrder, WorkOrder.customer_id == Customer.id).where(Customer.kind == "reseller")
        .group_by(Customer.id, Customer.name).order_by(func.count(WorkOrder.id).desc()).limit(1)).first()
    if found is None:
        return None, 0
    return Actor(None, f"bench reseller {found.name}", frozenset({"Reseller"}), found.id, True), found.n


ONE_TABLE = "floor: csv.writer, one cursor, the work_order table alone"


def bench_csv(app, samples: int) -> list[tuple]:
    from app.core.actors import Actor
    from app.extensions import db
    from app.models import WorkOrder

    actor = Actor.system_actor("bench")
    rows = []
    with app.app_context():
        orders = db.session.scalar(select(func.count(WorkOrder.id)))
        reseller, reseller_orders = biggest_reseller(db)
        log(f"CSV: {orders} orders; the biggest reseller has {reseller_orders}")
        our_export(actor)  # warm caches (the OS page cache, SQLAlchemy's compiled statements)
        variants = [("Portico export, staff: every order (stream_orders_csv)", lambda: our_export(actor)),
                    (ONE_TABLE, lambda: cursor_export(db, table_stmt())),
                    ("reference: the work_order table through the DB-API cursor alone (no SQLAlchemy)",
                     lambda: raw_table_export(db)),
                    ("floor: csv.writer, one cursor, orders joined + items",
                     lambda: cursor_export(db, floor_stmt(True))),
                    ("orders joined (no items): csv.writer, one cursor",
                     lambda: cursor_export(db, floor_stmt(False))),
                    ("orders joined (no items): pandas read_sql(chunksize) + to_csv", lambda: pandas_export(db))]
        if reseller is not None:
            variants.insert(1, (f"Portico export, reseller: their {reseller_orders:,} orders",
                                lambda: our_export(reseller)))
        results = {}
        for name, fn in variants:
            median, _ = timed(fn, samples if "pandas" not in name else 1)
            db.session.remove()
            peak = peak_mb(fn)
            db.session.remove()
            results[name] = (median, peak)
            log(f"  {name}: {median:.2f} s, peak {peak:.1f} MB")
        floor = results[ONE_TABLE][0]
        for name, (median, peak) in results.items():
            rows.append((f"CSV, {orders:,} orders: {name}", f"{median:.2f} s", f"{median / floor:.2f}x",
                         f"{peak:.1f} MB"))
    return rows


# ------------------------------------------------------------------ PDF
def bare_pdf(app, html: str) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import path2url

    return HTML(string=html, base_url=path2url(app.static_folder) + "/").write_pdf()


def pick_order(db):
    """A completed order with three to five work items (one page)."""
    from app.models import WorkItem, WorkOrder

    counts = (select(WorkItem.work_order_id, func.count(WorkItem.id).label("n"))
              .group_by(WorkItem.work_order_id).subquery())
    return db.session.scalar(select(WorkOrder).join(counts, counts.c.work_order_id == WorkOrder.id)
                             .where(counts.c.n.between(3, 5), WorkOrder.unit_id.is_not(None))
                             .order_by(WorkOrder.id.desc()).limit(1))


def bench_pdf(app, samples: int, cache_dir: str) -> list[tuple]:
    from app.documents import cache, render_html, render_pdf
    from app.extensions import db
    from app.models import WorkOrder

    rows = []
    with app.test_request_context():
        order = pick_order(db)
        html = render_html("work_order", order)
        log(f"PDF: {order.number} ({len(order.items)} items)")
        for _ in range(2):  # warm-up: fonts, stylesheet parsing caches
            bare_pdf(app, html)
            cache.clear()
            render_pdf("work_order", order)
        ours, bare = [], []
        for _ in range(samples):
            cache.clear()
            start = time.perf_counter()
            render_pdf("work_order", order)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            bare_pdf(app, html)
            bare.append(time.perf_counter() - start)
        ours_m, bare_m = statistics.median(ours), statistics.median(bare)
        rows.append(("One-page work order PDF: WeasyPrint alone", f"{bare_m * 1000:.0f} ms", "1.00x", ""))
        rows.append(("One-page work order PDF: render_pdf, empty cache", f"{ours_m * 1000:.0f} ms",
                     f"{ours_m / bare_m:.2f}x", ""))
        order_id = order.id
        render_pdf("work_order", order)

        def cached():
            db.session.remove()  # a new request: a new session that loads the order and what it shows
            render_pdf("work_order", db.session.get(WorkOrder, order_id))

        median, times = timed(cached, samples * 5)
        rows.append(("One-page work order PDF: cached repeat (fresh session)", f"{median * 1000:.1f} ms",
                     f"{median / bare_m:.3f}x", f"p95 {sorted(times)[int(len(times) * 0.95) - 1] * 1000:.1f} ms"))
        rows += bench_packing_list(app, db, max(3, samples // 3))
    return rows


def bench_packing_list(app, db, samples: int) -> list[tuple]:
    from app.documents import cache, render_html, render_pdf
    from app.models import Shipment, WorkOrder

    orders = list(db.session.scalars(select(WorkOrder).where(WorkOrder.unit_id.is_not(None))
                                     .order_by(WorkOrder.id.desc()).limit(100)))
    first = orders[0]
    shipment = Shipment(number="SHP-BENCH", customer_id=first.customer_id,
                        service_location_id=first.service_location_id or 1,
                        shipping_method_id=first.shipping_method_id or 1, status="confirmed")
    db.session.add(shipment)
    db.session.flush()
    for order in orders:
        order.shipment_id = shipment.id
    db.session.flush()
    try:
        html = render_html("packing_list", shipment)
        cache.clear()
        pages = len(PdfReader(io.BytesIO(render_pdf("packing_list", shipment))).pages)
        ours, bare = [], []
        for _ in range(samples):
            cache.clear()
            start = time.perf_counter()
            render_pdf("packing_list", shipment)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            bare_pdf(app, html)
            bare.append(time.perf_counter() - start)
    finally:
        db.session.rollback()
    ours_m, bare_m = statistics.median(ours), statistics.median(bare)
    log(f"Packing list: 100 orders, {pages} pages")
    return [(f"Packing list, 100 orders ({pages} pages): WeasyPrint alone", f"{bare_m * 1000:.0f} ms", "1.00x", ""),
            (f"Packing list, 100 orders ({pages} pages): render_pdf, empty cache", f"{ours_m * 1000:.0f} ms",
             f"{ours_m / bare_m:.2f}x", "")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--csv-samples", type=int, default=3)
    parser.add_argument("--pdf-samples", type=int, default=15)
    parser.add_argument("--skip-csv", action="store_true")
    parser.add_argument("--skip-pdf", action="store_true")
    args = parser.parse_args(argv)
    cache_dir = tempfile.mkdtemp(prefix="portico-bench-docs-")
    app = build_app(args.url, cache_dir)
    rows = []
    if not args.skip_csv:
        rows += bench_csv(app, args.csv_samples)
    if not args.skip_pdf:
        rows += bench_pdf(app, args.pdf_samples, cache_dir)
    database = "PostgreSQL" if "postgres" in args.url else "SQLite"
    print(f"\n{database} ({args.url.rsplit('@', 1)[-1]})\n")
    print("| measurement | median | ratio | peak memory / note |")
    print("|---|---:|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    for path in Path(cache_dir).glob("*.pdf"):
        path.unlink()
    Path(cache_dir).rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
