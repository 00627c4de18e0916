"""Screenshots of the main staff pages for every staff demo account, at 1366x800 and 390x844 (issue 15).

    venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--roles advisor,tech] [--pages board,today]

Builds a fresh SQLite database in a temporary folder, seeds it with the demo shop (``flask --app run seed
--demo``), serves the app on 127.0.0.1 in a thread, logs in through the real login form as each staff demo
user (SPEC.md section 5: admin, manager, advisor, tech; password ``portico-demo``) and saves
``<out>/<role>-<page>-<width>.png``, then writes ``<out>/README.md`` listing them. A page the role may not
open is left out (and listed as such). Short pages are taken whole; of a long page only the first screen.
Needs Debian's Chromium (/usr/bin/chromium, or PORTICO_CHROMIUM) and the playwright Python package.
"""
from __future__ import annotations

import argparse
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("PORTICO_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
ROLES = ["admin", "manager", "advisor", "tech"]
WIDTHS = {1366: 800, 390: 844}
PASSWORD = os.environ.get("PORTICO_DEMO_PASSWORD", "portico-demo")


def pages(ids: dict) -> list[tuple[str, str, str]]:
    """(name, title, path) of every main staff page; ``ids`` holds demo rows to show."""
    return [
        ("dashboard", "Manager's dashboard", "/dashboard/"),
        ("booking-board", "Booking board", "/bookingboard/"),
        ("service-board", "Service board", "/serviceboard/"),
        ("calendar", "Calendar", "/calendar/"),
        ("technician-today", "Technician's day", "/technician/today"),
        ("work-orders", "Work order list", "/workorderview/list/"),
        ("work-order", "Work order (show)", f"/workorderview/show/{ids['work_order']}"),
        ("requests", "Service request list", "/servicerequestview/list/"),
        ("estimate-builder", "Estimate builder (a draft)", f"/estimatebuilder/{ids['estimate']}"),
        ("invoices", "Invoice list", "/invoiceview/list/"),
        ("customers", "Customer list", "/customerview/list/"),
        ("reports", "Report list", "/reportdefinitionview/list/"),
        ("setup", "Setup checklist", "/setup/"),
        ("search", f"Search results for the demo IMEI {ids['imei']}", f"/search/?q={ids['imei']}"),
    ]


def seed(env: dict) -> None:
    flask = [sys.executable, "-m", "flask", "--app", "run"]
    for command in (["db", "upgrade"], ["seed", "--demo"]):
        subprocess.run(flask + command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def demo_ids(app) -> dict:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Estimate, Unit, WorkOrder

    with app.app_context():
        order = db.session.scalars(select(WorkOrder).where(WorkOrder.status == "in_progress")
                                   .order_by(WorkOrder.id)).first() or db.session.scalars(select(WorkOrder)).first()
        draft = db.session.scalars(select(Estimate).where(Estimate.status == "draft").order_by(Estimate.id)).first()
        unit = db.session.scalars(select(Unit).where(Unit.imei.is_not(None)).order_by(Unit.id)).first()
        return {"work_order": order.id, "estimate": draft.id, "imei": unit.imei}


def serve(app) -> tuple[str, object]:
    from werkzeug.serving import make_server

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}", server


def shoot(base: str, out: Path, roles: list[str], wanted: set[str] | None, ids: dict,
          full: bool = False) -> list[tuple]:
    from playwright.sync_api import sync_playwright

    taken = []  # (role, page name, title, width, file name or None when the role may not open it)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        for role in roles:
            context = browser.new_context(viewport={"width": 1366, "height": 800}, locale="en-GB")
            context.set_default_timeout(20_000)
            page = context.new_page()
            page.goto(f"{base}/login/")
            page.fill("input[name=username]", role)
            page.fill("input[name=password]", PASSWORD)
            page.click("input[type=submit], button[type=submit]")
            page.wait_for_load_state("networkidle")
            for name, title, path in pages(ids):
                if wanted and name not in wanted:
                    continue
                for width, height in WIDTHS.items():
                    page.set_viewport_size({"width": width, "height": height})
                    response = page.goto(f"{base}{path}")
                    page.wait_for_load_state("networkidle")
                    landed = page.url.split("?")[0].removeprefix(base)
                    if response is None or response.status >= 400 or landed != path.split("?")[0]:
                        taken.append((role, name, title, width, None))
                        continue
                    long = not full and page.evaluate("document.documentElement.scrollHeight") > 2 * height
                    file = f"{role}-{name}-{width}.png"
                    page.screenshot(path=str(out / file), full_page=not long)
                    taken.append((role, name, title, width, file))
                    print(file, flush=True)
            context.close()
        browser.close()
    return taken


def readme(out: Path, taken: list[tuple], ids: dict) -> None:
    lines = ["# Staff screenshots", "",
             "Made by `venv/bin/python scripts/screenshots.py` on a fresh SQLite database seeded with the demo",
             "shop (`flask --app run seed --demo`), logged in as each staff demo account (password `portico-demo`),",
             "at 1366x800 (desktop) and 390x844 (phone). Short pages are whole; of a long page only the first screen.",
             f"Work order shown: id {ids['work_order']}; estimate builder: draft estimate id {ids['estimate']}; "
             f"search: IMEI {ids['imei']}.", "",
             "| role | page | 1366 px | 390 px |", "|---|---|---|---|"]
    rows: dict[tuple, dict] = {}
    for role, name, title, width, file in taken:
        rows.setdefault((role, name, title), {})[width] = file
    for (role, _name, title), files in rows.items():
        cells = [f"[{w}]({files[w]})" if files.get(w) else "not open to this role" for w in WIDTHS]
        lines.append(f"| {role} | {title} | {cells[0]} | {cells[1]} |")
    (out / "README.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument("--pages", default="", help="comma-separated page names (default: all)")
    parser.add_argument("--full", action="store_true", help="whole pages, however long (to look at, not to commit)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="portico-shots-"))
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{folder / 'demo.db'}", PORTICO_INSTANCE_DIR=str(folder),
               PORTICO_LOGIN_RATE_LIMIT="1000 per minute", PORTICO_DEMO_PASSWORD=PASSWORD)
    seed(env)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from app import create_app

    logging.disable(logging.WARNING)  # one log line per request would drown the list of files
    app = create_app()
    ids = demo_ids(app)
    base, server = serve(app)
    try:
        taken = shoot(base, out, args.roles.split(","), set(filter(None, args.pages.split(","))), ids,
                      args.full)
    finally:
        server.shutdown()
    if not args.pages and args.roles == ",".join(ROLES) and not args.full:
        readme(out, taken, ids)


if __name__ == "__main__":
    main()
