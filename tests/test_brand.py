"""The shop's name and logo on the staff pages (issue 15, item 1)."""
from __future__ import annotations

import io

from PIL import Image

from app.core.settings import get_settings
from tests.factories import make_user

PNG = io.BytesIO()
Image.new("RGB", (40, 20), "#12355b").save(PNG, "PNG")


def test_the_navbar_and_titles_carry_the_shops_name(db, client, login_as):
    get_settings().shop_name = "Hamburger Kältetechnik"
    advisor = make_user("Advisor")
    db.session.commit()
    page = login_as(advisor).get("/workorderview/list/").get_data(as_text=True)
    assert "Hamburger Kältetechnik" in page.split('class="navbar-brand"', 1)[1][:400]
    assert "<title>" in page and "Hamburger Kältetechnik" in page.split("<title>", 1)[1].split("</title>")[0]


def test_the_logo_is_served_and_shown_once_uploaded(db, client, login_as):
    assert client.get("/shop/logo").status_code == 404
    settings = get_settings()
    settings.logo, settings.logo_content_type = PNG.getvalue(), "image/png"
    advisor = make_user("Advisor")
    db.session.commit()
    answer = client.get("/shop/logo")
    assert answer.status_code == 200 and answer.content_type == "image/png" and answer.data == PNG.getvalue()
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    again = client.get("/shop/logo", headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304
    page = login_as(advisor).get("/workorderview/list/").get_data(as_text=True)
    brand = page.split('class="navbar-brand"', 1)[1][:300]
    assert '<img src="/shop/logo?v=' in brand and 'alt="Portico Service"' in brand  # named for screen readers
