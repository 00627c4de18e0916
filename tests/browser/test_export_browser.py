"""The reseller's CSV export in a real Chromium (issue 14's "not done until"): from the orders page to the
export form, the download clicked, the file opened as Excel opens it (the BOM makes it UTF-8, so umlauts
survive), and its money equal to the reseller's invoices to the cent."""
from __future__ import annotations

import codecs
from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import select

from app.extensions import db as database
from app.models import Invoice, WorkOrder
from tests.test_export_reconcile import ISSUED, UMLAUTS, demo, read_as_excel, reconcile  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def test_reseller_downloads_the_csv_and_it_adds_up(demo, live_server, page, browser_login, screenshot,  # noqa: F811
                                                    tmp_path):
    database.session.commit()
    browser_login(page, "reseller", current_app.config["PORTICO_DEMO_PASSWORD"])
    page.goto(f"{live_server}/portal/orders")
    page.get_by_role("link", name="Export CSV").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_label("UTF-8 with BOM for Excel").is_checked()  # the default for the button
    screenshot(page, "portal-export-form")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    path = tmp_path / "downloaded.csv"
    download.save_as(path)
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)

    rows = read_as_excel(data, tmp_path)
    database.session.expire_all()
    fixit = demo["fixit"]
    orders = list(database.session.scalars(select(WorkOrder).where(WorkOrder.customer_id == fixit.id)))
    reconcile(rows, orders)
    invoices = database.session.scalars(select(Invoice).where(Invoice.customer_id == fixit.id,
                                                              Invoice.status.in_(ISSUED)))
    assert sum(Decimal(row["Gross"]) for row in rows if row["Amounts code"] == "invoiced") == \
        sum(inv.total for inv in invoices) > 0
    row = next(row for row in rows if row["Order number"] == demo["invoiced"].number)
    assert UMLAUTS in row["Repair notes"]  # Gerät, geprüft, Grüße, Köln read back intact

    # The plain UTF-8 choice gives the same rows without the BOM.
    page.get_by_label("UTF-8", exact=True).check()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV").click()
    plain = tmp_path / "plain.csv"
    download_info.value.save_as(plain)
    assert not plain.read_bytes().startswith(codecs.BOM_UTF8)
    assert plain.read_bytes().decode("utf-8") == data[len(codecs.BOM_UTF8):].decode("utf-8")
