"""Row-level security of the customer's portal pages: another customer's request, estimate, order,
invoice, address, unit or notification answers 404 on every page and every form — also when its id is
posted inside a form or chosen in a related field — and nothing of theirs changes. Staff get 403 on the
portal, customers 403 on the staff screens, anonymous visitors are sent to the portal login."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.models import DisputeNote, LabourLine, Notification, OrderMessage, PartLine, ServiceRequest
from tests.factories import make_user
from tests.portal_world import build_world, in_days


@pytest.fixture()
def world(db):
    result = build_world()
    theirs = result["theirs"]
    note = Notification(audience="customer", customer_id=theirs["customer"].id, event="x", title="Polar secret",
                        link="/portal/")
    db.session.add(note)
    db.session.commit()
    theirs["notification"] = note
    return result


def their_get_urls(t) -> list[str]:
    return [
        f"/portal/requests/{t['proposed'].id}",
        f"/portal/estimates/{t['estimate'].id}",
        f"/portal/orders/{t['done_order'].id}",
        f"/portal/invoices/{t['invoice'].id}",
        f"/portal/profile/addresses/{t['address'].id}",
        f"/portal/profile/units/{t['unit'].id}",
        f"/portal/notifications/{t['notification'].id}/open",
    ]


def their_posts(t) -> list[tuple[str, dict]]:
    line = t["estimate"].labour_lines[0]
    return [
        (f"/portal/requests/{t['proposed'].id}/accept_time", {}),
        (f"/portal/requests/{t['proposed'].id}/propose", {"start": in_days(4).strftime("%Y-%m-%dT%H:%M")}),
        (f"/portal/requests/{t['new_request'].id}/cancel", {"reason": "x"}),
        (f"/portal/estimates/{t['estimate'].id}/approve", {}),
        (f"/portal/estimates/{t['estimate'].id}/decline", {"reason": "x"}),
        (f"/portal/estimates/{t['estimate'].id}/dispute", {f"dispute_labour_{line.id}": "1",
                                                          f"note_labour_{line.id}": "x"}),
        (f"/portal/estimates/{t['estimate'].id}/notes", {"text": "x"}),
        (f"/portal/orders/{t['done_order'].id}/messages", {"text": "x"}),
        (f"/portal/invoices/{t['invoice'].id}/authorize", {}),
        (f"/portal/invoices/{t['invoice'].id}/pay", {"token": "tok_demo_ok"}),
        (f"/portal/profile/addresses/{t['address'].id}", {"line1": "x", "city": "y", "postal_code": "1"}),
        (f"/portal/profile/addresses/{t['address'].id}/delete", {}),
        (f"/portal/profile/units/{t['unit'].id}", {"kind": "device", "make": "x"}),
        (f"/portal/notifications/{t['notification'].id}/read", {}),
    ]


def my_get_urls(m) -> list[str]:
    return ["/portal/", "/portal/requests", "/portal/requests/new", f"/portal/requests/{m['proposed'].id}",
            "/portal/estimates", f"/portal/estimates/{m['estimate'].id}", "/portal/orders",
            f"/portal/orders/{m['done_order'].id}", "/portal/invoices", f"/portal/invoices/{m['invoice'].id}",
            "/portal/profile", f"/portal/profile/addresses/{m['address'].id}",
            f"/portal/profile/units/{m['unit'].id}", "/portal/notifications"]


def _state(world, db) -> dict:
    t = world["theirs"]
    for obj in (t["proposed"], t["new_request"], t["estimate"], t["invoice"], t["address"], t["unit"],
                t["notification"]):
        db.session.refresh(obj)
    return {
        "requests": (t["proposed"].status, t["new_request"].status), "estimate": t["estimate"].status,
        "invoice": (t["invoice"].status, t["invoice"].amount_paid), "address": t["address"].line1,
        "unit": t["unit"].make, "read": t["notification"].read_at,
        "messages": db.session.scalar(select(func.count(OrderMessage.id))),
        "notes": db.session.scalar(select(func.count(DisputeNote.id))),
    }


def test_every_page_of_another_customer_is_404(world, login_as):
    me = login_as(world["mine"]["user"])
    for url in their_get_urls(world["theirs"]):
        assert me.get(url).status_code == 404, url


def test_every_form_on_another_customers_row_is_404_and_changes_nothing(world, login_as, db):
    me = login_as(world["mine"]["user"])
    before = _state(world, db)
    for url, data in their_posts(world["theirs"]):
        assert me.post(url, data=data).status_code == 404, url
    assert _state(world, db) == before


def test_own_pages_answer_and_ids_that_do_not_exist_are_404(world, login_as):
    me = login_as(world["mine"]["user"])
    for url in my_get_urls(world["mine"]):
        assert me.get(url).status_code == 200, url
    for url in ("/portal/requests/999999", "/portal/estimates/999999", "/portal/orders/999999",
                "/portal/invoices/999999", "/portal/profile/units/999999", "/portal/notifications/999999/open"):
        assert me.get(url).status_code == 404, url


def test_another_customers_ids_posted_in_the_new_request_form(world, login_as, db):
    me = login_as(world["mine"]["user"])
    t = world["theirs"]
    before = db.session.scalar(select(func.count(ServiceRequest.id)))
    base = {"service_type_id": world["service_type"].id, "subject": "Probe", "preferred_date":
            in_days(2).date().isoformat(), "preferred_slot": "morning"}
    for field, value, message in (("address_id", t["address"].id, "Choose one of your own addresses"),
                                  ("unit_id", t["unit"].id, "Choose one of your own units"),
                                  ("unit_id", "not-a-number", "Choose one of your own units")):
        response = me.post("/portal/requests/new", data=dict(base, **{field: value}))
        assert response.status_code == 422, field
        page = response.get_data(as_text=True)
        assert message in page and f'id="{field}-error"' in page
        assert t["address"].line1 not in page  # nothing of theirs is echoed back
    assert db.session.scalar(select(func.count(ServiceRequest.id))) == before


def test_another_customers_lines_posted_in_a_dispute(world, login_as, db):
    me = login_as(world["mine"]["user"])
    mine, theirs = world["mine"]["estimate"], world["theirs"]["estimate"]
    their_labour = theirs.labour_lines[0]
    their_part = their_labour.parts[0]
    response = me.post(f"/portal/estimates/{mine.id}/dispute", data={
        f"dispute_labour_{their_labour.id}": "1", f"note_labour_{their_labour.id}": "probe",
        f"dispute_part_{their_part.id}": "1", f"note_part_{their_part.id}": "probe"})
    assert response.status_code == 422
    assert "Choose a labour or part line of this estimate" in response.get_data(as_text=True)
    db.session.refresh(mine)
    assert mine.status == "sent"
    assert not db.session.get(LabourLine, their_labour.id).disputed
    assert not db.session.get(PartLine, their_part.id).disputed


def test_another_customers_address_as_default_or_in_the_related_pickers(world, login_as):
    me = login_as(world["mine"]["user"])
    t = world["theirs"]
    response = me.post("/portal/profile/defaults", data={"default_billing_address": t["address"].id})
    assert response.status_code == 422
    for url in ("/portal/requests/new", "/portal/profile"):
        page = me.get(url).get_data(as_text=True)
        assert t["address"].line1 not in page and t["unit"].serial_number not in page


def test_lists_and_dashboard_show_nothing_of_another_customer(world, login_as):
    me = login_as(world["mine"]["user"])
    t = world["theirs"]
    pages = "".join(me.get(url).get_data(as_text=True) for url in (
        "/portal/", "/portal/requests", "/portal/estimates", "/portal/orders?tab=new",
        "/portal/orders?tab=at_location", "/portal/orders?tab=completed", "/portal/invoices",
        "/portal/notifications", "/portal/profile"))
    for key in ("proposed", "new_request", "estimate", "done_order", "workshop_order", "invoice"):
        assert t[key].number not in pages, key
    assert "Polar secret" not in pages and "Polar" not in pages


@pytest.mark.parametrize("role", ["Admin", "Advisor", "Technician"])
def test_staff_get_403_on_the_portal(world, login_as, role):
    client = login_as(make_user(role))
    for url in my_get_urls(world["mine"]):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/portal/estimates/{world['mine']['estimate'].id}/approve").status_code == 403


def test_anonymous_visitors_are_sent_to_the_portal_login(world, client):
    for url in my_get_urls(world["mine"]):
        response = client.get(url)
        assert response.status_code == 302 and "/portal/login" in response.headers["Location"], url
    response = client.post(f"/portal/estimates/{world['mine']['estimate'].id}/approve")
    assert response.status_code == 302
    db_state = world["mine"]["estimate"].status
    assert db_state == "sent"


STAFF_URLS = ["/servicerequestview/list/", "/estimateview/list/", "/workorderview/list/", "/invoiceview/list/",
              "/customerview/list/", "/unitview/list/", "/addressview/list/", "/shipmentview/list/",
              "/auditeventview/list/", "/users/list/"]


def test_customers_never_reach_the_staff_screens(world, login_as):
    me = login_as(world["mine"]["user"])
    t = world["theirs"]
    for url in STAFF_URLS + [f"/servicerequestview/show/{t['proposed'].id}", f"/invoiceview/show/{t['invoice'].id}",
                             f"/workorderview/show/{t['done_order'].id}", f"/estimateview/show/{t['estimate'].id}"]:
        response = me.get(url)
        assert response.status_code in (403, 404), (url, response.status_code)
        body = response.get_data(as_text=True)
        assert "Polar" not in body and t["invoice"].number not in body
