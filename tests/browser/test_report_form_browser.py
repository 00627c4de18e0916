"""The scheduled report form in Chromium (issue 15, item 4): only the chosen report's parameters, dates only for
"Between two dates", the weekday only for weekly runs, the schedule read aloud from the words."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.models import ReportDefinition
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_the_form_shows_what_the_report_takes(live_server, page, browser_login, screenshot, db):
    make_user("Manager", username="report-manager")
    tech = make_user("Technician")
    db.session.commit()
    browser_login(page, "report-manager")
    page.goto(f"{live_server}/reportdefinitionview/add")
    row = lambda name: page.locator(f"#{name}").locator("xpath=ancestor::tr[1]")  # noqa: E731
    page.select_option("select#kind", "work_orders")
    expect(row("p_technician")).to_be_visible()
    expect(row("p_reseller")).to_be_hidden()
    expect(row("start")).to_be_hidden()
    expect(row("params")).to_be_hidden()
    expect(row("cron")).to_be_hidden()
    page.select_option("select#period", "custom")
    expect(row("start")).to_be_visible()
    page.select_option("select#period", "last_month")
    page.select_option("select#freq", "weekly")
    expect(row("weekday")).to_be_visible()
    expect(row("monthday")).to_be_hidden()
    page.select_option("select#weekday", "5")
    page.fill("#at", "06:45")
    expect(page.locator(".portico-schedule-preview")).to_contain_text("Friday at 06:45")
    expect(page.locator(".portico-schedule-preview")).to_be_visible()  # read aloud under "Runs"
    page.fill("#name", "Friday workshop")
    page.select_option("select#p_technician", str(tech.id))
    page.fill("#recipients", "boss@example.com")
    screenshot(page, "staff-report-form")
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    assert "/reportdefinitionview/add" not in page.url, page.locator(".alert-danger").all_inner_texts()
    db.session.expire_all()
    saved = db.session.scalar(select(ReportDefinition).where(ReportDefinition.name == "Friday workshop"))
    assert saved.cron == "45 6 * * 5" and saved.params == {"period": "last_month", "technician_id": tech.id}
