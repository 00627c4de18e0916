"""Helpers for the portal sign-in, public request and upload tests.

The suite runs every test inside one app context (``conftest._app_context``), so Flask reuses it for each
test-client request, and ``g`` (where Flask-Login caches the current user and Flask-Babel the locale) would
carry one client's login into another client's request. ``separate_requests`` gives every request a clean
``g`` login state, as each request has in a real server; tests with several browsers (clients) need it.
"""
from __future__ import annotations

import re

import pytest
from flask import g
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxEmail

REQUEST_SCOPED = ("_login_user", "user", "_portico_customer", "_portico_permissions", "portal_actor",
                  "portico_login_refused", "_flask_babel")
LINK = re.compile(r"http://[^\s\"<]+(/portal/login/[A-Za-z0-9_-]{40,}(?:\?next=[^\s\"<]+)?)")


@pytest.fixture()
def separate_requests(monkeypatch):
    original = FlaskClient.open

    def open_with_fresh_login(self, *args, **kwargs):
        for key in REQUEST_SCOPED:
            g.pop(key, None)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FlaskClient, "open", open_with_fresh_login)


def last_mail(to_address: str) -> OutboxEmail:
    mail = db.session.scalar(
        select(OutboxEmail).where(OutboxEmail.to_address == to_address).order_by(OutboxEmail.id.desc()))
    assert mail is not None, f"no e-mail to {to_address}"
    return mail


def delivered(mail: OutboxEmail) -> tuple[str, str | None]:
    """The bodies of ``mail`` as the recipient gets them: its sealed links minted, as the mailer does when
    it hands the mail to the SMTP server (the outbox itself never holds a usable link)."""
    from app.services import portal_auth

    text, html = portal_auth.unseal(mail.body_text, mail.body_html)
    db.session.commit()
    return text, html


def last_link(to_address: str) -> str:
    """The path (with ``?next=`` if any) of the newest login link e-mailed to ``to_address``."""
    text, _html = delivered(last_mail(to_address))
    match = LINK.search(text)
    assert match, text
    return match.group(1).replace("&amp;", "&")


def token_of(link_path: str) -> str:
    return link_path.split("/portal/login/", 1)[1].split("?", 1)[0]
