"""Hardening (issue 12): uploads that cannot stall a worker, a busy SQLite that answers 503, not 500."""
from __future__ import annotations

import io
import sqlite3
import struct
import zlib

import pytest

from app.core.errors import ValidationFailed
from app.services import uploads
from tests.api_support import api_as
from tests.factories import CustomerFactory, make_user
from tests.test_public_request import form_data, photo


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` (what a decompression bomb looks like to a parser)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


class _Upload:
    def __init__(self, data: bytes, filename: str):
        self.stream, self.filename = io.BytesIO(data), filename


@pytest.mark.parametrize("width,height", [(1, 59_000_000), (59_000_000, 1), (20_000, 20)])
def test_a_picture_with_an_absurd_side_is_refused_before_it_is_decoded(width, height, monkeypatch):
    decoded = []
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", lambda self: decoded.append(self) or None)
    with pytest.raises(ValidationFailed, match="too many pixels"):
        uploads.check_file(_Upload(_png_header(width, height), "bomb.png"))
    assert decoded == []  # refused from the header alone


def test_the_public_form_counts_files_before_decoding_any(client, db, monkeypatch):
    from app.core.settings import get_settings
    from tests.factories import ServiceTypeFactory

    service_type = ServiceTypeFactory()
    get_settings().photo_limit = 2
    db.session.commit()
    checked = []
    real = uploads.check_file
    monkeypatch.setattr(uploads, "check_file", lambda storage: checked.append(storage.filename) or real(storage))
    data = form_data(service_type)
    data["files"] = [photo(f"{n}.jpg") for n in range(40)]
    response = client.post("/portal/request", data=data, content_type="multipart/form-data")
    assert response.status_code == 422 and "At most 2 files" in response.get_data(as_text=True)
    assert checked == ["0.jpg", "1.jpg"]  # the 38 others were never read
    from app.views.portal.public_request import DRAFT_KEY

    with client.session_transaction() as browser:
        uploads.discard_draft(browser.get(DRAFT_KEY))  # leave no draft behind for other tests


def test_drafts_together_cannot_fill_the_disk(app, db):
    app.config["PORTICO_PENDING_MAX_BYTES"] = uploads.pending_bytes() + 3000
    try:
        token = uploads.new_draft_token()
        uploads.add_pending(token, uploads.CheckedFile("a.pdf", "application/pdf", b"%PDF-" + b"x" * 2000))
        with pytest.raises(ValidationFailed, match="cannot take more files"):
            uploads.add_pending(uploads.new_draft_token(),
                                uploads.CheckedFile("b.pdf", "application/pdf", b"%PDF-" + b"y" * 2000))
    finally:
        app.config.pop("PORTICO_PENDING_MAX_BYTES")
        uploads.discard_draft(token)


def test_sqlite_runs_in_wal_mode_and_a_held_write_lock_is_a_503(db, client, monkeypatch):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's single writer")
    from app import extensions

    assert db.session.execute(db.text("PRAGMA journal_mode")).scalar() == "wal"
    customer = CustomerFactory(name="Busy Shop Customer")
    advisor = make_user("Advisor")
    db.session.commit()
    api, customer_id = api_as(client, advisor), customer.id
    monkeypatch.setattr(extensions, "SQLITE_BUSY_TIMEOUT_MS", 50)
    db.session.remove()
    db.engine.dispose()  # new connections take the short timeout
    holder = sqlite3.connect(db.engine.url.database, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        response = api.put(f"/customer/{customer_id}", json={"phone": "+49 40 123"})
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.headers["Retry-After"]
        assert "try again" in response.get_json()["message"]
    finally:
        holder.rollback()
        holder.close()
    db.engine.dispose()


def test_a_second_approve_or_payment_from_a_stale_page_is_409_and_changes_nothing(app, db):
    """Two people press at once: the second acts on what it read before the first committed. It gets 409
    (StaleObject), and no second work order or payment is written."""
    from sqlalchemy import func, select

    from app.core.errors import StaleObject
    from app.models import Estimate, Invoice, Payment, WorkOrder
    from app.services.workflow import perform
    from tests.test_nothing_lost import _invoice, _shop

    shop = _shop(db)
    from app.services import estimates

    est = estimates.create(shop["staff"], customer_id=shop["klara"].id, labour_lines=[
        {"description": "Brakes", "hours": "1.00", "rate": "90.00", "parts": []}])
    perform(est, "submit", shop["staff"])
    invoice = _invoice(db, shop, paid=False)
    jane, staff, est_id, invoice_id = actor_of(shop["login"]), shop["staff"], est.id, invoice.id
    orders_before = db.session.scalar(select(func.count(WorkOrder.id)))
    for model, ident, act in (
            (Estimate, est_id, lambda obj: perform(obj, "approve", jane)),
            (Invoice, invoice_id,
             lambda obj: perform(obj, "payments", staff, {"amount": str(obj.total), "method": "card"}))):
        with app.app_context():  # the second browser reads first…
            from app.extensions import db as second

            stale = second.session.get(model, ident)
            assert stale.status in ("sent", "open")
            with app.app_context():  # …then the first one acts and commits
                from app.extensions import db as first

                act(first.session.get(model, ident))
            with pytest.raises(StaleObject):
                act(stale)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(WorkOrder.id))) == orders_before + 1
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.invoice_id == invoice_id)) == 1
    assert db.session.get(Invoice, invoice_id).status == "paid"


def actor_of(user):
    from tests.factories import actor

    return actor(user)


# --- no 500 for any input: the calendar's ends, paging, FAB's unused routes ---------------------------------

def test_the_calendars_ends_paging_and_unused_routes_are_4xx_never_500(db, client, login_as):
    from tests.factories import ServiceTypeFactory

    admin, reseller = make_user("Admin"), make_user("Reseller", customer=CustomerFactory(kind="reseller"))
    customer, service_type = CustomerFactory(), ServiceTypeFactory()
    db.session.commit()
    api = api_as(client, admin)
    for path in ("/work_order/export.csv?start=0001-01-01&end=9999-12-31", "/work_order/export.csv?end=9999-12-31",
                 "/work_order/export.csv?start=0000-01-01"):
        assert api.get(path).status_code == 400, path
    for day in ("9999-12-31", "0001-01-01"):
        answer = api.post("/service_request/", json={"service_type": service_type.id, "subject": "End of time",
                                                     "preferred_date": day, "preferred_slot": "morning",
                                                     "customer": customer.id})
        assert answer.status_code == 422 and "preferred_date" in answer.get_json()["message"], day
    assert api.get("/work_order/", q={"page": 10**12}).status_code == 400
    assert api.get("/work_order/", q={"page_size": 10**30}).status_code == 200  # capped at 100
    screen = login_as(admin)
    for path in ("/workorderview/list/?psize_WorkOrderView=100000000",
                 "/workorderview/list/?page_WorkOrderView=99999999999999999999",
                 "/workorderview/list/?psize_WorkOrderView=-5",
                 "/documents/orders.csv?start=0001-01-01&end=9999-12-31"):
        assert screen.get(path).status_code == 400, path
    for path in ("/workorderview/download/x.txt", "/customerview/download/..%2F..%2Fetc%2Fpasswd"):
        assert screen.get(path).status_code == 404, path
    for path in ("/bookingboard/?date_to=9999-12-31", "/bookingboard/?date_from=0001-01-01",
                 "/serviceboard/?date_to=9999-12-31", "/serviceboard/?date_from=0001-01-01"):
        assert screen.get(path).status_code == 200, path
    portal = login_as(reseller)
    assert portal.get("/portal/orders/export.csv?start=0001-01-01&end=9999-12-31").status_code == 400


# --- secrets: login and reset links are never readable in the outbox, its screen or the log -----------------

def test_login_links_are_sealed_until_the_mail_leaves(app, db, client, caplog):
    import logging
    import re

    from aiosmtpd.controller import Controller
    from sqlalchemy import select

    from app.models import OutboxEmail
    from app.services import mailer
    from tests.portal_support import LINK
    from tests.test_mailer import Inbox, free_port

    make_user("Customer", customer=CustomerFactory(), email="jane.sealed@example.com")
    manager = make_user("Manager")
    db.session.commit()
    assert client.post("/portal/login", data={"email": "jane.sealed@example.com"}).status_code in (200, 302, 303)
    mail = db.session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == "jane.sealed@example.com"))
    stored = mail.body_text + (mail.body_html or "")
    assert "/portal/login/portico-link-" in stored and not LINK.search(stored)
    # without MAIL_SERVER the log holds one line for the mail, no text (and so no link)
    with caplog.at_level(logging.INFO, logger="app.services.mailer"):
        mailer.send_due()
    assert f"E-mail {mail.id} " in caplog.text and not LINK.search(caplog.text)
    assert "portico-link-" not in caplog.text
    # a manager opening the outbox sees no usable link
    from tests.conftest import login

    login(client, manager.username)
    outbox = client.get("/outboxview/list/").get_data(as_text=True) + client.get(
        f"/outboxview/show/{mail.id}").get_data(as_text=True)
    assert not LINK.search(outbox)
    client.get("/logout/")
    # the mail that reaches Jane carries a link that logs her in
    port = free_port()
    old = dict(app.config)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_USERNAME="")
    mail.next_attempt_at = mail.created_at
    db.session.commit()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert mailer.send_due()["sent"] >= 1
    finally:
        controller.stop()
        app.config.clear()
        app.config.update(old)
    received = next(m for m in inbox.messages if m["To"] == "jane.sealed@example.com")
    text = next(part.get_payload(decode=True).decode() for part in received.walk()
                if part.get_content_type() == "text/plain")
    path = LINK.search(text).group(1)
    assert re.search(r"/portal/login/[A-Za-z0-9_-]{40,}", path)
    db.session.expire_all()
    assert "portico-link-" in db.session.get(OutboxEmail, mail.id).body_text  # still sealed at rest
    assert client.post(path.split("?")[0]).status_code in (302, 303)  # Jane is logged in


# --- sessions that hold: a copied cookie dies with its logout; a reset or a lock ends every credential ------

def test_a_staff_cookie_copied_before_logout_is_refused_afterwards(app, db):
    from tests.conftest import login

    advisor = make_user("Advisor")
    db.session.commit()
    browser = app.test_client()
    assert login(browser, advisor.username).status_code == 302
    assert browser.get("/customerview/list/").status_code == 200
    copied = browser.get_cookie("session").value
    assert browser.get("/logout/").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", copied)
    response = thief.get("/customerview/list/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert thief.get("/customerview/list/").status_code == 302  # and it stays logged out


def test_a_password_reset_ends_every_other_credential(app, db):
    import datetime as dt

    import time_machine

    from tests.api_support import login_token
    from tests.conftest import login

    advisor = make_user("Advisor")
    db.session.commit()
    other_browser = app.test_client()
    assert login(other_browser, advisor.username).status_code == 302
    with time_machine.travel(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5), tick=False):
        token = login_token(app.test_client(), advisor.username)  # a JWT from a few seconds ago
    app.appbuilder.sm.reset_password(advisor.id, "a-new-password-2")
    client = app.test_client()
    assert client.get("/api/v1/customer/", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    response = other_browser.get("/customerview/list/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert login(app.test_client(), advisor.username, "a-new-password-2").status_code == 302
    fresh = login_token(app.test_client(), advisor.username, "a-new-password-2")
    assert client.get("/api/v1/customer/", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_a_link_request_takes_as_long_for_an_unknown_address(app, db, client, monkeypatch):
    """The answer never comes sooner than the floor, whether a mail was queued or not."""
    import time

    from app.services import portal_auth

    make_user("Customer", customer=CustomerFactory(), email="known.timing@example.com")
    db.session.commit()
    monkeypatch.setitem(app.config, "PORTICO_EQUAL_ANSWER_SECONDS", 0.3)
    sent = []
    real = portal_auth.send_login_link
    monkeypatch.setattr(portal_auth, "send_login_link", lambda *a, **k: sent.append(real(*a, **k)))
    for address in ("known.timing@example.com", "nobody.timing@example.com"):
        started = time.monotonic()
        assert client.post("/portal/login", data={"email": address}).status_code == 303
        assert time.monotonic() - started >= 0.3, address
    assert sent == [True, False]  # one queued a mail, one did not; both answered alike


@pytest.mark.parametrize("body", [
    b"1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj",
    b"1 0 obj << /S /Launch /F (cmd.exe) >> endobj",
    b"1 0 obj << /Type /Catalog /Names << /EmbeddedFiles 2 0 R >> >> endobj",
    b"1 0 obj << /S /J#61vaScript >> endobj",  # a name written with an escape is the same name
    b"1 0 obj << /Type /ObjStm /Filter /FlateDecode >> stream\n" + zlib.compress(b"<< /S /JavaScript >>")
    + b"\nendstream endobj",  # hidden in a compressed object stream
])
def test_a_pdf_that_runs_or_carries_something_is_refused(body):
    with pytest.raises(ValidationFailed, match="scripts, actions or embedded files"):
        uploads.check_file(_Upload(b"%PDF-1.7\n" + body + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n", "scan.pdf"))


def test_a_plain_pdf_passes_and_a_pdf_zip_bomb_is_refused_cheaply():
    plain = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    assert uploads.check_file(_Upload(plain, "letter.pdf")).content_type == "application/pdf"
    bomb = zlib.compress(b"\x00" * (uploads.PDF_INFLATE_LIMIT + 1024 * 1024), 9)  # 33 MB of zeros in ~32 KB
    with pytest.raises(ValidationFailed):
        uploads.check_file(_Upload(b"%PDF-1.4\n1 0 obj << /Filter /FlateDecode >> stream\n" + bomb
                                   + b"\nendstream endobj\n%%EOF\n", "bomb.pdf"))


def test_portal_logins_are_archived_from_the_customer_screens(db, login_as, client):
    from app.models import PortalUser

    manager = make_user("Manager")
    jane = make_user("Customer", customer=CustomerFactory(name="Archive Login Customer"))
    db.session.commit()
    link = db.session.query(PortalUser).filter_by(user_id=jane.id).one()
    screen = login_as(manager)
    response = screen.post("/portaluserview/action_post", data={"action": "archive", "rowid": [str(link.id)]},
                           follow_redirects=True)
    assert "Archived: " in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(jane), jane.id).active is False
    assert screen.post(f"/portaluserview/delete/{link.id}").status_code in (302, 403, 404, 405)
    assert db.session.get(PortalUser, link.id) is not None  # the link stays with the login's history


def test_locking_an_account_ends_its_refresh_tokens_and_api_keys(app, db, client):
    import datetime as dt

    import time_machine

    from app.models import Customer
    from app.services import customers
    from app.services.workflow import perform
    from tests.factories import PASSWORD, actor
    from tests.test_api_auth import FreshContextApi

    account = CustomerFactory(name="Locked Machine Co", kind="reseller")
    reseller, advisor = make_user("Reseller", customer=account), make_user("Advisor")
    db.session.commit()
    with time_machine.travel(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5), tick=False):
        tokens = client.post("/api/v1/security/login", json={"username": reseller.username, "password": PASSWORD,
                                                              "provider": "db", "refresh": True}).get_json()
        key = api_as(client, reseller).post("/api/v1/security/api_keys/", json={"name": "shop"}).get_json()
    machine = FreshContextApi(client, key["result"]["key"])
    assert machine.get("/unit/").status_code == 200
    perform(db.session.get(Customer, account.id), "lock", actor(advisor))
    assert customers.TABLE.state(db.session.get(Customer, account.id)) == "locked"
    assert client.post("/api/v1/security/refresh",
                       headers={"Authorization": f"Bearer {tokens['refresh_token']}"}).status_code == 401
    assert machine.get("/unit/").status_code in (401, 403)
    assert client.get("/api/v1/unit/", headers={"Authorization": f"Bearer {tokens['access_token']}"}) \
        .status_code in (401, 403)
