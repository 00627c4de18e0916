"""Portal access from the customer's page in Chromium (issue 17): an advisor invites a customer's contact,
copies a login link from the screen (no mail server), and that link opens the customer's own portal."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import OutboxEmail
from tests.factories import CustomerFactory, make_user

pytestmark = pytest.mark.browser


def test_advisor_invites_copies_the_link_and_it_opens_the_portal(app, db, live_server, page, browser_login,
                                                               _browser, monkeypatch, screenshot):
    monkeypatch.setitem(app.config, "PORTICO_BASE_URL", live_server)
    advisor = make_user("Advisor", username="browser-advisor")
    customer = CustomerFactory(name="Browser Fischer GmbH", kind="business", email="einkauf@fischer.example")
    db.session.commit()

    page.goto(live_server + "/")
    assert page.locator("#start-portal").get_attribute("href") == "/portal/login"
    assert page.locator("#start-request").get_attribute("href") == "/portal/request"

    browser_login(page, advisor.username)
    page.goto(f"{live_server}/customerview/show/{customer.id}")
    assert page.locator("#invite-email").input_value() == "einkauf@fischer.example"
    page.fill("#invite-name", "Eva Fischer")
    page.click(".portal-invite button[type=submit]")
    page.wait_for_load_state("networkidle")
    row = page.locator("table.portal-users tbody tr")
    assert row.count() == 1 and "einkauf@fischer.example" in row.inner_text() and "never" in row.inner_text()
    db.session.commit()
    assert db.session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == "einkauf@fischer.example"))
    screenshot(page, "customer-portal-access")

    page.click("button[data-action=login_link]")
    page.wait_for_load_state("networkidle")
    link = page.locator("#login-link").input_value()
    assert link.startswith(live_server + "/portal/login/")
    page.click("#copy-login-link")
    page.wait_for_function("document.getElementById('copy-state').textContent.length > 0")
    screenshot(page, "customer-login-link")

    customer_context = _browser.new_context(locale="en-GB")
    other = customer_context.new_page()
    other.goto(link)
    other.click("button:has-text('Continue')")
    other.wait_for_load_state("networkidle")
    assert "/portal" in other.url and "Browser Fischer GmbH" in other.content()
    screenshot(other, "customer-portal-from-copied-link")
    customer_context.close()
