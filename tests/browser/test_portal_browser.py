"""The customer's portal in a real Chromium: approving and disputing an estimate with the keyboard and
mouse, labelled form fields, and a screenshot of every main portal page (test-artifacts/screenshots/)."""
from __future__ import annotations

import re

import pytest

from app.models import Estimate, WorkOrder
from tests.portal_world import build_world

pytestmark = pytest.mark.browser


@pytest.fixture()
def world(db):
    return build_world()


@pytest.fixture()
def portal(world, live_server, page, browser_login):
    browser_login(page, world["mine"]["user"].username)
    return page


def _unlabelled_fields(page) -> list[str]:
    """Visible inputs, selects and text areas without a label (there must be none)."""
    return page.evaluate("""() => [...document.querySelectorAll('main input, main select, main textarea')]
        .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
        .map(el => el.name)""")


def test_approve_an_estimate(world, portal, live_server, screenshot, db):
    est = world["mine"]["estimate"]
    portal.goto(f"{live_server}/portal/")
    portal.get_by_role("link", name=re.compile(f"Review {est.number}")).click()
    portal.wait_for_url(f"**/portal/estimates/{est.id}")
    assert portal.get_by_role("heading", name=f"Estimate {est.display_number}").is_visible()
    assert _unlabelled_fields(portal) == []
    portal.get_by_role("button", name=re.compile("^Approve")).click()
    portal.wait_for_url(re.compile(r".*/portal/orders/\d+$"))
    db.session.expire_all()
    order = db.session.query(WorkOrder).filter_by(estimate_id=est.id).one()
    assert portal.url.endswith(f"/portal/orders/{order.id}")
    assert portal.get_by_text(f"Work order {order.number} was created").is_visible()
    assert db.session.get(Estimate, est.id).status == "approved"
    screenshot(portal, "portal-order-after-approval")


def test_dispute_estimate_lines(world, portal, live_server, screenshot, db):
    est = world["mine"]["estimate"]
    part = est.labour_lines[0].parts[0]
    labour = est.labour_lines[1]
    portal.goto(f"{live_server}/portal/estimates/{est.id}")
    portal.get_by_text("Dispute lines", exact=True).click()
    portal.get_by_label(re.compile(r"^Part: Compressor")).check()
    portal.locator(f"#note_part_{part.id}").fill("The compressor costs 250 elsewhere")
    portal.get_by_label(re.compile(r"^Labour: Leak test")).check()
    # forgot the second note: the page says so at the line and keeps everything typed
    portal.get_by_role("button", name="Send dispute").click()
    assert portal.locator(f"#note_labour_{labour.id}-error").is_visible()
    assert portal.locator(f"#note_part_{part.id}").input_value() == "The compressor costs 250 elsewhere"
    assert portal.get_by_label(re.compile(r"^Part: Compressor")).is_checked()
    screenshot(portal, "portal-estimate-dispute-error")
    portal.locator(f"#note_labour_{labour.id}").fill("A leak test was done last month")
    portal.locator("#dispute_note").fill("Please look at these two lines")
    portal.get_by_role("button", name="Send dispute").click()
    portal.wait_for_url(f"**/portal/estimates/{est.id}")
    assert portal.get_by_text("Your dispute was sent to the shop.").first.is_visible()
    db.session.expire_all()
    est = db.session.get(Estimate, est.id)
    assert est.status == "disputed"
    lines = {line.description: line.disputed for line in est.labour_lines}
    assert lines == {"Replace compressor": False, "Leak test": True}
    assert est.labour_lines[0].parts[0].disputed
    assert portal.locator("#log").get_by_text("A leak test was done last month").is_visible()
    screenshot(portal, "portal-estimate-disputed")


def test_keyboard_reaches_the_content_first(world, portal, live_server):
    portal.goto(f"{live_server}/portal/requests")
    portal.keyboard.press("Tab")
    assert portal.evaluate("document.activeElement.className") == "skip-link"
    portal.keyboard.press("Enter")
    assert portal.url.endswith("#main")


PAGES = [
    ("portal-dashboard", "/portal/"),
    ("portal-requests", "/portal/requests"),
    ("portal-request-detail", "/portal/requests/{proposed}"),
    ("portal-request-new", "/portal/requests/new"),
    ("portal-estimates", "/portal/estimates"),
    ("portal-estimate-detail", "/portal/estimates/{estimate}"),
    ("portal-orders", "/portal/orders?tab=at_location"),
    ("portal-order-detail", "/portal/orders/{done_order}"),
    ("portal-invoices", "/portal/invoices"),
    ("portal-invoice-detail", "/portal/invoices/{invoice}"),
    ("portal-profile", "/portal/profile"),
    ("portal-notifications", "/portal/notifications"),
]


def test_screenshots_of_the_main_portal_pages(world, portal, live_server, screenshot):
    ids = {key: world["mine"][key].id for key in ("proposed", "estimate", "done_order", "invoice")}
    for name, path in PAGES:
        response = portal.goto(live_server + path.format(**ids))
        assert response.status == 200, path
        assert _unlabelled_fields(portal) == [], path
        assert screenshot(portal, name).stat().st_size > 5_000
    portal.set_viewport_size({"width": 390, "height": 844})  # a phone
    for name, path in (("portal-dashboard-mobile", "/portal/"),
                       ("portal-orders-mobile", "/portal/orders?tab=completed"),
                       ("portal-estimate-detail-mobile", "/portal/estimates/{estimate}")):
        portal.goto(live_server + path.format(**ids))
        width = portal.evaluate("document.documentElement.scrollWidth")
        assert width <= 390 + 1, f"{path} scrolls sideways on a phone ({width}px)"
        screenshot(portal, name)
