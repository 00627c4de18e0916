"""Telling the people concerned: a portal or staff notification plus e-mail through the outbox.

Nothing here talks to SMTP: mail is queued in ``outbox_email`` inside the caller's transaction, so it is
sent only if the change commits, and the scheduler process delivers it with retries (``services.mailer``).
"""
from __future__ import annotations

import re

from flask import current_app
from flask_babel import force_locale

from ..core import languages
from ..core.settings import absolute, get_settings
from ..extensions import db
from ..models import Customer, Notification, OutboxEmail, PortalUser, User


def queue_email(to_address: str, subject: str, text: str, html: str | None = None, *,
                event: str | None = None, attachments: list[dict] | None = None) -> OutboxEmail:
    mail = OutboxEmail(to_address=to_address, subject=subject[:255], body_text=text, body_html=html,
                       event=event, attachments=attachments)
    db.session.add(mail)
    return mail


#: The wording blocks an e-mail template may define (see ``email/notification.txt``).
WORDING_BLOCKS = ("subject", "intro", "next_step", "cta")
GENERIC = "email/notification"
_EVENT_NAME = re.compile(r"[a-z_]+(\.[a-z_]+)*")


def _candidates(event: str | None, ext: str) -> list[str]:
    """``email/<event>.<ext>``, then ``email/<family>.<ext>`` (``estimate`` of ``estimate.sent``), then generic."""
    names = []
    if event and _EVENT_NAME.fullmatch(event):
        names.append(f"email/{event}.{ext}")
        if "." in event:
            names.append(f"email/{event.split('.', 1)[0]}.{ext}")
    names.append(f"{GENERIC}.{ext}")
    return names


def _wording(template, context: dict) -> dict[str, str]:
    """The wording blocks of ``template`` (the generic template's where it defines none)."""
    env = current_app.jinja_env
    generic = env.get_template(f"{GENERIC}.txt")
    words = {}
    for name in WORDING_BLOCKS:
        owner = template if name in template.blocks else generic
        words[name] = "".join(owner.blocks[name](owner.new_context(context))).strip()
    return words


def render_email(event: str | None, title: str, body: str, link: str | None, recipient: str | None,
                 audience: str = "customer") -> tuple[str, str, str]:
    """Subject, text and HTML of an e-mail from the event's own templates, falling back to the generic ones.

    A template for an event (``email/invoice.paid.txt``) or a family of events (``email/invoice.txt``)
    extends ``email/notification.txt`` and words the ``subject``, ``intro``, ``next_step`` and ``cta``
    blocks; the HTML (``email/notification.html`` unless the event has its own) shows the same wording.
    """
    env = current_app.jinja_env
    context = dict(title=title, body=body or "", link=absolute(link) if link else None, shop=get_settings(),
                   recipient=recipient, event=event or "", audience=audience)
    text_template = env.select_template(_candidates(event, "txt"))
    words = _wording(text_template, context)
    subject = " ".join(words["subject"].split()) or title
    text = text_template.render(**context)
    html = env.select_template(_candidates(event, "html")).render(words=words, **context)
    return subject, text, html


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
    """A portal notification for the account, and e-mail where its preferences want it, in the account's
    language whoever caused it: ``title`` and ``body`` may be lazy strings (``lazy_gettext``), read here."""
    with force_locale(languages.for_customer(customer)):
        title, body = str(title), str(body or "")
    note = Notification(audience="customer", customer_id=customer.id, event=event, title=title[:200],
                        body=body, link=link)
    db.session.add(note)
    if customer.wants_email(group):
        addresses = customer_addresses(customer)
        if addresses:
            with force_locale(languages.for_customer(customer)):  # the customer's, whoever pressed the button
                subject, text, html = render_email(event, title, body, link, customer.name, "customer")
        for address in addresses:
            queue_email(address, f"{get_settings().shop_name}: {subject}", text, html, event=event,
                        attachments=attachments)
    return note


def to_staff(event: str, title: str, body: str = "", *, link: str | None = None, user_id: int | None = None,
             customer_id: int | None = None) -> Notification:
    """The staff feed (or one staff user, e.g. the assigned technician), and the shop's staff address.

    One staff user's notification is worded in their language, the shared feed's in the shop's default
    (``title`` and ``body`` may be lazy strings, read here)."""
    user = db.session.get(User, user_id) if user_id is not None else None
    with force_locale(languages.for_user(user) if user is not None else languages.shop_default()):
        title, body = str(title), str(body or "")
    note = Notification(audience="staff", user_id=user_id, customer_id=customer_id, event=event,
                        title=title[:200], body=body, link=link)
    db.session.add(note)
    recipients = []  # (address, language): a staff user's own language, the shop's for its staff address
    if user_id is not None:
        if user is not None and user.email:
            recipients.append((user.email, languages.for_user(user)))
    elif get_settings().staff_email:
        recipients.append((get_settings().staff_email, languages.shop_default()))
    for address, language in recipients:
        with force_locale(language):
            subject, text, html = render_email(event, title, body, link, None, "staff")
        queue_email(address, f"[Portico] {subject}", text, html, event=event)
    return note
