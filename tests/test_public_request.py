"""The public service request form: form → summary (files kept) → one request per submission token, the
account found or made by e-mail, a confirmation e-mail whose link logs in, errors at the field."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.models import (
    Address,
    Attachment,
    Customer,
    OutboxEmail,
    PortalUser,
    PublicSubmission,
    ServiceRequest,
    User,
)
from app.services import uploads
from tests.factories import CustomerFactory, ServiceTypeFactory, make_user, tomorrow
from tests.portal_support import last_link, last_mail, separate_requests  # noqa: F401 - fixture
from tests.test_uploads import HTML, PDF, jpeg_with_exif

pytestmark = pytest.mark.usefixtures("separate_requests")


@pytest.fixture()
def service_type(db):
    active = ServiceTypeFactory(name="Fridge repair")
    ServiceTypeFactory(name="Retired service", active=False)
    db.session.commit()
    return active


def form_data(service_type, **changes) -> dict:
    data = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "phone": "+49 30 1234567",
            "line1": "1 Analytical Street", "city": "London", "state": "", "postal_code": "N1 9GU",
            "service_type_id": str(service_type.id), "preferred_date": tomorrow().isoformat(),
            "preferred_slot": "afternoon", "preferred_time": "", "notes": "Fridge is warm\nSince Monday."}
    data.update(changes)
    return data


def photo(name="fridge.jpg"):
    return (io.BytesIO(jpeg_with_exif()), name)


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def to_summary(client, service_type, files=(), **changes):
    data = form_data(service_type, **changes)
    if files:
        data["files"] = list(files)
    return client.post("/portal/request", data=data, content_type="multipart/form-data")


def submit_token(client) -> str:
    page = client.get("/portal/request/summary").get_data(as_text=True)
    return re.search(r'name="submission_token" value="([^"]+)"', page).group(1)


def test_form_offers_active_service_types_and_slots(client, service_type):
    page = client.get("/portal/request").get_data(as_text=True)
    assert "Fridge repair" in page and "Retired service" not in page
    for slot in ("morning", "afternoon", "evening", "custom"):
        assert f'value="{slot}"' in page
    assert 'name="files"' in page and 'enctype="multipart/form-data"' in page


def test_full_flow_creates_account_request_photo_and_login_mail(app, client, db, service_type):
    response = to_summary(client, service_type, files=[photo()])
    assert response.status_code == 303 and response.headers["Location"] == "/portal/request/summary"
    summary = client.get("/portal/request/summary").get_data(as_text=True)
    for shown in ("Ada", "Lovelace", "ada@example.com", "1 Analytical Street", "Fridge repair", "fridge.jpg",
                  "Since Monday."):
        assert shown in summary
    preview = re.search(r'src="(/portal/request/files/[0-9a-f]+)"', summary).group(1)
    assert client.get(preview).mimetype == "image/jpeg"
    assert app.test_client().get(preview).status_code == 404  # only this browser's draft
    token = submit_token(client)
    with client.session_transaction() as session:
        draft = uploads.upload_dir() / "pending" / session["public_request_draft"]
    assert (draft / "draft.json").exists()

    done = client.post("/portal/request/submit", data={"submission_token": token})
    assert done.status_code == 303 and done.headers["Location"] == f"/portal/request/done/{token}"
    req = db.session.scalar(select(ServiceRequest))
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert req.number in page and "ada@example.com" in page

    assert req.status == "new" and req.source == "public" and req.preferred_slot == "afternoon"
    assert req.contact_name == "Ada Lovelace" and req.contact_email == "ada@example.com"
    assert req.contact_phone == "+49 30 1234567" and req.subject == "Fridge repair: Fridge is warm"
    customer = db.session.get(Customer, req.customer_id)
    assert customer.kind == "individual" and customer.name == "Ada Lovelace" and not customer.locked
    user = db.session.scalar(select(User).where(User.email == "ada@example.com"))
    assert [r.name for r in user.roles] == ["Customer"]
    assert db.session.scalar(select(PortalUser.customer_id).where(PortalUser.user_id == user.id)) == customer.id
    address = db.session.get(Address, req.address_id)
    assert (address.customer_id, address.line1, address.city, address.postal_code) == \
        (customer.id, "1 Analytical Street", "London", "N1 9GU")
    # no usable password: FAB's login refuses any guess
    assert app.appbuilder.sm.auth_user_db("ada@example.com", "") is None

    attachment = db.session.scalar(select(Attachment).where(Attachment.service_request_id == req.id))
    assert attachment.filename == "fridge.jpg" and attachment.customer_id == customer.id
    stored = uploads.attachment_path(attachment).read_bytes()
    assert b"Spy Camera 3000" not in stored and not Image.open(io.BytesIO(stored)).getexif()
    assert not draft.exists()  # this browser's draft is gone (other tests' drafts may be about)

    mails = db.session.scalars(select(OutboxEmail).where(OutboxEmail.to_address == "ada@example.com")).all()
    assert len(mails) == 1 and req.number in mails[0].subject
    link = last_link("ada@example.com")
    assert f"next=/portal/requests/{req.id}" in link
    login = app.test_client()
    assert login.get("/portal/").status_code == 302
    assert login.post(link).headers["Location"] == f"/portal/requests/{req.id}"
    assert login.get(f"/portal/attachments/{attachment.id}").status_code == 200

    staff = app.test_client()
    staff.post("/login/", data={"username": make_user("Advisor").username, "password": "test-password-1"})
    db.session.commit()
    assert req.number in staff.get("/servicerequestview/list/").get_data(as_text=True)


def test_double_submit_creates_one_request(client, db, service_type):
    to_summary(client, service_type)
    token = submit_token(client)
    first = client.post("/portal/request/submit", data={"submission_token": token})
    second = client.post("/portal/request/submit", data={"submission_token": token})
    assert first.headers["Location"] == second.headers["Location"] == f"/portal/request/done/{token}"
    assert count(db, ServiceRequest) == 1 and count(db, PublicSubmission) == 1 and count(db, Customer) == 1
    assert db.session.scalar(select(ServiceRequest.number)) in client.get(second.headers["Location"]).get_data(
        as_text=True)


def test_a_claimed_token_in_flight_is_refused_by_the_database(client, db, service_type):
    """Two posts at the same moment: the second insert of the token fails on the unique key."""
    from app.services import public_intake
    from app.services.portal_auth import token_hash

    to_summary(client, service_type)
    token = submit_token(client)
    db.session.add(PublicSubmission(token_hash=token_hash(token), email="ada@example.com"))
    db.session.commit()
    fields = public_intake.clean_fields(form_data(service_type))
    with pytest.raises(public_intake.AlreadySubmitted):
        public_intake.submit(token, fields, None)
    assert count(db, ServiceRequest) == 0 and count(db, Customer) == 0


def test_existing_portal_user_gets_the_request_on_their_account(client, db, service_type):
    customer = CustomerFactory(name="Ada's Shop")
    make_user("Customer", username="ada", email="Ada@Example.com", customer=customer)
    db.session.commit()
    to_summary(client, service_type, email="ada@example.com")
    client.post("/portal/request/submit", data={"submission_token": submit_token(client)})
    req = db.session.scalar(select(ServiceRequest))
    assert req.customer_id == customer.id and count(db, Customer) == 1
    assert count(db, User) == 1


def test_locked_account_cannot_submit(client, db, service_type):
    customer = CustomerFactory(locked=True)
    make_user("Customer", email="ada@example.com", customer=customer)
    db.session.commit()
    to_summary(client, service_type)
    response = client.post("/portal/request/submit", data={"submission_token": submit_token(client)})
    assert response.status_code == 403 and b"locked" in response.data
    assert b'value="Lovelace"' in response.data  # nothing typed is lost
    assert count(db, ServiceRequest) == 0 and count(db, PublicSubmission) == 0


def test_errors_at_the_field_keep_what_was_typed_and_uploaded(client, db, service_type):
    response = to_summary(client, service_type, files=[photo("kept.jpg")], first_name="", email="not-an-address",
                          preferred_date=(dt.date.today() - dt.timedelta(days=2)).isoformat(), phone="call me")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for field in ("first_name", "email", "preferred_date", "phone"):
        assert f'id="{field}-error"' in page, field
    assert 'value="Lovelace"' in page and 'value="1 Analytical Street"' in page and "Since Monday." in page
    assert "kept.jpg" in page  # the photo was kept with the draft
    assert count(db, ServiceRequest) == 0
    # fixing the fields (without sending the photo again) goes on, with the photo
    fixed = to_summary(client, service_type)
    assert fixed.status_code == 303
    assert "kept.jpg" in client.get("/portal/request/summary").get_data(as_text=True)


def test_custom_slot_needs_a_time(client, service_type):
    response = to_summary(client, service_type, preferred_slot="custom")
    assert response.status_code == 422 and b'id="preferred_time-error"' in response.data
    assert to_summary(client, service_type, preferred_slot="custom", preferred_time="14:30").status_code == 303
    assert to_summary(client, service_type, preferred_slot="noon").status_code == 422


def test_inactive_or_unknown_service_type_is_refused(client, db, service_type):
    retired = db.session.scalar(select(type(service_type)).where(type(service_type).active.is_(False)))
    for value in (str(retired.id), "999", "abc"):
        response = to_summary(client, service_type, service_type_id=value)
        assert response.status_code == 422 and b'id="service_type_id-error"' in response.data


def test_a_rejected_file_keeps_the_rest(client, db, service_type):
    response = to_summary(client, service_type, files=[(io.BytesIO(HTML), "cute-cat.jpg"), photo("good.jpg"),
                                                       (io.BytesIO(PDF), "scan.jpg")])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="files-error"' in page and "cute-cat.jpg is not a photo" in page
    assert "good.jpg" in page and "scan.pdf" in page  # the good ones were kept; the PDF judged by content
    assert 'value="Ada"' in page


def test_too_many_files(client, db, service_type):
    from app.core.settings import get_settings

    get_settings().photo_limit = 2
    db.session.commit()
    response = to_summary(client, service_type, files=[photo(f"{n}.jpg") for n in range(3)])
    assert response.status_code == 422 and "At most 2 files" in response.get_data(as_text=True)
    client.post("/portal/request/submit", data={"submission_token": submit_token(client)})
    assert count(db, Attachment) == 2


def test_removing_a_pending_file(client, db, service_type):
    to_summary(client, service_type, files=[photo("a.jpg"), photo("b.jpg")])
    page = client.get("/portal/request").get_data(as_text=True)
    ids = re.findall(r'name="remove_file" value="([0-9a-f]+)"', page)
    assert len(ids) == 2
    to_summary(client, service_type, remove_file=ids[0])
    summary = client.get("/portal/request/summary").get_data(as_text=True)
    assert "a.jpg" not in summary and "b.jpg" in summary


def test_too_large_request_answers_a_clear_message(app, client, service_type, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 50_000)
    response = to_summary(client, service_type, files=[(io.BytesIO(PDF + b"0" * 60_000), "huge.pdf")])
    assert response.status_code == 303 and response.headers["Location"].endswith("/portal/request")
    page = client.get("/portal/request").get_data(as_text=True)
    assert "too large" in page


def test_too_large_single_file_is_refused_at_the_field(app, client, service_type, monkeypatch):
    monkeypatch.setitem(app.config, "PORTICO_UPLOAD_MAX_BYTES", 10_000)
    response = to_summary(client, service_type, files=[(io.BytesIO(PDF + b"0" * 20_000), "big.pdf")])
    assert response.status_code == 422 and "big.pdf is larger than" in response.get_data(as_text=True)


def test_stale_or_forged_submission_token(client, db, service_type):
    to_summary(client, service_type)
    response = client.post("/portal/request/submit", data={"submission_token": "A" * 43})
    assert response.status_code == 303 and response.headers["Location"] == "/portal/request"
    assert count(db, ServiceRequest) == 0
    assert client.get("/portal/request/done/" + "A" * 43).status_code == 404
    assert client.get("/portal/request/summary").status_code == 200


def test_summary_without_a_draft_goes_back_to_the_form(client):
    response = client.get("/portal/request/summary")
    assert response.status_code == 302 and response.headers["Location"] == "/portal/request"


def test_confirmation_mail_is_the_only_mail_to_the_visitor(client, db, service_type):
    to_summary(client, service_type)
    client.post("/portal/request/submit", data={"submission_token": submit_token(client)})
    mail = last_mail("ada@example.com")
    assert "Fridge repair" in mail.body_text and "/portal/login/" in mail.body_html
    assert db.session.scalar(select(func.count(OutboxEmail.id)).where(OutboxEmail.to_address == "ada@example.com")) \
        == 1


def test_public_form_in_german(client, service_type):
    page = client.get("/portal/request", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Service anfragen" in page and "Vorname" in page


def test_too_large_request_with_csrf_on(app, database_url, service_type, monkeypatch):
    """With CSRF on, the token check reads the body first: the portal still answers with its message."""
    from app import create_app
    from config import TestConfig

    protected = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, WTF_CSRF_ENABLED=True,
                           MAX_CONTENT_LENGTH=50_000, PORTICO_UPLOAD_DIR=app.config["PORTICO_UPLOAD_DIR"])
    client = protected.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/portal/request").get_data(as_text=True)
                      ).group(1)
    data = dict(form_data(service_type), csrf_token=token, files=[(io.BytesIO(PDF + b"0" * 60_000), "huge.pdf")])
    response = client.post("/portal/request", data=data, content_type="multipart/form-data",
                           headers={"Referer": "http://localhost/portal/request"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/portal/request")
    assert "too large" in client.get("/portal/request").get_data(as_text=True)
    data = dict(form_data(service_type), csrf_token=token, files=[photo()])
    assert client.post("/portal/request", data=data, content_type="multipart/form-data").status_code == 303


def test_public_submissions_are_rate_limited(app, database_url, db, service_type):
    from app import create_app
    from config import TestConfig

    limited = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, RATELIMIT_ENABLED=True,
                         RATELIMIT_STORAGE_URI="memory://", PORTICO_PUBLIC_REQUEST_RATE_LIMIT="1 per hour",
                         PORTICO_UPLOAD_DIR=app.config["PORTICO_UPLOAD_DIR"]).test_client()
    for email, expected in (("one@example.com", 303), ("two@example.com", 429)):
        to_summary(limited, service_type, email=email)
        response = limited.post("/portal/request/submit", data={"submission_token": submit_token(limited)})
        assert response.status_code == expected
    assert count(db, ServiceRequest) == 1
    assert b"Too many requests" in response.data and b'value="two@example.com"' in response.data
