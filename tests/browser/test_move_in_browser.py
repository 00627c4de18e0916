"""A shop moves in (issue 17, "not done until"), in Chromium on the demo shop without a mail server:
the advisor imports the README's sample files (customers CSV, units XLSX, bad rows included), sees the dry
run's errors, imports, invites one imported customer from their page, copies the login link from the
screen and lands in that customer's portal; a manager exports and erases a demo customer."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models import Customer, Unit
from seed import load

pytestmark = pytest.mark.browser

SAMPLES = Path(__file__).resolve().parents[2] / "seed" / "samples"


def _import(page, live_server, kind: str, sample: Path, screenshot) -> dict:
    """Upload ``sample`` as ``kind``, check it (dry run), import the valid rows; the counts on the way."""
    page.goto(f"{live_server}/imports/")
    page.check(f"#import-upload input[name=kind][value={kind}]")
    page.set_input_files("#import-upload input[type=file]", str(sample))
    page.click("#import-upload button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#mapping").count() == 1, page.content()[:2000]  # the columns, guessed
    page.click("#action-dry_run")
    page.wait_for_load_state("networkidle")
    errors = page.locator("#check-errors tbody tr")
    found = {"valid": int(page.locator("#valid-rows").inner_text()),
             "errors": int(page.locator("#error-rows").inner_text()),
             "error_text": " ".join(errors.all_inner_texts())}
    screenshot(page, f"import-{kind}-dry-run")
    page.click("#action-run")
    page.wait_for_selector("#import-result", timeout=30_000)
    found["created"] = int(page.locator("#import-result #created").inner_text())
    found["skipped"] = int(page.locator("#import-result #skipped").inner_text())
    screenshot(page, f"import-{kind}-result")
    return found


def test_a_shop_moves_in_imports_invites_and_handles_a_privacy_request(app, db, live_server, page, browser_login,
                                                                       _browser, monkeypatch, screenshot):
    monkeypatch.setitem(app.config, "PORTICO_BASE_URL", live_server)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    load(demo=True)
    db.session.commit()
    password = app.config["PORTICO_DEMO_PASSWORD"]
    browser_login(page, "advisor", password)

    customers = _import(page, live_server, "customers", SAMPLES / "customers.csv", screenshot)
    assert customers["errors"] >= 3 and customers["valid"] >= 10  # the sample's bad rows are caught…
    assert "@" in customers["error_text"] or "mail" in customers["error_text"].lower()
    assert customers["created"] == customers["valid"] and customers["skipped"] == customers["errors"]
    units = _import(page, live_server, "units", SAMPLES / "units.xlsx", screenshot)
    assert units["errors"] >= 2 and units["created"] == units["valid"] > 0
    assert "IMEI" in units["error_text"] and ("VIN" in units["error_text"] or "FIN" in units["error_text"])
    db.session.expire_all()
    klara = db.session.scalar(select(Customer).where(Customer.email == "klara.fischer@example.com"))
    assert klara is not None and klara.name == "Klara Fischer"
    assert db.session.scalar(select(Unit.id).where(Unit.customer_id == klara.id)) is not None

    # Portal access from the imported customer's page, with no mail server: copy the link from the screen.
    page.goto(f"{live_server}/customerview/show/{klara.id}")
    assert page.locator("#invite-email").input_value() == "klara.fischer@example.com"
    page.click(".portal-invite button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.click("button[data-action=login_link]")
    page.wait_for_load_state("networkidle")
    link = page.locator("#login-link").input_value()
    assert link.startswith(live_server + "/portal/login/")
    customer_context = _browser.new_context(locale="de-DE")
    portal = customer_context.new_page()
    portal.goto(link)
    portal.click("form button[type=submit]")
    portal.wait_for_load_state("networkidle")
    assert "/portal" in portal.url and "Klara Fischer" in portal.content()
    screenshot(portal, "imported-customer-portal")
    customer_context.close()

    # A privacy request on a demo customer: the manager exports everything, then erases.
    page.goto(f"{live_server}/logout/")
    browser_login(page, "manager", password)
    cafe = db.session.scalar(select(Customer).where(Customer.name == "Café Sonne"))
    page.goto(f"{live_server}/customerview/show/{cafe.id}")
    with page.expect_download() as download:
        page.click("button[data-action=privacy_export]")
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    data = json.loads(archive.read("data.json"))
    assert "Café Sonne" in json.dumps(data, ensure_ascii=False)
    page.fill("#erase-confirm", "Café Sonne")
    page.click("button[data-action=erase]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".privacy-erased").count() == 1
    screenshot(page, "customer-erased")
    db.session.expire_all()
    assert db.session.get(Customer, cafe.id).name != "Café Sonne"
