"""The outbox over a real SMTP server (aiosmtpd on loopback): down, then up; nothing lost."""
from __future__ import annotations

import datetime as dt
import socket

import pytest
import time_machine
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from sqlalchemy import select

from app.models import OutboxEmail
from app.services import mailer, notify


class Inbox(Message):
    def __init__(self):
        super().__init__()
        self.messages = []

    def handle_message(self, message):
        self.messages.append(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def smtp_port(app):
    port = free_port()
    old = dict(app.config)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_USERNAME="")
    yield port
    app.config.clear()
    app.config.update(old)


def _queue(db, n=2):
    for i in range(n):
        notify.queue_email(f"user{i}@example.com", f"Hello {i}", "Plain text body",
                           "<p>HTML body</p>", attachments=[{"filename": "a.ics", "content_type": "text/calendar",
                                                             "data": "QkVHSU46VkNBTEVOREFS"}])
    db.session.commit()


def test_smtp_down_then_up(db, smtp_port):
    _queue(db)
    counts = mailer.send_due()  # nothing listens on the port yet
    assert counts["retry"] == 2
    mails = list(db.session.scalars(select(OutboxEmail)))
    assert all(m.status == "pending" and m.attempts == 1 and m.last_error for m in mails)
    assert mailer.send_due()["retry"] == 0  # not due again until the back-off has passed

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        with time_machine.travel(mails[0].next_attempt_at, tick=False):
            counts = mailer.send_due()
    finally:
        controller.stop()
    assert counts["sent"] == 2
    assert sorted(m["Subject"] for m in inbox.messages) == ["Hello 0", "Hello 1"]
    message = inbox.messages[0]
    assert message.is_multipart()
    assert any(part.get_filename() == "a.ics" for part in message.walk())
    assert all(m.status == "sent" for m in db.session.scalars(select(OutboxEmail)))


def test_retries_for_a_day_then_gives_up(db, smtp_port):
    _queue(db, 1)
    mail = db.session.scalar(select(OutboxEmail))
    created = mail.created_at
    for _ in range(100):
        with time_machine.travel(mail.next_attempt_at, tick=False):
            mailer.send_due()
        if mail.status == "failed":
            break
        assert mail.next_attempt_at - created < mailer.RETRY_FOR + dt.timedelta(hours=1)
    assert mail.status == "failed"
    # hourly once the back-off has grown: about 28 tries over a day, not 8 in two hours
    assert mail.attempts > 20
    assert mail.next_attempt_at - created >= mailer.RETRY_FOR - dt.timedelta(hours=1)
    assert mailer.backoff(mail.attempts) == dt.timedelta(hours=1)


def test_without_mail_server_mail_stays_in_outbox(db, app, caplog):
    _queue(db, 2)
    with caplog.at_level("INFO", logger="app.services.mailer"):
        counts = mailer.send_due()
    assert counts["logged"] == 2
    lines = [r for r in caplog.records if r.name == "app.services.mailer"]
    assert len(lines) == 2 and all("\n" not in r.getMessage() for r in lines)
    assert "Plain text body" not in caplog.text and "user0@example.com" not in caplog.text
    mails = list(db.session.scalars(select(OutboxEmail)))
    assert all(m.status == "pending" and m.last_error == mailer.NOT_CONFIGURED for m in mails)
    assert all(m.next_attempt_at.year < 2030 for m in mails)  # no "next attempt in 2036"
    caplog.clear()
    with caplog.at_level("INFO", logger="app.services.mailer"):
        assert mailer.send_due()["logged"] == 0  # noted once, not every minute
    assert not [r for r in caplog.records if r.name == "app.services.mailer"]


def test_mail_carries_the_request_id_that_queued_it(db, app, smtp_port):
    from app.ops import context

    token = context.bind("req-0123456789abcdef")
    try:
        _queue(db, 1)
    finally:
        context.unbind(token)
    mail = db.session.scalar(select(OutboxEmail))
    assert mail.request_id == "req-0123456789abcdef"
    assert mailer.build_message(mail, "shop@example.com")["X-Request-ID"] == "req-0123456789abcdef"
    _queue(db, 1)  # queued outside any request: no header
    other = db.session.scalar(select(OutboxEmail).where(OutboxEmail.id != mail.id))
    assert other.request_id is None and "X-Request-ID" not in mailer.build_message(other, "shop@example.com")
