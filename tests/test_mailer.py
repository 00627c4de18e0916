"""The outbox over a real SMTP server (aiosmtpd on loopback): down, then up; nothing lost."""
from __future__ import annotations

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


def test_gives_up_after_max_attempts(db, smtp_port):
    _queue(db, 1)
    mail = db.session.scalar(select(OutboxEmail))
    for _ in range(mailer.MAX_ATTEMPTS):
        with time_machine.travel(mail.next_attempt_at, tick=False):
            mailer.send_due()
    assert mail.status == "failed" and mail.attempts == mailer.MAX_ATTEMPTS


def test_without_mail_server_mail_stays_in_outbox(db, app, caplog):
    _queue(db, 1)
    with caplog.at_level("INFO", logger="app.services.mailer"):
        counts = mailer.send_due()
    assert counts["logged"] == 1
    assert "Hello 0" in caplog.text
    assert db.session.scalar(select(OutboxEmail)).status == "pending"
