"""The browser set-up itself: a staff user logs in through the real form and sees the menu."""
import pytest

from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_staff_login_in_chromium(db, live_server, page, browser_login, screenshot):
    make_user("Advisor", username="browser-advisor")
    db.session.commit()
    browser_login(page, "browser-advisor")
    assert "/login/" not in page.url
    assert page.locator("text=Service desk").first.is_visible()
    response = page.goto(f"{live_server}/servicerequestview/list/")
    assert response.status == 200
    assert "Service requests" in page.content()
    assert screenshot(page, "staff-requests").exists()
