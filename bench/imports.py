"""Import benchmark: ``python -m bench.imports [--rows 50000] [--url sqlite:////tmp/portico-bench-imports.db]``.

Writes a customers CSV of ``--rows`` rows (German headers, every row with an address; 1 % bad e-mail
addresses), builds a fresh database with the migrations (SQLite by default: the file is replaced), and takes
the import's steps through the service layer as the Import screen does: upload, dry run, run (``process``,
what the scheduler process does for a large file). Prints the time of each step, the rows per second and the
process's peak resident memory before and after (the file is read in chunks, so memory stays bounded).
Then imports the same file again (every row matched: updates or nothing to change) and times that too.
The target (issue 17): 50,000 rows in under a minute on SQLite.
"""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from werkzeug.datastructures import FileStorage

DEFAULT_URL = "sqlite:////tmp/portico-bench-imports.db"
CITIES = [("10115", "Berlin"), ("80331", "München"), ("50667", "Köln"), ("20095", "Hamburg"), ("04109", "Leipzig")]


def write_csv(path: Path, rows: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("Kundennummer;Vorname;Nachname;E-Mail;Telefon;Straße;PLZ;Ort;Land\n")
        for i in range(rows):
            postal, city = CITIES[i % len(CITIES)]
            email = f"kunde{i}@example" if i % 100 == 99 else f"kunde{i}@example.com"
            handle.write(f"B-{i:06d};Vorname{i};Nachname{i};{email};+49 30 {i:07d};Teststraße {i % 200 + 1};"
                         f"{postal};{city};DE\n")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_app(url: str, upload_dir: str):
    from flask_migrate import upgrade

    from app import create_app

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    app = create_app("config.Config", SQLALCHEMY_DATABASE_URI=url, PORTICO_SYNC_SECURITY_ON_START=False,
                     PORTICO_UPLOAD_DIR=upload_dir, PORTICO_IMPORT_MAX_BYTES=200 * 1024 * 1024)
    with app.app_context():
        upgrade()
    return app


def one_import(path: Path, actor) -> dict:
    from app.services import imports

    timings = {}
    start = time.perf_counter()
    with open(path, "rb") as handle:
        batch = imports.upload(actor, FileStorage(handle, filename=path.name), "customers")
    timings["upload"] = time.perf_counter() - start
    start = time.perf_counter()
    imports.TABLE.perform(batch, "dry_run", actor)
    timings["dry run"] = time.perf_counter() - start
    start = time.perf_counter()
    imports.TABLE.perform(batch, "run", actor)
    batch = imports.process(batch.id)
    timings["import"] = time.perf_counter() - start
    timings["counts"] = (batch.status, batch.created_count, batch.updated_count, batch.skipped_count)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--url", default=os.environ.get("BENCH_IMPORT_URL", DEFAULT_URL))
    args = parser.parse_args()

    from app.core.actors import Actor

    work = Path(tempfile.mkdtemp(prefix="portico-bench-imports-"))
    path = work / "customers.csv"
    write_csv(path, args.rows)
    print(f"{args.rows} rows, {path.stat().st_size / 1024 / 1024:.1f} MB CSV; database {args.url}")
    app = build_app(args.url, str(work / "uploads"))
    actor = Actor(user_id=None, label="bench", roles=frozenset({"Admin"}))
    with app.app_context():
        before = peak_mb()
        for label in ("first import", "same file again"):
            timings = one_import(path, actor)
            total = timings["upload"] + timings["dry run"] + timings["import"]
            print(f"{label}: upload {timings['upload']:.1f} s, dry run {timings['dry run']:.1f} s, "
                  f"import {timings['import']:.1f} s ({args.rows / timings['import']:,.0f} rows/s), "
                  f"all {total:.1f} s; {timings['counts'][0]}: {timings['counts'][1]} created, "
                  f"{timings['counts'][2]} updated, {timings['counts'][3]} skipped")
        print(f"peak resident memory {peak_mb():.0f} MB (after start-up and migrations {before:.0f} MB)")


if __name__ == "__main__":
    main()
