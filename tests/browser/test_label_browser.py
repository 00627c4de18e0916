"""A reseller in a real Chromium: the carrier's tracking number typed on the shipment page (a wrong shape
refused at the field, the typed value kept), then the label downloaded and read back: A6, the shipment
and tracking numbers. Screenshots under test-artifacts/screenshots/."""
from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from app.models import Shipment
from app.services import shipments
from tests.factories import ShippingMethodFactory
from tests.repair_shop import build, reseller_orders

pytestmark = pytest.mark.browser


@pytest.fixture()
def shop(db):
    data = build(with_logo=False)
    data["dhl"] = ShippingMethodFactory(name="DHL Paket", carrier="DHL")
    db.session.commit()
    return data


def test_tracking_number_then_label(shop, live_server, page, browser_login, screenshot, db):
    orders = reseller_orders(shop, 2, method=shop["dhl"])
    made = shipments.create(shop["reseller_actor"], work_orders=[o.id for o in orders])
    db.session.commit()
    browser_login(page, shop["reseller"].username)
    page.goto(f"{live_server}/portal/shipments/{made.id}")

    field = page.get_by_label("Carrier's tracking number")
    field.fill("1Z999AA10123456784")  # a UPS number on a DHL parcel
    page.get_by_role("button", name="Save tracking number").click()
    page.wait_for_load_state("networkidle")
    error = page.locator("#tracking_number-error")
    assert error.is_visible() and "not a DHL tracking number" in error.inner_text()
    assert page.get_by_label("Carrier's tracking number").input_value() == "1Z999AA10123456784"  # kept
    assert page.get_by_label("Carrier's tracking number").get_attribute("aria-invalid") == "true"
    screenshot(page, "portal-shipment-tracking-error")

    page.get_by_label("Carrier's tracking number").fill("0034 0434 1612 3456 7890")
    page.get_by_role("button", name="Save tracking number").click()
    page.wait_for_load_state("networkidle")
    link = page.get_by_role("link", name="00340434161234567890")
    assert link.is_visible() and "tracking-id=00340434161234567890" in link.get_attribute("href")
    assert link.get_attribute("target") == "_blank"

    page.get_by_role("button", name="Confirm shipment").click()
    page.wait_for_load_state("networkidle")
    screenshot(page, "portal-shipment-tracking-confirmed")
    with page.expect_response("**/label.pdf") as response:
        page.get_by_role("link", name="Shipping label (PDF)").click()
    assert response.value.status == 200 and response.value.header_value("content-type") == "application/pdf"

    pdf = page.context.request.get(f"{live_server}/portal/shipments/{made.id}/label.pdf").body()  # same login
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - 297.6) < 1 and abs(float(box.height) - 419.5) < 1  # A6
    text = reader.pages[0].extract_text()
    assert made.number in text and "00340434161234567890" in text and "North Depot" in text
    db.session.expire_all()
    shipment = db.session.scalar(select(Shipment))
    assert shipment.status == "confirmed" and shipment.tracking_number == "00340434161234567890"


def test_repair_order_with_photos(shop, live_server, page, browser_login, screenshot, db, tmp_path):
    """Reseller repair orders take attachments: a refused file at the field, the good one kept to the end."""
    from PIL import Image

    from app.models import Attachment, WorkOrder

    Image.new("RGB", (16, 12), (200, 30, 30)).save(tmp_path / "crack.png")
    (tmp_path / "invoice.jpg").write_bytes(b"<!doctype html><script>alert(1)</script>")
    browser_login(page, shop["reseller"].username)
    page.goto(f"{live_server}/portal/orders/new")
    page.get_by_label("Make").fill("Pear")
    page.get_by_label("Model").fill("Phone 13")
    page.get_by_label("IMEI").fill("490154203237518")
    page.get_by_label("Fault").fill("Cracked screen")
    page.get_by_label("Service location").select_option(label="North Depot, Hamburg")
    page.get_by_label("Shipping method").select_option(label="Parcel")
    page.get_by_label("Files").set_input_files([str(tmp_path / "crack.png"), str(tmp_path / "invoice.jpg")])
    page.get_by_role("button", name="Continue to summary").click()
    expect(page.locator("#files-error").first).to_contain_text("invoice.jpg is not a photo")
    assert page.get_by_label("Fault").input_value() == "Cracked screen" and "crack.png" in page.content()
    screenshot(page, "portal-repair-order-file-refused")
    page.get_by_role("button", name="Continue to summary").click()
    expect(page.get_by_role("heading", name="Check your repair order")).to_be_visible()
    assert "To be attached: crack.png" in page.content()
    page.get_by_role("button", name="Approve service order").click()
    expect(page.get_by_role("link", name="crack.png")).to_be_visible()  # the order's page, with its photo
    db.session.expire_all()
    order = db.session.scalar(select(WorkOrder))
    [attachment] = db.session.scalars(select(Attachment).where(Attachment.work_order_id == order.id)).all()
    assert attachment.filename == "crack.png"
    assert page.get_by_role("link", name="crack.png").get_attribute("href") == f"/portal/attachments/{attachment.id}"
    screenshot(page, "portal-repair-order-with-photo")
