"""The portal's doors in Chromium: the e-mailed login link read from a real SMTP server and pressed through,
and a public service request with a photo up to its confirmation."""
from __future__ import annotations

import datetime as dt
import re
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from PIL import Image
from sqlalchemy import select

from app.models import Attachment, ServiceRequest
from app.services import mailer
from tests.factories import ServiceTypeFactory, make_user

pytestmark = pytest.mark.browser


class Inbox(Message):
    def __init__(self):
        super().__init__()
        self.messages = []

    def handle_message(self, message):
        self.messages.append(message)


@pytest.fixture()
def smtp_inbox(app, live_server, monkeypatch):
    """A real SMTP server on 127.0.0.1; the app sends to it and puts the live server's address in links."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for key, value in {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_USE_TLS": False, "MAIL_USE_SSL": False,
                       "MAIL_USERNAME": "", "PORTICO_BASE_URL": live_server}.items():
        monkeypatch.setitem(app.config, key, value)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox
    controller.stop()


def text_part(message) -> str:
    if message.is_multipart():
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                return part.get_payload(decode=True).decode()
    return message.get_payload(decode=True).decode()


def deliver(db) -> None:
    db.session.commit()  # see what the server's threads committed
    counts = mailer.send_due()
    assert counts["sent"] >= 1, counts


def test_login_link_from_the_mailbox_in_chromium(app, db, live_server, page, smtp_inbox, screenshot):
    make_user("Customer", username="browser-jane", email="browser-jane@example.com")
    db.session.commit()
    page.goto(f"{live_server}/portal/sessions")
    assert "/portal/login?next=/portal/sessions" in page.url
    screenshot(page, "portal-login")
    page.fill("#email", "browser-jane@example.com")
    page.click("button[type=submit]")
    page.wait_for_url("**/portal/login/sent")
    assert "browser-jane@example.com" in page.content()
    screenshot(page, "portal-login-sent")

    deliver(db)
    assert len(smtp_inbox.messages) == 1
    message = smtp_inbox.messages[0]
    assert message["To"] == "browser-jane@example.com"
    link = re.search(r"(http://127\.0\.0\.1:\d+/portal/login/[A-Za-z0-9_-]+\S*)", text_part(message)).group(1)
    assert link.startswith(live_server) and "next=/portal/sessions" in link

    page.goto(link)  # opening the link (as a mail scanner would) does not log in
    assert page.locator("button", has_text="Continue").is_visible()
    screenshot(page, "portal-login-continue")
    other = page.context.new_page()
    other.goto(f"{live_server}/portal/")
    assert "/portal/login" in other.url
    other.close()

    page.click("button:has-text('Continue')")
    page.wait_for_url("**/portal/sessions")
    assert "Signed-in devices" in page.content() and "this browser" in page.content()
    page.goto(f"{live_server}/portal/")
    assert page.url.rstrip("/").endswith("/portal")
    screenshot(page, "portal-after-login")


def test_login_page_in_german(live_server, _browser, screenshot):
    context = _browser.new_context(locale="de-DE", extra_http_headers={"Accept-Language": "de-DE,de;q=0.9"})
    page = context.new_page()
    page.goto(f"{live_server}/portal/login")
    assert page.locator("h1").inner_text() == "Anmelden"
    assert page.locator("main button[type=submit]").inner_text() == "Anmeldelink senden"
    screenshot(page, "portal-login-de")
    context.close()


def test_public_request_with_a_photo_in_chromium(app, db, live_server, page, smtp_inbox, screenshot, tmp_path):
    ServiceTypeFactory(name="Dishwasher repair")
    db.session.commit()
    picture = tmp_path / "leak.jpg"
    Image.new("RGB", (320, 240), (30, 90, 160)).save(picture, format="JPEG")

    page.goto(f"{live_server}/portal/request")
    page.fill("#first_name", "Grace")
    page.fill("#last_name", "Hopper")
    page.fill("#email", "grace@example.com")
    page.fill("#phone", "+1 212 555 0100")
    page.fill("#line1", "1 Navy Yard")
    page.fill("#city", "Arlington")
    page.fill("#postal_code", "22202")
    page.select_option("#service_type_id", label="Dishwasher repair")
    page.fill("#preferred_date", (dt.date.today() + dt.timedelta(days=3)).isoformat())
    page.check("input[name=preferred_slot][value=custom]")
    page.fill("#preferred_time", "15:30")
    page.fill("#notes", "Water on the floor after every run.")
    page.set_input_files("#files", str(picture))
    screenshot(page, "public-request-form")
    page.click("button:has-text('Check my request')")
    page.wait_for_url("**/portal/request/summary")

    content = page.content()
    for shown in ("Grace Hopper", "grace@example.com", "1 Navy Yard", "Dishwasher repair", "at 15:30", "leak.jpg"):
        assert shown in content, shown
    thumbnail = page.locator("dl.summary img").first
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth") == 320
    screenshot(page, "public-request-summary")

    page.click("button:has-text('Send request')")
    page.wait_for_url("**/portal/request/done/**")
    db.session.commit()
    req = db.session.scalar(select(ServiceRequest))
    assert req.number in page.locator(".request-number").inner_text()
    assert req.status == "new" and req.preferred_time == dt.time(15, 30)
    assert db.session.scalar(select(Attachment.filename).where(Attachment.service_request_id == req.id)) == "leak.jpg"
    screenshot(page, "public-request-done")

    deliver(db)
    mail = next(m for m in smtp_inbox.messages if m["To"] == "grace@example.com")
    assert req.number in mail["Subject"]
    link = re.search(r"(http://127\.0\.0\.1:\d+/portal/login/\S+)", text_part(mail)).group(1)
    page.goto(link)
    page.click("button:has-text('Continue')")
    page.wait_for_url(f"**/portal/requests/{req.id}")


def test_a_too_large_file_is_caught_before_sending(app, db, live_server, page, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "PORTICO_UPLOAD_MAX_BYTES", 50_000)
    ServiceTypeFactory(name="Oven repair")
    db.session.commit()
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * 80_000)
    page.goto(f"{live_server}/portal/request")
    page.set_input_files("#files", str(big))
    error = page.locator("#files-error")
    assert error.is_visible() and "big.pdf" in error.inner_text()
    assert page.locator("#files").evaluate("input => input.validity.valid") is False
