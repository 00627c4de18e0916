"""Repair orders in the portal: the device (picked or typed, IMEI check digit), summary, approval, states."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.core.errors import ValidationFailed
from app.extensions import db
from app.models import Attachment, Unit, WorkOrder
from app.services import units
from app.services.search import search_orders
from app.views.portal.repair_orders import DRAFT_KEY
from tests.factories import ServiceLocationFactory, UnitFactory
from tests.repair_shop import VALID_IMEI, anonymous, build, client_for, rich_order

NEW = "/portal/orders/new"


@pytest.fixture()
def shop(db):
    return build(with_logo=False)


def form(shop, **changes) -> dict:
    data = {"unit_id": "", "device_kind": "device", "make": "Pear", "model": "Phone 13", "serial_number": "",
            "imei": "49-015420-323751-8", "fault": "Does not charge", "accessories": "Case",
            "customer_reference": "RMA-77", "service_location_id": str(shop["location"].id),
            "shipping_method_id": str(shop["method"].id)}
    data.update(changes)
    return data


def count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


# ---------------------------------------------------------------- units.unit_from_device
@pytest.mark.parametrize("imei, message", [("490154203237519", "check digit"), ("49015420323751", "15 digits"),
                                           ("4901542032375180", "15 digits"), ("49015A203237518", "digits only")])
def test_invalid_imei_is_a_field_error(shop, imei, message):
    with pytest.raises(ValidationFailed) as error:
        units.unit_from_device(shop["reseller_actor"], None, {"make": "Pear", "model": "X", "imei": imei})
    assert list(error.value.errors) == ["device.imei"] and message in error.value.errors["device.imei"][0]


def test_device_fields_are_validated(shop):
    with pytest.raises(ValidationFailed) as error:
        units.unit_from_device(shop["reseller_actor"], None, {"kind": "boat", "make": " ", "model": "m" * 81})
    assert set(error.value.errors) == {"device.kind", "device.make", "device.model", "device.serial_number"}
    with pytest.raises(ValidationFailed):
        units.unit_from_device(shop["reseller_actor"], None, "not a dict")


def test_device_becomes_a_unit_of_the_customer_and_is_reused(shop):
    actor = shop["reseller_actor"]
    unit = units.unit_from_device(actor, shop["plain_acct"].id, {"make": "Pear", "model": "Phone 13",
                                                                 "imei": "49 015420 323751 8"})
    assert unit.customer_id == shop["reseller_acct"].id  # a customer never chooses the account
    assert unit.imei == VALID_IMEI and unit.kind == "device" and unit.id is not None
    db.session.commit()
    again = units.unit_from_device(actor, None, {"make": "Pear", "model": "Phone 13", "imei": VALID_IMEI})
    by_serial = units.unit_from_device(actor, None, {"make": "Pear", "model": "Pad", "serial_number": "S-1"})
    db.session.commit()
    assert again.id == unit.id
    assert units.unit_from_device(actor, None, {"make": "Pear", "model": "Pad", "serial_number": "S-1"}).id == \
        by_serial.id
    # The plain customer has a unit with the same IMEI: theirs is not reused for the reseller, and vice versa.
    theirs = units.unit_from_device(shop["customer_actor"], None, {"make": "Pear", "model": "P", "imei": VALID_IMEI})
    assert theirs.id == shop["unit"].id
    staff_made = units.unit_from_device(shop["staff_actor"], shop["other_acct"].id,
                                        {"make": "Pear", "model": "P", "imei": VALID_IMEI})
    assert staff_made.customer_id == shop["other_acct"].id and staff_made.id not in (unit.id, shop["unit"].id)


# ---------------------------------------------------------------- the form
def test_form_marks_required_fields_and_lists_active_choices(shop):
    ServiceLocationFactory(name="Closed Depot", active=False)
    db.session.commit()
    page = client_for(shop["reseller"]).get(NEW).get_data(as_text=True)
    assert 'class="required">Make' in page and 'class="required">Fault' in page
    assert 'class="required">Service location' in page and 'class="required">Shipping method' in page
    assert "North Depot" in page and "Closed Depot" not in page and "Parcel" in page
    assert "Fields marked * are required." in page


def test_summary_then_approve_by_a_reseller_confirms_at_once(shop):
    client = client_for(shop["reseller"])
    units_before = count(Unit)
    summary = client.post(NEW, data={**form(shop), "step": "review"})
    page = summary.get_data(as_text=True)
    assert summary.status_code == 200 and "Approve service order" in page
    assert VALID_IMEI in page and "Does not charge" in page and "North Depot" in page and "RMA-77" in page
    assert count(WorkOrder) == 0  # nothing saved before approval
    done = client.post(NEW, data={**form(shop), "step": "approve"})
    order = db.session.scalar(select(WorkOrder))
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/portal/orders/{order.id}")
    assert order.status == "confirmed" and order.kind == "repair" and order.customer_id == shop["reseller_acct"].id
    assert (order.fault, order.accessories, order.customer_reference) == ("Does not charge", "Case", "RMA-77")
    assert order.service_location_id == shop["location"].id and order.shipping_method_id == shop["method"].id
    assert count(Unit) == units_before + 1
    assert order.unit.customer_id == shop["reseller_acct"].id and order.unit.imei == VALID_IMEI


def test_a_plain_customers_order_waits_for_the_shop(shop):
    client = client_for(shop["customer"])
    data = form(shop, unit_id=str(shop["unit"].id), make="", model="", imei="", shipping_method_id="")
    response = client.post(NEW, data={**data, "step": "approve"})
    assert response.status_code == 302
    order = db.session.scalar(select(WorkOrder))
    assert order.status == "pending_confirmation" and order.unit_id == shop["unit"].id
    assert order.shipping_method_id is None  # optional for customers who bring the device


def test_errors_come_back_at_their_fields_with_the_typed_values(shop):
    client = client_for(shop["reseller"])
    data = form(shop, imei="490154203237519", make="", fault="", customer_reference="R" * 81,
                shipping_method_id="")
    response = client.post(NEW, data={**data, "step": "review"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="imei-error"' in page and "check digit" in page and 'value="490154203237519"' in page
    assert 'id="make-error"' in page and 'id="fault-error"' in page and 'id="customer_reference-error"' in page
    assert 'id="shipping_method_id-error"' in page
    assert 'value="Phone 13"' in page and ">Case</textarea>" in page  # nothing typed is lost
    assert count(WorkOrder) == 0


def test_inactive_or_unknown_choices_are_refused(shop):
    closed = ServiceLocationFactory(name="Closed", active=False)
    db.session.commit()
    client = client_for(shop["reseller"])
    for value in (str(closed.id), "999999", "abc"):
        response = client.post(NEW, data={**form(shop, service_location_id=value), "step": "approve"})
        assert response.status_code == 422 and 'id="service_location_id-error"' in response.get_data(as_text=True)
    assert count(WorkOrder) == 0


def test_going_back_to_change_keeps_the_values(shop):
    page = client_for(shop["reseller"]).post(NEW, data={**form(shop), "step": "edit"}).get_data(as_text=True)
    assert 'value="RMA-77"' in page and "Does not charge</textarea>" in page and "Continue to summary" in page


def test_another_customers_unit_answers_404(shop):
    foreign = UnitFactory(customer=shop["other_acct"])
    db.session.commit()
    client = client_for(shop["reseller"])
    assert client.get(f"{NEW}?unit={foreign.id}").status_code == 200  # a preselection is only a hint
    for step in ("review", "approve"):
        assert client.post(NEW, data={**form(shop, unit_id=str(foreign.id)), "step": step}).status_code == 404
    assert count(WorkOrder) == 0


def test_own_units_are_offered_and_picked(shop):
    mine = UnitFactory(customer=shop["reseller_acct"], make="Pear", model="Tab", serial_number="TAB-9")
    foreign = UnitFactory(customer=shop["other_acct"], make="Other", model="Secret", serial_number="OTHER-1")
    db.session.commit()
    client = client_for(shop["reseller"])
    page = client.get(NEW).get_data(as_text=True)
    assert "TAB-9" in page and "OTHER-1" not in page
    client.post(NEW, data={**form(shop, unit_id=str(mine.id), imei=""), "step": "approve"})
    assert db.session.scalar(select(WorkOrder)).unit_id == mine.id and foreign.id != mine.id


def test_only_logged_in_customers(shop):
    response = anonymous().get(NEW)
    assert response.status_code == 302 and "/portal/login" in response.headers["Location"]
    assert client_for(shop["staff"]).get(NEW).status_code == 403


def test_staff_see_and_find_the_order(shop):
    client_for(shop["reseller"]).post(NEW, data={**form(shop), "step": "approve"})
    order = db.session.scalar(select(WorkOrder))
    staff = client_for(shop["staff"])
    assert order.number in staff.get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    for term in (VALID_IMEI, "49 0154 2032 3751 8", "rma-77", order.number.lower(), str(int(order.number[3:]))):
        listing = staff.get("/workorderview/list/", query_string={"_flt_0_number": term}).get_data(as_text=True)
        assert order.number in listing, term
    assert order.number not in staff.get("/workorderview/list/", query_string={"_flt_0_number": "nothing"}).get_data(
        as_text=True)


# ---------------------------------------------------------------- search
def test_search_orders_by_every_identifier(shop):
    order = rich_order(shop)  # JANE-PO-1, INTREF-7731, TRACK-123, SER-PLAIN-1, IMEI 490154203237518
    other = rich_order(shop)
    other.customer_reference, other.internal_reference, other.tracking_number = "X", "Y", "Z"
    db.session.commit()

    def found(term, **kwargs):
        return list(db.session.scalars(search_orders(select(WorkOrder), term, **kwargs).order_by(WorkOrder.id)))

    assert found(order.number) == [order] and found("wo-1") == [order] and found("1") == [order]
    assert found("jane-po-1") == [order] and found("intref-7731") == [order] and found("track-123") == [order]
    assert found("intref-7731", internal=False) == []
    assert found("ser-plain-1") == [order, other] and found("4901 5420 3237 518") == [order, other]
    assert found("") == [order, other] and found("no such thing") == []
    assert found("%") == [] and found("JANE") == []  # exact, no wildcards


# ---------------------------------------------------------------- photos and files (the request's upload rules)
def png_file(name: str = "front.png"):
    buffer = io.BytesIO()
    Image.new("RGB", (12, 8), (30, 120, 200)).save(buffer, "PNG")
    buffer.seek(0)
    return buffer, name


def test_files_are_checked_kept_through_the_summary_and_attached(shop):
    client = client_for(shop["reseller"])
    page = client.get(NEW).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'id="files"' in page and 'for="files"' in page
    summary = client.post(NEW, data={**form(shop), "step": "review", "files": [png_file(), png_file("back.png")]},
                          content_type="multipart/form-data")
    page = summary.get_data(as_text=True)
    assert summary.status_code == 200 and "Approve service order" in page
    assert "To be attached: front.png, back.png" in page
    assert count(Attachment) == 0  # nothing stored before approval
    done = client.post(NEW, data={**form(shop), "step": "approve"})
    order = db.session.scalar(select(WorkOrder))
    assert done.status_code == 302
    files = db.session.scalars(select(Attachment).where(Attachment.work_order_id == order.id)
                               .order_by(Attachment.id)).all()
    assert [f.filename for f in files] == ["front.png", "back.png"]
    assert all(f.customer_id == shop["reseller_acct"].id and f.public and f.content_type == "image/png" for f in files)
    page = client.get(f"/portal/orders/{order.id}").get_data(as_text=True)
    for att in files:
        assert f'href="/portal/attachments/{att.id}"' in page
        download = client.get(f"/portal/attachments/{att.id}")
        assert download.status_code == 200 and download.data.startswith(b"\x89PNG")
    assert client_for(shop["other"]).get(f"/portal/attachments/{files[0].id}").status_code == 404
    # the draft is gone: the next order starts without files
    assert "front.png" not in client.get(NEW).get_data(as_text=True)


def test_a_bad_file_is_refused_at_the_field_with_the_form_kept(shop):
    client = client_for(shop["reseller"])
    fake = (io.BytesIO(b"<!doctype html><script>alert(1)</script>"), "photo.jpg")
    response = client.post(NEW, data={**form(shop), "step": "review", "files": [png_file(), fake]},
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="files-error"' in page and "photo.jpg is not a photo" in page and 'aria-invalid="true"' in page
    assert 'value="RMA-77"' in page and "Does not charge</textarea>" in page and 'value="Phone 13"' in page
    assert "front.png" in page and 'name="remove_file"' in page  # the good one is kept
    assert count(WorkOrder) == 0 and count(Attachment) == 0
    # straight to approval with a bad file: refused the same way, no order
    response = client.post(NEW, data={**form(shop), "step": "approve", "files": [fake]},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and count(WorkOrder) == 0
    # the kept file removed, then approved without files
    file_id = re.search(r'name="remove_file" value="([0-9a-f]+)"', page).group(1)
    response = client.post(NEW, data={**form(shop), "step": "approve", "remove_file": file_id})
    assert response.status_code == 302 and count(WorkOrder) == 1 and count(Attachment) == 0


def test_more_files_than_the_limit_are_refused_unread(shop):
    shop["settings"].photo_limit = 2
    db.session.commit()
    client = client_for(shop["customer"])
    response = client.post(NEW, data={**form(shop, shipping_method_id=""), "step": "review",
                                      "files": [png_file("a.png"), png_file("b.png"), png_file("c.png")]},
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "At most 2 files can be attached." in page
    assert "a.png" in page and "b.png" in page and "c.png" not in page
    assert 'id="files"' not in page  # full: no more input


def test_a_draft_is_never_another_logins(shop):
    client = client_for(shop["reseller"])
    client.post(NEW, data={**form(shop), "step": "edit", "files": [png_file("mine.png")]},
                content_type="multipart/form-data")
    assert "mine.png" in client.get(NEW).get_data(as_text=True)
    with client.session_transaction() as cookie:
        token = cookie[DRAFT_KEY]
    other = client_for(shop["other"])
    with other.session_transaction() as cookie:  # another account with the same draft token (a copied cookie)
        cookie[DRAFT_KEY] = token
    assert "mine.png" not in other.get(NEW).get_data(as_text=True)
    other.post(NEW, data={**form(shop), "step": "approve"})
    order = db.session.scalar(select(WorkOrder))
    assert order.customer_id == shop["other_acct"].id and count(Attachment) == 0
