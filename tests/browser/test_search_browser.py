"""The staff navbar's search box in Chromium: an order by IMEI in one step, keyboard only, no extra navbar row."""
import pytest

from app.core.scope import unread_staff_notifications
from app.extensions import db
from app.services import notify
from tests.factories import actor
from tests.repair_shop import VALID_IMEI, build, rich_order

pytestmark = pytest.mark.browser


def test_search_box_finds_an_order_by_imei_with_the_keyboard(live_server, page, browser_login, screenshot):
    shop = build(with_logo=False)
    order = rich_order(shop)
    notify.to_staff("request.new", "A new request")
    db.session.commit()
    unread = unread_staff_notifications(actor(shop["staff"]))
    assert unread >= 1
    page.set_viewport_size({"width": 1366, "height": 800})
    browser_login(page, shop["staff"].username)
    page.goto(f"{live_server}/workorderview/list/")
    bell = page.locator(".navbar a[href*='/notificationview/list']").first  # the unread badge on the menu entry
    assert bell.locator(".portico-unread").inner_text() == str(unread)
    assert f"{unread} unread notification" in bell.inner_text()
    box = page.get_by_role("combobox", name="Search")
    assert box.get_attribute("placeholder") == "Number, name, e-mail, phone, serial, IMEI, VIN, plate"
    assert page.locator(".navbar .navbar-collapse #portico-search").count() == 1  # moved into the navbar
    navbar = page.locator(".navbar").first
    with_box = navbar.bounding_box()["height"]
    page.evaluate("document.getElementById('portico-search').style.display = 'none'")
    without_box = navbar.bounding_box()["height"]
    page.evaluate("document.getElementById('portico-search').style.display = ''")
    assert with_box == without_box, "the search box made the navbar wrap"

    box.click()
    box.type(VALID_IMEI, delay=10)
    option = page.get_by_role("option", name=order.number)
    option.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    screenshot(page, "staff-search-dropdown")
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == option.get_attribute("id")
    assert option.get_attribute("aria-selected") == "true"
    box.press("Escape")
    assert page.locator("#portico-search-list").is_hidden() and box.get_attribute("aria-expanded") == "false"
    box.press("ArrowDown")  # opens the list again, its answer kept
    option.wait_for()
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == option.get_attribute("id")
    with page.expect_navigation():
        box.press("Enter")
    assert page.url == f"{live_server}/workorderview/show/{order.id}"

    box = page.get_by_role("combobox", name="Search")
    box.fill("jane")
    with page.expect_navigation():
        box.press("Enter")  # no option chosen: the full results page
    assert "/search/?q=jane" in page.url
    assert page.get_by_role("link", name="Jane Doe").count() == 1
