"""Dispute review in Chromium: an advisor opens the disputed estimate, acknowledges it and adds a note."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import DisputeNote, Estimate
from app.services import estimates
from tests.factories import CustomerFactory, actor, make_user

pytestmark = pytest.mark.browser

LINES = [{"description": "Replace compressor", "hours": "2.50", "rate": "80.00",
          "parts": [{"part_number": "C-1", "description": "Compressor", "quantity": "1", "unit_price": "300.00"}]}]


def test_acknowledge_and_note_in_chromium(db, live_server, page, browser_login, screenshot):
    customer = CustomerFactory(name="Browser Dispute Customer")
    advisor = make_user("Advisor", username="browser-dispute-advisor")
    portal = make_user("Customer", customer=customer)
    db.session.commit()
    est = estimates.create(actor(advisor), customer_id=customer.id, labour_lines=LINES)
    estimates.perform(est, "submit", actor(advisor))
    part = est.labour_lines[0].parts[0]
    estimates.perform(est, "dispute", actor(portal), note="Too dear",
                      lines=[{"kind": "part", "id": part.id, "note": "Compressor price?"}])
    est_id, number = est.id, est.number
    db.session.commit()

    browser_login(page, "browser-dispute-advisor")
    page.click("text=Service desk")
    page.click("text=Dispute review")
    page.wait_for_url(f"{live_server}/disputereview/")
    assert page.locator("#disputes").get_by_text(number).is_visible()
    page.locator("#disputes").get_by_role("link", name="Review").click()
    page.wait_for_url(f"{live_server}/disputereview/{est_id}")
    disputed = page.locator("tr.portico-disputed")
    assert disputed.count() == 1 and "Compressor price?" in disputed.inner_text()
    assert page.locator("#ack-state").inner_text() == "Not acknowledged"

    page.click("#acknowledge")
    page.wait_for_load_state("networkidle")
    assert "dispute acknowledged" in page.locator(".alert").first.inner_text()
    assert page.locator("#ack-state").inner_text().startswith("Acknowledged")
    assert page.locator("#acknowledge").count() == 0

    page.fill("#note-text", "We are checking the supplier's price and will revise.")
    page.click("#add-note")
    page.wait_for_load_state("networkidle")
    log = page.locator("#dispute-log")
    assert "We are checking the supplier's price" in log.inner_text()
    assert log.locator("tr.portico-log-staff").count() == 1
    assert screenshot(page, "dispute-review").exists()

    db.session.expire_all()
    assert db.session.get(Estimate, est_id).acknowledged_at is not None
    assert db.session.scalar(select(DisputeNote).where(DisputeNote.side == "staff")).author_id == advisor.id
