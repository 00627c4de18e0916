"""Uploads: judged by content (not name or declared type), cleaned of EXIF, limited in size and count, stored
outside static/ under random names, served only to those who may see them."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.core.actors import Actor
from app.core.errors import ValidationFailed
from app.models import Attachment, AuditEvent, ServiceRequest, WorkOrder
from app.services import requests, uploads
from tests.factories import CustomerFactory, ServiceTypeFactory, make_user, tomorrow
from tests.portal_support import separate_requests  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("separate_requests")

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML = b"<!doctype html><script>alert(document.cookie)</script>"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64


def jpeg_with_exif(width=40, height=20, orientation=6) -> bytes:
    """A JPEG carrying an EXIF orientation, a camera model and a GPS position."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation: rotate 90° clockwise to view
    exif[0x0110] = "Spy Camera 3000"  # Model
    gps = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def image_bytes(fmt: str, size=(30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, format=fmt)
    return out.getvalue()


def upload(data: bytes, name: str, content_type: str = "image/jpeg") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name, content_type=content_type)


@pytest.fixture()
def service_request(db):
    customer = CustomerFactory()
    req = requests.submit(Actor.public(customer_id=customer.id), customer_id=customer.id,
                          service_type_id=ServiceTypeFactory().id, subject="Broken", preferred_date=tomorrow())
    return req


# --- content checks --------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, content_type, extension", [
    ("JPEG", "image/jpeg", ".jpg"), ("PNG", "image/png", ".png"), ("WEBP", "image/webp", ".webp"),
    ("HEIF", "image/jpeg", ".jpg"),
])
def test_images_are_recognised_by_content(fmt, content_type, extension):
    checked = uploads.check_file(upload(image_bytes(fmt), "whatever.bin", "application/octet-stream"))
    assert checked.content_type == content_type and checked.filename == "whatever" + extension
    assert Image.open(io.BytesIO(checked.data)).size == (30, 30)


def test_pdf_named_jpg_is_taken_as_pdf():
    checked = uploads.check_file(upload(PDF, "invoice.jpg", "image/jpeg"))
    assert checked.content_type == "application/pdf" and checked.filename == "invoice.pdf"
    assert checked.data == PDF


@pytest.mark.parametrize("data, name", [(HTML, "photo.jpg"), (ELF, "photo.jpg"), (b"GIF89a" + b"\x00" * 20, "x.png"),
                                        (b"MZ\x90\x00" + b"\x00" * 60, "setup.pdf")])
def test_other_content_is_refused_whatever_its_name(data, name):
    with pytest.raises(ValidationFailed) as refused:
        uploads.check_file(upload(data, name))
    assert "files" in refused.value.errors
    assert "not a photo" in str(refused.value.errors["files"][0])


def test_damaged_image_and_empty_file_are_refused():
    with pytest.raises(ValidationFailed, match="damaged"):
        uploads.check_file(upload(b"\xff\xd8\xff\xe0" + b"\x00" * 100, "broken.jpg"))
    with pytest.raises(ValidationFailed, match="empty"):
        uploads.check_file(upload(b"", "empty.jpg"))


def test_exif_is_removed_and_the_photo_turned_upright():
    original = jpeg_with_exif(width=40, height=20, orientation=6)
    assert b"Spy Camera 3000" in original
    checked = uploads.check_file(upload(original, "IMG_0001.JPG"))
    assert b"Spy Camera 3000" not in checked.data
    cleaned = Image.open(io.BytesIO(checked.data))
    assert not cleaned.getexif() and "exif" not in cleaned.info
    assert cleaned.size == (20, 40)  # rotated as the orientation said


def test_too_large_file_is_refused(app, monkeypatch):
    monkeypatch.setitem(app.config, "PORTICO_UPLOAD_MAX_BYTES", 1024)
    with pytest.raises(ValidationFailed, match="larger than"):
        uploads.check_file(upload(PDF + b"x" * 2000, "big.pdf"))


