"""The staff navbar in one row at 1366 px (issue 15, item 1) for every staff role, search box and badge included."""
from __future__ import annotations

import pytest

from tests.factories import make_user

pytestmark = pytest.mark.browser

ROWS = """() => {
  const items = [...document.querySelectorAll('.navbar .navbar-collapse > ul > li, .navbar .navbar-collapse > form')]
    .filter(e => e.offsetParent !== null);
  const row = e => { const r = e.getBoundingClientRect(); return Math.floor((r.top + r.height / 2) / 50); };
  return [...new Set(items.map(row))];
}"""


#: German menu names are longer: an Admin's German navbar (Security's menu too) needs about 80 px more.
ROLES = [(role, language) for language in ("en", "de") for role in ("Admin", "Manager", "Advisor", "Technician")]


@pytest.mark.parametrize(("role", "language"), ROLES)
def test_the_navbar_is_one_row_at_1366(live_server, page, browser_login, screenshot, db, role, language):
    from app.core import languages

    user = make_user(role, username=f"nav-{role.lower()}")
    languages.set_staff_language(user, language)  # German menu names are longer
    db.session.commit()
    page.set_viewport_size({"width": 1366, "height": 768})
    browser_login(page, f"nav-{role.lower()}")
    page.goto(f"{live_server}/")  # where the role lands
    page.wait_for_load_state("networkidle")
    tops = page.evaluate(ROWS)
    screenshot(page, f"staff-navbar-{role.lower()}-{language}")
    assert len(tops) == 1, (role, tops)
    assert page.locator(".navbar").first.bounding_box()["height"] < 70
