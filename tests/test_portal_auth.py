"""Portal sign-in: e-mailed login links (Continue button, expiry and extension), password login and reset,
locked accounts, sessions that can be ended, safe ``next``, rate limits, languages."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from sqlalchemy import func, select

from app.core.actors import Actor
from app.models import AuditEvent, Customer, LoginToken, OutboxEmail, PortalSession, PortalUser, utcnow
from app.services import portal_auth
from tests.conftest import PASSWORD
from tests.factories import make_user
from tests.portal_support import delivered, separate_requests, token_of  # noqa: F401 - fixture
from tests.portal_support import last_link as last_link_path

pytestmark = pytest.mark.usefixtures("separate_requests")


def last_link(to_address: str) -> str:
    return token_of(last_link_path(to_address))


def outbox_count(db, to_address: str) -> int:
    return db.session.scalar(select(func.count(OutboxEmail.id)).where(OutboxEmail.to_address == to_address))


@pytest.fixture()
def customer_user(db):
    user = make_user("Customer", username="jane", email="jane@example.com")
    db.session.commit()
    return user


def link_login(client, db, email: str = "jane@example.com", next_path: str | None = None):
    data = {"email": email}
    if next_path:
        data["next"] = next_path
    response = client.post("/portal/login", data=data)
    assert response.status_code == 303
    path = last_link_path(email)
    return client.post(path), token_of(path)


# --- the link --------------------------------------------------------------------------------------------

def test_login_link_get_shows_continue_and_only_post_logs_in(client, db, customer_user):
    response = client.post("/portal/login", data={"email": "Jane@Example.com "})
    assert response.status_code == 303 and response.headers["Location"].endswith("/portal/login/sent")
    token = last_link("jane@example.com")
    stored = db.session.scalar(select(LoginToken).where(LoginToken.user_id == customer_user.id))
    assert stored.token_hash == portal_auth.token_hash(token) and token not in stored.token_hash
    assert len(token) >= 43 and stored.purpose == "login"

    opened = client.get(f"/portal/login/{token}")  # what a mail scanner does
    assert opened.status_code == 200 and b"Continue" in opened.data and b'method="post"' in opened.data
    assert client.get("/portal/").status_code == 302  # not logged in by the GET
    assert client.get(f"/portal/login/{token}").status_code == 200  # and the link still works

    logged_in = client.post(f"/portal/login/{token}")
    assert logged_in.status_code == 303 and logged_in.headers["Location"] == "/portal/"
    assert client.get("/portal/sessions").status_code == 200
    row = db.session.scalar(select(PortalSession).where(PortalSession.user_id == customer_user.id))
    assert row.method == "link" and row.login_token_id == stored.id and row.ended_at is None


def test_same_answer_for_unknown_addresses(client, db, customer_user):
    strip = re.compile(r'name="csrf_token" value="[^"]*"')
    answers = []
    for email in ("jane@example.com", "nobody@example.com"):
        posted = client.post("/portal/login", data={"email": email})
        page = client.get(posted.headers["Location"])
        answers.append((posted.status_code, posted.headers["Location"], page.status_code,
                        strip.sub("", page.get_data(as_text=True)).replace(email, "ADDRESS")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 303 and "ADDRESS" in answers[0][3]
    assert outbox_count(db, "nobody@example.com") == 0
    assert outbox_count(db, "jane@example.com") == 1


def test_malformed_address_is_refused_at_the_field(client, customer_user):
    response = client.post("/portal/login", data={"email": "not an address"})
    assert response.status_code == 422
    assert b'id="email-error"' in response.data and b'value="not an address"' in response.data


def test_link_expires_and_is_extended_by_each_use(app, client, db, customer_user):
    start = dt.datetime(2030, 5, 1, 8, 0)
    with time_machine.travel(start, tick=False):
        client.post("/portal/login", data={"email": "jane@example.com"})
        token = last_link("jane@example.com")
    with time_machine.travel(start + dt.timedelta(hours=1, minutes=59), tick=False):
        assert client.post(f"/portal/login/{token}").status_code == 303  # used: valid until 5:59 after start
    with time_machine.travel(start + dt.timedelta(hours=3, minutes=30), tick=False):
        other = app.test_client()
        assert other.get(f"/portal/login/{token}").status_code == 200
        assert other.post(f"/portal/login/{token}").status_code == 303  # extended again: until 5:30 later
    with time_machine.travel(start + dt.timedelta(hours=5, minutes=31), tick=False):
        late = app.test_client()
        expired = late.get(f"/portal/login/{token}")
        assert expired.status_code == 410 and b"expired" in expired.data
        assert late.post(f"/portal/login/{token}").status_code == 410
        assert late.get("/portal/").status_code == 302


def test_unused_link_expires_after_the_setting(app, client, db, customer_user):
    from app.core.settings import get_settings

    get_settings().magic_link_hours = 1
    db.session.commit()
    start = dt.datetime(2030, 5, 1, 8, 0)
    with time_machine.travel(start, tick=False):
        client.post("/portal/login", data={"email": "jane@example.com"})
        token = last_link("jane@example.com")
    with time_machine.travel(start + dt.timedelta(minutes=61), tick=False):
        assert client.post(f"/portal/login/{token}").status_code == 410


def test_unknown_or_garbage_token(client, customer_user):
    assert client.get("/portal/login/" + "x" * 43).status_code == 410
    assert client.post("/portal/login/" + "y" * 300).status_code == 410


# --- next ------------------------------------------------------------------------------------------------

def test_guard_sends_to_login_with_next_and_link_returns_there(client, db, customer_user):
    response = client.get("/portal/sessions")
    assert response.status_code == 302 and response.headers["Location"] == "/portal/login?next=/portal/sessions"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/portal/sessions"' in page
    logged_in, _token = link_login(client, db, next_path="/portal/sessions")
    assert logged_in.headers["Location"] == "/portal/sessions"


@pytest.mark.parametrize("target", ["https://evil.example.net/x", "//evil.example.net/x", "/\\evil.example.net",
                                    "javascript:alert(1)", "http:/portal/"])
def test_next_must_be_a_local_path(client, db, customer_user, target):
    client.post("/portal/login", data={"email": "jane@example.com", "next": target})
    token = last_link("jane@example.com")
    response = client.post(f"/portal/login/{token}?next={target}")
    assert response.status_code == 303 and response.headers["Location"] == "/portal/"
    client.post("/portal/logout")
    response = client.post(f"/portal/login/password?next={target}", data={"username": "jane", "password": PASSWORD})
    assert response.headers["Location"] == "/portal/"


# --- password --------------------------------------------------------------------------------------------

def test_password_login(client, db, customer_user):
    wrong = client.post("/portal/login/password", data={"username": "jane", "password": "nope"})
    assert wrong.status_code == 401 and b"not right" in wrong.data and b'value="jane"' in wrong.data
    empty = client.post("/portal/login/password", data={"username": "", "password": ""})
    assert empty.status_code == 422 and b'id="username-error"' in empty.data
    right = client.post("/portal/login/password?next=/portal/sessions",
                        data={"username": "jane@example.com", "password": PASSWORD})
    assert right.status_code == 303 and right.headers["Location"] == "/portal/sessions"
    assert db.session.scalar(select(PortalSession.method).where(PortalSession.user_id == customer_user.id)) == \
        "password"


def test_staff_cannot_use_the_portal_password_login(client, db):
    make_user("Advisor", username="adv")
    db.session.commit()
    response = client.post("/portal/login/password", data={"username": "adv", "password": PASSWORD})
    assert response.status_code == 403 and b"Staff log in" in response.data
    assert client.post("/portal/login", data={"email": "adv@example.com"}).status_code == 303
    assert outbox_count(db, "adv@example.com") == 0  # no login link for a staff address


def test_password_reset(app, client, db, customer_user):
    assert client.post("/portal/password/reset", data={"email": "nobody@example.com"}).status_code == 303
    response = client.post("/portal/password/reset", data={"email": "jane@example.com"})
    assert response.status_code == 303
    mail = db.session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == "jane@example.com"))
    assert not re.search(r"/portal/password/reset/([A-Za-z0-9_-]{40,})", mail.body_text)  # sealed in the outbox
    token = re.search(r"/portal/password/reset/([A-Za-z0-9_-]{40,})", delivered(mail)[0]).group(1)
    assert db.session.scalar(select(LoginToken.purpose).where(LoginToken.user_id == customer_user.id)) == \
        "password_reset"
    assert client.post(f"/portal/login/{token}").status_code == 410  # a reset token is no login link
    assert client.get(f"/portal/password/reset/{token}").status_code == 200
    short = client.post(f"/portal/password/reset/{token}", data={"password": "short", "confirm": "short"})
    assert short.status_code == 422 and b'id="password-error"' in short.data
    mismatch = client.post(f"/portal/password/reset/{token}", data={"password": "a-long-password-1",
                                                                    "confirm": "a-long-password-2"})
    assert mismatch.status_code == 422 and b'id="confirm-error"' in mismatch.data
    other = app.test_client()
    link_login(other, db)  # a session elsewhere ends with the reset
    done = client.post(f"/portal/password/reset/{token}", data={"password": "a-long-password-1",
                                                                "confirm": "a-long-password-1"})
    assert done.status_code == 303 and client.get("/portal/sessions").status_code == 200
    assert other.get("/portal/sessions").status_code == 302
    assert client.post(f"/portal/password/reset/{token}", data={"password": "x" * 12, "confirm": "x" * 12}
                       ).status_code == 410  # used once
    fresh = app.test_client()
    assert fresh.post("/portal/login/password", data={"username": "jane", "password": PASSWORD}).status_code == 401
    assert fresh.post("/portal/login/password", data={"username": "jane", "password": "a-long-password-1"}
                      ).status_code == 303


# --- locked accounts -------------------------------------------------------------------------------------

def lock(db, user, locked=True):
    customer = portal_auth.customer_of(user)
    portal_auth.lock_customer(customer, Actor.system_actor("test"), locked)
    db.session.commit()  # the lock service is an effect: its caller (perform) commits
    return customer


def test_locked_account_cannot_log_in_or_ask_for_links(app, client, db, customer_user):
    client.post("/portal/login", data={"email": "jane@example.com"})
    token = last_link("jane@example.com")
    lock(db, customer_user)
    assert db.session.get(LoginToken, db.session.scalar(select(LoginToken.id))).revoked_at is not None
    refused = client.post(f"/portal/login/{token}")
    assert refused.status_code == 410
    before = outbox_count(db, "jane@example.com")
    assert client.post("/portal/login", data={"email": "jane@example.com"}).status_code == 303
    assert outbox_count(db, "jane@example.com") == before  # no new link, same answer
    password = client.post("/portal/login/password", data={"username": "jane", "password": PASSWORD})
    assert password.status_code == 403 and b"locked" in password.data
    client.post("/login/", data={"username": "jane", "password": PASSWORD})  # FAB's own form refuses too
    assert client.get("/portal/sessions").status_code == 302
    lock(db, customer_user, False)
    assert client.post("/portal/login/password", data={"username": "jane", "password": PASSWORD}).status_code == 303


def test_a_valid_link_of_a_locked_account_says_so(client, db, customer_user):
    client.post("/portal/login", data={"email": "jane@example.com"})
    token = last_link("jane@example.com")
    customer = portal_auth.customer_of(customer_user)
    customer.locked = True  # locked without revoking (e.g. edited in the database)
    db.session.commit()
    response = client.post(f"/portal/login/{token}")
    assert response.status_code == 403 and b"locked" in response.data


def test_locking_logs_out_a_logged_in_customer(client, db, customer_user):
    link_login(client, db)
    assert client.get("/portal/sessions").status_code == 200
    customer = portal_auth.customer_of(customer_user)
    customer.locked = True
    db.session.commit()
    response = client.get("/portal/sessions")
    assert response.status_code == 302 and "/portal/login" in response.headers["Location"]
    assert b"locked" in client.get("/portal/login").data
    customer.locked = False
    db.session.commit()
    assert client.get("/portal/sessions").status_code == 302  # logged out, not just refused


def test_staff_lock_and_unlock_on_the_customer_screen(client, db, login_as, customer_user):
    customer = portal_auth.customer_of(customer_user)
    other = client.application.test_client()
    link_login(other, db)
    advisor = make_user("Advisor")
    db.session.commit()
    staff = login_as(advisor)
    response = staff.post(f"/customerview/action/lock/{customer.id}")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).locked is True
    assert other.get("/portal/sessions").status_code == 302  # its session was ended
    events = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "customer",
                                                                AuditEvent.entity_id == customer.id)).all()
    assert "lock" in events
    staff.post(f"/customerview/action/unlock/{customer.id}")
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).locked is False
    assert "unlock" in db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "customer", AuditEvent.entity_id == customer.id)).all()
    technician = login_as(make_user("Technician"))
    technician.post(f"/customerview/action/lock/{customer.id}")
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).locked is False


# --- sessions --------------------------------------------------------------------------------------------

def test_sessions_are_listed_and_others_can_be_ended(app, client, db, customer_user):
    link_login(client, db)
    phone = app.test_client()
    phone.post("/portal/login/password", data={"username": "jane", "password": PASSWORD},
               headers={"User-Agent": "Phone Browser 1.0"})
    laptop = app.test_client()
    laptop.post("/portal/login/password", data={"username": "jane", "password": PASSWORD})
    page = client.get("/portal/sessions").get_data(as_text=True)
    assert "Phone Browser 1.0" in page and "this browser" in page
    rows = db.session.scalars(select(PortalSession).where(PortalSession.user_id == customer_user.id)).all()
    assert len(rows) == 3
    phone_row = next(r for r in rows if r.user_agent == "Phone Browser 1.0")
    assert client.post("/portal/sessions/end", data={"session_id": phone_row.id}).status_code == 303
    ended = phone.get("/portal/sessions")
    assert ended.status_code == 302 and ended.headers["Location"].startswith("/portal/login")
    assert laptop.get("/portal/sessions").status_code == 200
    client.post("/portal/sessions/end", data={})  # all others
    assert laptop.get("/portal/sessions").status_code == 302
    assert client.get("/portal/sessions").status_code == 200


def test_another_users_session_cannot_be_ended(app, client, db, customer_user):
    other_user = make_user("Customer", username="bob", email="bob@example.com")
    db.session.commit()
    bob = app.test_client()
    bob.post("/portal/login/password", data={"username": "bob", "password": PASSWORD})
    bob_row = db.session.scalar(select(PortalSession).where(PortalSession.user_id == other_user.id))
    link_login(client, db)
    assert client.post("/portal/sessions/end", data={"session_id": bob_row.id}).status_code == 404
    assert client.post("/portal/sessions/end", data={"session_id": "abc"}).status_code == 404
    assert bob.get("/portal/sessions").status_code == 200


def test_logout_ends_the_session_and_its_link(client, db, customer_user):
    _response, token = link_login(client, db)
    assert client.get("/portal/logout").status_code == 405  # POST only
    response = client.post("/portal/logout")
    assert response.status_code == 303 and response.headers["Location"] == "/portal/login"
    assert client.get("/portal/sessions").status_code == 302
    row = db.session.scalar(select(PortalSession).where(PortalSession.user_id == customer_user.id))
    assert row.ended_at is not None
    assert client.post(f"/portal/login/{token}").status_code == 410


def test_fab_login_form_gets_a_session_row(client, db, login_as, customer_user):
    login_as(customer_user)
    assert client.get("/portal/sessions").status_code == 200
    row = db.session.scalar(select(PortalSession).where(PortalSession.user_id == customer_user.id))
    assert row.method == "form"


def test_staff_get_403_on_portal_pages(client, db, login_as):
    login_as(make_user("Advisor"))
    assert client.get("/portal/sessions").status_code == 403


# --- rate limits -----------------------------------------------------------------------------------------

@pytest.fixture()
def limited_client(app, database_url):
    from app import create_app
    from config import TestConfig

    limited = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, RATELIMIT_ENABLED=True,
                         RATELIMIT_STORAGE_URI="memory://", PORTICO_LOGIN_LINK_RATE_LIMIT="2 per hour",
                         PORTICO_PORTAL_IP_RATE_LIMIT="5 per hour", PORTICO_PORTAL_PASSWORD_RATE_LIMIT="2 per hour",
                         PORTICO_UPLOAD_DIR=app.config["PORTICO_UPLOAD_DIR"])
    return limited.test_client()


def test_link_requests_are_limited_per_address_and_per_ip(limited_client, db, customer_user):
    codes = [limited_client.post("/portal/login", data={"email": "jane@example.com"}).status_code for _ in range(3)]
    assert codes == [303, 303, 429]
    assert outbox_count(db, "jane@example.com") == 2
    unknown = [limited_client.post("/portal/login", data={"email": "x@example.com"}).status_code for _ in range(3)]
    assert unknown == [303, 303, 429]  # unknown addresses are limited the same way
    other = limited_client.post("/portal/login", data={"email": "y@example.com"})
    assert other.status_code == 429 and b"Too many attempts" in other.data  # the IP's budget is used up


def test_failed_passwords_are_limited_per_username(limited_client, customer_user):
    codes = [limited_client.post("/portal/login/password", data={"username": "jane", "password": "bad"}).status_code
             for _ in range(3)]
    assert codes == [401, 401, 429]


# --- languages -------------------------------------------------------------------------------------------

def test_portal_speaks_the_browsers_language(client):
    german = client.get("/portal/login", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert "Anmelden" in german.get_data(as_text=True) and '<html lang="de">' in german.get_data(as_text=True)
    english = client.get("/portal/login", headers={"Accept-Language": "en-GB"})
    assert "Send me a login link" in english.get_data(as_text=True)


def test_profile_language_wins_over_the_browser(client, db, customer_user):
    link = db.session.scalar(select(PortalUser).where(PortalUser.user_id == customer_user.id))
    link.language = "de"
    db.session.commit()
    link_login(client, db)
    page = client.get("/portal/sessions", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Angemeldete Geräte" in page


def test_language_switch_is_kept_and_saved_in_the_profile(client, db, customer_user):
    response = client.post("/portal/language", data={"language": "de", "next": "/portal/request"})
    assert response.status_code == 303 and response.headers["Location"] == "/portal/request"
    assert "Service anfragen" in client.get("/portal/request", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert client.post("/portal/language", data={"language": "xx"}).status_code == 400
    assert client.post("/portal/language", data={"language": "en", "next": "https://evil.example.net/"}
                       ).headers["Location"] == "/portal/"
    link_login(client, db)
    client.post("/portal/language", data={"language": "de"})
    assert db.session.scalar(select(PortalUser.language).where(PortalUser.user_id == customer_user.id)) == "de"


def test_login_mail_is_in_the_customers_language(client, db, customer_user):
    link = db.session.scalar(select(PortalUser).where(PortalUser.user_id == customer_user.id))
    link.language = "de"
    db.session.commit()
    client.post("/portal/login", data={"email": "jane@example.com"}, headers={"Accept-Language": "en"})
    mail = db.session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == "jane@example.com"))
    assert "Anmeldelink" in mail.subject and "Hallo" in mail.body_text


def test_german_catalogue_is_complete_and_compiled():
    """Every portal string of the catalogue is translated, and the committed .mo matches the .po."""
    from pathlib import Path

    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    folder = Path(__file__).resolve().parents[1] / "app" / "translations" / "de" / "LC_MESSAGES"
    with open(folder / "messages.po", "rb") as handle:
        po = read_po(handle)
    with open(folder / "messages.mo", "rb") as handle:
        mo = read_mo(handle)
    def translated(catalog):  # untranslated plurals come out of a .mo as their own ids
        return {(m.id if isinstance(m.id, str) else m.id[0]): tuple(m.string) if not isinstance(m.string, str)
                else m.string for m in catalog
                if m.id and (m.string if isinstance(m.string, str) else all(m.string) and list(m.string) != list(m.id))}

    po_strings, mo_strings = translated(po), translated(mo)
    assert po_strings == mo_strings, "run: pybabel compile -d app/translations"
    mine = ["Log in", "Send me a login link", "Continue", "Request service", "Check your request", "Send request",
            "Signed-in devices", "Skip to content", "This account is locked. Please contact us to unlock it."]
    for text in mine:
        assert po_strings.get(text), text


def test_lock_customer_is_idempotent(db, customer_user):
    customer = portal_auth.customer_of(customer_user)
    assert portal_auth.lock_customer(customer, Actor.system_actor("t"), True) is True
    assert portal_auth.lock_customer(customer, Actor.system_actor("t"), True) is False
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "lock")) == 1


def test_session_last_used_is_touched(client, db, customer_user):
    start = utcnow()
    with time_machine.travel(start, tick=False):
        link_login(client, db)
    with time_machine.travel(start + dt.timedelta(minutes=10), tick=False):
        client.get("/portal/sessions")
    row = db.session.scalar(select(PortalSession).where(PortalSession.user_id == customer_user.id))
    db.session.refresh(row)
    assert row.last_used_at >= start + dt.timedelta(minutes=10) - dt.timedelta(seconds=1)


def test_fab_logout_ends_the_portal_session_too(client, db, customer_user):
    link_login(client, db)
    client.get("/logout/")
    row = db.session.scalar(select(PortalSession).where(PortalSession.user_id == customer_user.id))
    assert row.ended_at is not None


def test_a_leftover_session_key_does_not_log_out_the_next_user(client, db, login_as, customer_user):
    link_login(client, db)
    bob = make_user("Customer", username="bob", email="bob@example.com")
    db.session.commit()
    with client.session_transaction() as browser:
        leftover = browser["portal_sid"]
    client.post("/portal/logout")
    with client.session_transaction() as browser:
        browser["portal_sid"] = leftover  # as if an old cookie value came back
    client.post("/portal/login/password", data={"username": "bob", "password": PASSWORD})
    with client.session_transaction() as browser:
        browser["portal_sid"] = leftover
    assert client.get("/portal/sessions").status_code == 200  # jane's ended key is dropped, bob stays
    assert db.session.scalar(select(func.count(PortalSession.id)).where(PortalSession.user_id == bob.id)) == 2


@pytest.fixture()
def csrf_client(app, database_url):
    from app import create_app
    from config import TestConfig

    protected = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, WTF_CSRF_ENABLED=True,
                           PORTICO_UPLOAD_DIR=app.config["PORTICO_UPLOAD_DIR"])
    return protected.test_client()


def csrf_of(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def test_portal_forms_carry_csrf_tokens(csrf_client, db, customer_user):
    assert csrf_client.post("/portal/login", data={"email": "jane@example.com"}).status_code == 400
    token = csrf_of(csrf_client.get("/portal/login"))
    assert csrf_client.post("/portal/login", data={"email": "jane@example.com", "csrf_token": token}
                            ).status_code == 303
    link = last_link_path("jane@example.com")
    assert csrf_client.post(link).status_code == 400  # a scanner's POST without the page's token
    continue_page = csrf_client.get(link)
    response = csrf_client.post(link, data={"csrf_token": csrf_of(continue_page)})
    assert response.status_code == 303
    sessions = csrf_client.get("/portal/sessions")
    assert sessions.status_code == 200
    logout = csrf_client.post("/portal/logout", data={"csrf_token": csrf_of(sessions)})
    assert logout.status_code == 303