def test_too_many_pixels_is_refused(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_PIXELS", 100)
    with pytest.raises(ValidationFailed, match="too many pixels"):
        uploads.check_file(upload(image_bytes("PNG", (20, 20)), "huge.png"))


# --- storing ---------------------------------------------------------------------------------------------

def test_saved_outside_static_under_a_random_name(app, db, service_request):
    actor = Actor.public(customer_id=service_request.customer_id)
    att = uploads.save_upload(upload(jpeg_with_exif(), "../../etc/passwd.jpg"), customer_id=service_request.customer_id,
                              service_request_id=service_request.id, actor=actor)
    db.session.commit()
    path = uploads.attachment_path(att)
    assert path.exists() and path.read_bytes()[:3] == b"\xff\xd8\xff"
    static = Path(app.static_folder).resolve()
    assert static not in path.resolve().parents
    assert att.filename == "etc_passwd.jpg" and "passwd" not in att.stored_name
    assert Path(app.config["PORTICO_UPLOAD_DIR"]).resolve() in path.resolve().parents
    assert db.session.scalar(select(AuditEvent.reason).where(AuditEvent.action == "attach")) == "etc_passwd.jpg"
    with uploads.open_attachment(att) as handle:
        assert handle.read() == path.read_bytes()


def test_at_most_photo_limit_per_request(db, service_request):
    from app.core.settings import get_settings

    get_settings().photo_limit = 2
    actor = Actor.public(customer_id=service_request.customer_id)
    for n in range(2):
        uploads.save_upload(upload(PDF, f"{n}.pdf"), customer_id=service_request.customer_id,
                            service_request_id=service_request.id, actor=actor)
    with pytest.raises(ValidationFailed, match="At most 2"):
        uploads.save_upload(upload(PDF, "3.pdf"), customer_id=service_request.customer_id,
                            service_request_id=service_request.id, actor=actor)


def test_at_most_photo_limit_per_work_order(db):
    from app.core.settings import get_settings
    from app.services import work_orders

    get_settings().photo_limit = 1
    customer = CustomerFactory()
    staff = Actor.for_user(make_user("Advisor"))
    order = work_orders.new_order(staff, customer_id=customer.id, kind="repair", fault="Dead")
    db.session.commit()
    uploads.save_upload(upload(PDF, "a.pdf"), customer_id=customer.id, work_order_id=order.id, actor=staff)
    with pytest.raises(ValidationFailed, match="At most 1"):
        uploads.save_upload(upload(PDF, "b.pdf"), customer_id=customer.id, work_order_id=order.id, actor=staff)


def test_file_must_belong_to_the_customers_record(db, service_request):
    other = CustomerFactory()
    with pytest.raises(ValidationFailed):
        uploads.save_upload(upload(PDF, "a.pdf"), customer_id=other.id, service_request_id=service_request.id,
                            actor=Actor.public(customer_id=other.id))


# --- downloads -------------------------------------------------------------------------------------------

def stored(db, req, data=PDF, name="doc.pdf", public=True) -> Attachment:
    att = uploads.save_upload(upload(data, name), customer_id=req.customer_id, service_request_id=req.id,
                              actor=Actor.public(customer_id=req.customer_id), public=public)
    db.session.commit()
    return att


def test_customer_downloads_own_files_only(client, db, login_as, service_request):
    owner = make_user("Customer", customer=service_request.customer)
    photo = stored(db, service_request, jpeg_with_exif(), "p.jpg")
    document = stored(db, service_request)
    internal = stored(db, service_request, public=False)
    other_customer = CustomerFactory()
    other_req = requests.submit(Actor.public(customer_id=other_customer.id), customer_id=other_customer.id,
                                service_type_id=service_request.service_type_id, subject="x", preferred_date=tomorrow())
    foreign = stored(db, other_req)
    anonymous = client.get(f"/portal/attachments/{photo.id}")
    assert anonymous.status_code == 302 and "/portal/login" in anonymous.headers["Location"]
    login_as(owner)
    image = client.get(f"/portal/attachments/{photo.id}")
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert image.headers["X-Content-Type-Options"] == "nosniff" and "inline" in image.headers.get(
        "Content-Disposition", "inline")
    pdf = client.get(f"/portal/attachments/{document.id}")
    assert pdf.status_code == 200 and pdf.data == PDF and "attachment" in pdf.headers["Content-Disposition"]
    assert client.get(f"/portal/attachments/{foreign.id}").status_code == 404
    assert client.get(f"/portal/attachments/{internal.id}").status_code == 404
    assert client.get("/portal/attachments/999999").status_code == 404
    assert client.get(f"/attachments/{photo.id}").status_code == 403  # the staff route is not theirs


def test_staff_and_technicians_download(client, db, login_as, service_request):
    from app.services import work_orders

    att = stored(db, service_request)
    anonymous = client.get(f"/attachments/{att.id}")
    assert anonymous.status_code == 302 and "/login/" in anonymous.headers["Location"]
    login_as(make_user("Advisor"))
    assert client.get(f"/attachments/{att.id}").data == PDF
    assert client.get("/attachments/999999").status_code == 404

    staff = Actor.for_user(make_user("Manager"))
    tech, other_tech = make_user("Technician"), make_user("Technician")
    mine = work_orders.new_order(staff, customer_id=service_request.customer_id, kind="repair", fault="x",
                                 technician_id=tech.id)
    theirs = work_orders.new_order(staff, customer_id=service_request.customer_id, kind="repair", fault="y",
                                   technician_id=other_tech.id)
    db.session.commit()
    on_mine = uploads.save_upload(upload(PDF, "m.pdf"), customer_id=mine.customer_id, work_order_id=mine.id,
                                  actor=staff)
    on_theirs = uploads.save_upload(upload(PDF, "t.pdf"), customer_id=theirs.customer_id, work_order_id=theirs.id,
                                    actor=staff)
    db.session.commit()
    login_as(tech)
    assert client.get(f"/attachments/{on_mine.id}").status_code == 200
    assert client.get(f"/attachments/{on_theirs.id}").status_code == 404
    assert client.get(f"/attachments/{att.id}").status_code == 404  # a request none of their orders came from
    theirs_from_request = db.session.get(WorkOrder, mine.id)
    theirs_from_request.service_request_id = service_request.id
    db.session.commit()
    assert client.get(f"/attachments/{att.id}").status_code == 200  # their order came from that request
    assert db.session.get(ServiceRequest, service_request.id) is not None
