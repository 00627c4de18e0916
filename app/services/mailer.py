"""Delivering the outbox over SMTP, with retries and back-off.

Mail is queued by ``notify`` in the same transaction as the change it reports. ``send_due()`` (run by the
scheduler process, or ``flask --app run outbox``) claims due rows, sends each over SMTP with Flask-Mail's
setting names (``MAIL_SERVER``, ``MAIL_PORT``, ``MAIL_USE_TLS``, ``MAIL_USE_SSL``, ``MAIL_USERNAME``,
``MAIL_PASSWORD``, ``MAIL_DEFAULT_SENDER``) and records the outcome. A failure is retried after 1, 2, 4 …
minutes (at most an hour apart) for ``RETRY_FOR`` (a day) after it was queued, then marked ``failed`` (the
dashboard shows failed mail); nothing is lost while the SMTP server is down for less than that. Without
``MAIL_SERVER`` mail stays pending in the outbox, noted "not sent: no mail server configured", with one log
line per mail (id and event, no address and no text); it goes out once a mail server is configured. Login and
password links are sealed until a mail is handed to the SMTP server (``portal_auth.unseal``): the outbox and
the log hold a stand-in that logs nobody in.
"""
from __future__ import annotations

import base64
import datetime as dt
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app
from sqlalchemy import or_, select

from ..core.settings import get_settings
from ..extensions import db
from ..models import OutboxEmail, utcnow
from . import portal_auth

log = logging.getLogger(__name__)
#: How long a mail is retried after it was queued before it is marked failed.
RETRY_FOR = dt.timedelta(days=1)
#: The note on mail kept because no mail server is configured (``last_error``, shown on the outbox screen).
NOT_CONFIGURED = "not sent: no mail server configured"


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def build_message(mail: OutboxEmail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(idstring=f"portico-{mail.id}")
    if mail.request_id:  # the request that queued it: its log lines carry the same id
        message["X-Request-ID"] = mail.request_id
    text, html = portal_auth.unseal(mail.body_text, mail.body_html)  # the link exists only in the message
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    for attachment in mail.attachments or []:
        kind, *options = attachment.get("content_type", "application/octet-stream").split(";")
        maintype, _, subtype = kind.strip().partition("/")
        params = dict(option.strip().split("=", 1) for option in options if "=" in option)  # text/calendar; method=…
        message.add_attachment(base64.b64decode(attachment["data"]), maintype=maintype,
                               subtype=subtype or "octet-stream", filename=attachment["filename"], params=params)
    return message


def _connect(config) -> smtplib.SMTP:
    host, port, timeout = config["MAIL_SERVER"], int(config["MAIL_PORT"]), 20
    if config.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
    return smtp


def _due(now: dt.datetime, limit: int) -> list[OutboxEmail]:
    """Due mail, locked (``FOR UPDATE SKIP LOCKED``: a second sender skips what this one holds)."""
    return list(db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.status == "pending", OutboxEmail.next_attempt_at <= now)
        .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id).limit(limit).with_for_update(skip_locked=True)
    ))


def send_due(limit: int = 100) -> dict:
    """Send what is due now; returns counts ``{"sent", "failed", "retry", "logged"}``.

    Each mail is claimed, sent and recorded in a transaction of its own: a sender killed half-way leaves at
    most the one mail it was handing over unrecorded (sent again by the next run), not the rest of a batch.
    """
    config = current_app.config
    now = utcnow()
    due = _due(now, limit)
    counts = {"sent": 0, "failed": 0, "retry": 0, "logged": 0}
    if not due:
        db.session.rollback()
        return counts
    if not config.get("MAIL_SERVER"):
        return _keep_unconfigured(limit, now, counts)
    sender = get_settings().mail_sender or config["MAIL_DEFAULT_SENDER"]
    smtp = None
    try:
        smtp = _connect(config)
    except (OSError, smtplib.SMTPException) as exc:
        for mail in due:
            _failed(mail, exc, now, counts)
        db.session.commit()
        return counts
    db.session.rollback()  # connected: from here on one mail per transaction
    try:
        for _ in range(limit):
            claimed = _due(now, 1)
            if not claimed:
                break
            mail = claimed[0]
            try:
                smtp.send_message(build_message(mail, sender))
            except (OSError, smtplib.SMTPException) as exc:
                _failed(mail, exc, now, counts)
            else:
                mail.status, mail.sent_at, mail.last_error = "sent", utcnow(), None
                mail.attempts += 1
                counts["sent"] += 1
            db.session.commit()
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
        db.session.rollback()
    return counts


def _keep_unconfigured(limit: int, now: dt.datetime, counts: dict) -> dict:
    """No mail server: note each mail once (and log one line for it); they stay due for when one is set."""
    db.session.rollback()
    fresh = list(db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.status == "pending", OutboxEmail.next_attempt_at <= now,
                                  or_(OutboxEmail.last_error.is_(None), OutboxEmail.last_error != NOT_CONFIGURED))
        .order_by(OutboxEmail.id).limit(limit).with_for_update(skip_locked=True)))
    for mail in fresh:
        mail.last_error = NOT_CONFIGURED
        log.info("E-mail %s (%s) kept in the outbox: no MAIL_SERVER configured", mail.id, mail.event or "-")
        counts["logged"] += 1
    db.session.commit()
    return counts


def mail_server_configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def _failed(mail: OutboxEmail, exc: Exception, now: dt.datetime, counts: dict) -> None:
    mail.attempts += 1
    mail.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if now - (mail.created_at or now) >= RETRY_FOR:
        mail.status = "failed"
        counts["failed"] += 1
        log.error("Giving up on e-mail %s to %s after %s attempts: %s", mail.id, mail.to_address, mail.attempts,
                  mail.last_error)
    else:
        mail.next_attempt_at = now + backoff(mail.attempts)
        counts["retry"] += 1
        log.warning("E-mail %s to %s not sent (%s); retry at %s", mail.id, mail.to_address, mail.last_error,
                    mail.next_attempt_at)


def retry_now(mail: OutboxEmail) -> None:
    """Staff's "retry now" on the outbox screen."""
    mail.status, mail.next_attempt_at = "pending", utcnow()
    db.session.commit()
