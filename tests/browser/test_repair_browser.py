"""A reseller in a real Chromium: a repair order through form, summary and approval; a shipment created,
confirmed and its label downloaded. Screenshots under test-artifacts/screenshots/."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import Shipment, WorkOrder
from tests.repair_shop import build, reseller_orders

pytestmark = pytest.mark.browser


@pytest.fixture()
def shop(db):
    return build(with_logo=False)


def unlabelled(page) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll('main input, main select, main textarea')]
        .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
        .map(el => el.name)""")


def test_repair_order_form_summary_approve(shop, live_server, page, browser_login, screenshot, db):
    browser_login(page, shop["reseller"].username)
    page.goto(f"{live_server}/portal/orders/new")
    assert unlabelled(page) == []
    page.get_by_label("Make").fill("Pear")
    page.get_by_label("Model").fill("Phone 13")
    page.get_by_label("IMEI").fill("490154203237519")  # wrong check digit
    page.get_by_label("Fault").fill("Does not charge")
    page.get_by_label("Service location").select_option(label="North Depot, Hamburg")
    page.get_by_label("Shipping method").select_option(label="Parcel")
    page.get_by_role("button", name="Continue to summary").click()
    assert page.locator("#imei-error").is_visible() and "check digit" in page.locator("#imei-error").inner_text()
    assert page.get_by_label("Fault").input_value() == "Does not charge"  # kept
    screenshot(page, "portal-repair-order-error")
    page.get_by_label("IMEI").fill("490154203237518")
    page.get_by_role("button", name="Continue to summary").click()
    assert page.get_by_role("heading", name="Check your repair order").is_visible()
    screenshot(page, "portal-repair-order-summary")
    page.get_by_role("button", name="Approve service order").click()
    page.wait_for_load_state("networkidle")
    db.session.expire_all()
    order = db.session.scalar(select(WorkOrder))
    assert order.status == "confirmed" and order.unit.imei == "490154203237518"
    assert page.url.endswith(f"/portal/orders/{order.id}")


def test_shipment_create_confirm_download(shop, live_server, page, browser_login, screenshot, db):
    orders = reseller_orders(shop, 2)
    reseller_orders(shop, 1, location=shop["second_location"])
    db.session.commit()
    browser_login(page, shop["reseller"].username)
    page.goto(f"{live_server}/portal/shipments/")
    assert unlabelled(page) == []
    screenshot(page, "portal-shipments")
    north = page.locator("form.shipment-group", has_text="North Depot")
    north.get_by_role("button", name="Create shipment").click()
    page.get_by_role("button", name="Confirm shipment").click()
    page.wait_for_load_state("networkidle")
    screenshot(page, "portal-shipment-confirmed")
    with page.expect_response("**/label.pdf") as response:
        page.get_by_role("link", name="Shipping label (PDF)").click()
    assert response.value.status == 200 and response.value.header_value("content-type") == "application/pdf"
    db.session.expire_all()
    shipment = db.session.scalar(select(Shipment))
    assert shipment.status == "confirmed" and {o.shipment_id for o in orders} == {shipment.id}
