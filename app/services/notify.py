"""Telling the people concerned: a portal or staff notification plus e-mail through the outbox.

Nothing here talks to SMTP: mail is queued in ``outbox_email`` inside the caller's transaction, so it is
sent only if the change commits, and the scheduler process delivers it with retries (``services.mailer``).
"""
from __future__ import annotations

from flask import render_template

from ..extensions import db
from ..models import Customer, Notification, OutboxEmail, PortalUser, User
from .settings import absolute, get_settings


def queue_email(to_address: str, subject: str, text: str, html: str | None = None, *,
                event: str | None = None, attachments: list[dict] | None = None) -> OutboxEmail:
    mail = OutboxEmail(to_address=to_address, subject=subject[:255], body_text=text, body_html=html,
                       event=event, attachments=attachments)
    db.session.add(mail)
    return mail


def _render(title: str, body: str, link: str | None, recipient: str | None) -> tuple[str, str]:
    settings = get_settings()
    context = dict(title=title, body=body, link=absolute(link) if link else None,
                   shop=settings, recipient=recipient)
    return (render_template("email/notification.txt", **context),
            render_template("email/notification.html", **context))


def customer_addresses(customer: Customer) -> list[str]:
    """The e-mail addresses of a customer account's portal users (or the account's own address)."""
    emails = [
        email for (email,) in db.session.query(User.email)
        .join(PortalUser, PortalUser.user_id == User.id)
        .filter(PortalUser.customer_id == customer.id, User.active.is_(True))
    ]
    if not emails and customer.email:
        emails = [customer.email]
    return sorted(set(e for e in emails if e))


def to_customer(customer: Customer, event: str, title: str, body: str = "", *, link: str | None = None,
                group: str = "requests", attachments: list[dict] | None = None) -> Notification:
    """A portal notification for the account, and e-mail where its preferences want it."""
    note = Notification(audience="customer", customer_id=customer.id, event=event, title=title[:200],
                        body=body, link=link)
    db.session.add(note)
    if customer.wants_email(group):
        for address in customer_addresses(customer):
            text, html = _render(title, body, link, customer.name)
            queue_email(address, f"{get_settings().shop_name}: {title}", text, html, event=event,
                        attachments=attachments)
    return note


def to_staff(event: str, title: str, body: str = "", *, link: str | None = None, user_id: int | None = None,
             customer_id: int | None = None) -> Notification:
    """The staff feed (or one staff user, e.g. the assigned technician), and the shop's staff address."""
    note = Notification(audience="staff", user_id=user_id, customer_id=customer_id, event=event,
                        title=title[:200], body=body, link=link)
    db.session.add(note)
    recipients = []
    if user_id is not None:
        user = db.session.get(User, user_id)
        if user is not None and user.email:
            recipients.append(user.email)
    elif get_settings().staff_email:
        recipients.append(get_settings().staff_email)
    for address in recipients:
        text, html = _render(title, body, link, None)
        queue_email(address, f"[Portico] {title}", text, html, event=event)
    return note
