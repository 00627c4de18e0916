"""Documents benchmark: ``python -m bench.documents`` on the bench database (``DATABASE_URL``).

1. CSV export of every order (``app.documents.csv_export.stream_orders_csv``, staff actor) against the floor:
   a plain ``csv.writer`` over one streaming SQL cursor of the same rows (orders joined with unit, location,
   method, shipment, customer and their work items, one CSV line per SQL row, no formatting). Time: median
   of ``--csv-samples`` runs; memory: tracemalloc peak of one more run of each (tracemalloc slows Python
   down, so it is not on during the timed runs). For reference, the orders-only cursor and pandas
   (``read_sql`` with ``chunksize`` + ``to_csv``) over the orders-only query.
2. A one-page work order PDF (``render_pdf`` with an empty cache) against WeasyPrint alone on the same HTML
   (``HTML(string=…, base_url=static folder).write_pdf()`` with its default fetcher), alternating, medians;
   then the cached repeat, each sample in a fresh session that loads the order as a request would.
3. A packing list of 100 orders (a shipment made inside a transaction that is rolled back).

Targets: CSV within 1.5x the floor and under 50 MB peak growth; PDF within 1.3x bare WeasyPrint; cached
repeat under 10 ms. Progress goes to stderr, the table (Markdown) to stdout.
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
    from app.documents.csv_export import COLUMNS
    from app.models import Customer, ServiceLocation, Shipment, ShippingMethod, Unit, WorkItem, WorkOrder

    wo = WorkOrder.__table__
    joined = (wo.join(Customer.__table__, wo.c.customer_id == Customer.__table__.c.id)
              .outerjoin(Unit.__table__, wo.c.unit_id == Unit.__table__.c.id)
              .outerjoin(ServiceLocation.__table__, wo.c.service_location_id == ServiceLocation.__table__.c.id)
              .outerjoin(ShippingMethod.__table__, wo.c.shipping_method_id == ShippingMethod.__table__.c.id)
              .outerjoin(Shipment.__table__, wo.c.shipment_id == Shipment.__table__.c.id))
    columns = [wo.c.id, *[col for _name, col in COLUMNS if col is not None]]
    order = [wo.c.created_at, wo.c.id]
    if with_items:
        item = WorkItem.__table__
        joined = joined.outerjoin(item, item.c.work_order_id == wo.c.id)
        columns += [item.c.kind, item.c.part_number, item.c.description, item.c.quantity, item.c.unit_price]
        order += [item.c.position, item.c.id]
    return select(*columns).select_from(joined).order_by(*order)


def floor_export(db, with_items: bool) -> int:
    sink = Sink()
    writer = csv.writer(sink)
    with db.engine.connect() as conn:
        result = conn.execution_options(yield_per=2000).execute(floor_stmt(with_items))
        for rows in result.partitions():
            writer.writerows(rows)
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
    for chunk in stream_orders_csv(actor):
        sink.write(chunk)
    return sink.size


def bench_csv(app, samples: int) -> list[tuple]:
    from app.core.actors import Actor
    from app.extensions import db
    from app.models import WorkOrder

    actor = Actor.system_actor("bench")
    rows = []
    with app.app_context():
        orders = db.session.scalar(select(func.count(WorkOrder.id)))
        log(f"CSV: {orders} orders")
        our_export(actor)  # warm caches (the OS page cache, SQLAlchemy's compiled statements)
        variants = [("Portico export (stream_orders_csv)", lambda: our_export(actor)),
                    ("floor: csv.writer, one cursor, orders + items", lambda: floor_export(db, True)),
                    ("orders only: csv.writer, one cursor", lambda: floor_export(db, False)),
                    ("orders only: pandas read_sql(chunksize) + to_csv", lambda: pandas_export(db))]
        results = {}
        for name, fn in variants:
            median, _ = timed(fn, samples if "pandas" not in name else 1)
            db.session.remove()
            peak = peak_mb(fn)
            db.session.remove()
            results[name] = (median, peak)
            log(f"  {name}: {median:.2f} s, peak {peak:.1f} MB")
        floor = results["floor: csv.writer, one cursor, orders + items"][0]
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
