"""The logged-in customer's portal pages: dashboard, requests (booking negotiation, new request),
estimates (approve, decline, dispute, notes, revisions), work orders (tabs, search, paging, messages) and
invoices (authorize, pay). Every flow goes through the real pages and checks the database afterwards."""
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
    DisputeNote,
    Estimate,
    Invoice,
    Notification,
    OrderMessage,
    ServiceRequest,
    TimeProposal,
    WorkOrder,
    dispute_log,
)
from app.services import estimates, work_orders
from tests.portal_world import LINES, build_world, in_days


@pytest.fixture()
def world(db):
    return build_world()


@pytest.fixture()
def me(world, login_as):
    return login_as(world["mine"]["user"])


def text(response) -> str:
    return response.get_data(as_text=True)


def main(response) -> str:
    """The page's main content (the nav and footer left out)."""
    body = text(response)
    return body[body.index('<main'):body.index('</main>')]


# ---------------------------------------------------------------- dashboard
def test_dashboard_lists_what_waits_for_the_customer(world, me):
    m, theirs = world["mine"], world["theirs"]
    page = main(me.get("/portal/"))
    assert f"/portal/invoices/{m['invoice'].id}" in page and "Authorize" in page          # payment due
    assert f"/portal/estimates/{m['estimate'].id}" in page and m["estimate"].number in page  # estimate to approve
    assert f"/portal/estimates/{m['draft_estimate'].id}" not in page                      # drafts are the shop's
    assert f"/portal/requests/{m['proposed'].id}#booking" in page                         # answer the proposal
    assert m["new_request"].number in page
    assert m["estimated"].number in page                                                  # upcoming booking
    assert "Unread notifications" in page and "We have received" in page
    for key in ("proposed", "estimate", "invoice"):
        assert theirs[key].number not in page


def test_dashboard_updates_after_payment_and_approval(world, me, db):
    m = world["mine"]
    me.post(f"/portal/invoices/{m['invoice'].id}/authorize")
    me.post(f"/portal/estimates/{m['estimate'].id}/approve")
    page = main(me.get("/portal/"))
    assert "Pay now" in page  # authorized: now due for payment
    assert f"/portal/estimates/{m['estimate'].id}\"" not in page
    response = me.post(f"/portal/invoices/{m['invoice'].id}/pay", data={"token": "tok_demo_ok"})
    assert response.status_code == 302
    page = main(me.get("/portal/"))
    assert "Nothing to pay" in page




def test_nav_shows_sections_and_unread_count(world, me, db):
    body = text(me.get("/portal/requests"))
    nav = body[body.index('<nav aria-label="Portal">'):body.index("</nav>")]
    for label in ("Dashboard", "Requests", "Estimates", "Orders", "Invoices", "Profile", "Notifications"):
        assert label in nav
    assert 'aria-current="page" class="active">Requests' in nav
    customer_id = world["mine"]["customer"].id
    count = db.session.scalar(select(func.count(Notification.id)).where(
        Notification.customer_id == customer_id, Notification.audience == "customer", Notification.read_at.is_(None)))
    assert f'<span class="nav-badge">{count}<' in nav
    assert "Shipments" not in nav  # not a reseller


# ---------------------------------------------------------------- requests
def test_request_list_and_detail(world, me):
    m = world["mine"]
    page = main(me.get("/portal/requests"))
    for key in ("new_request", "proposed", "estimated"):
        assert m[key].number in page
    assert "Refrigeration repair" in page and "Main depot" in page and "Time proposed" in page
    assert world["theirs"]["new_request"].number not in page
    open_only = main(me.get("/portal/requests?status=closed"))
    assert m["new_request"].number not in open_only

    detail = main(me.get(f"/portal/requests/{m['estimated'].id}"))
    assert "Progress" in detail and m["estimate"].number in detail
    # A booking ahead is "booked", not "done" (issue 16: "Termin erledigt" for a future booking).
    assert re.search(r'step-booked">\s*<span class="step-label">Booking</span>\s*'
                     r'<span class="step-state">booked', detail)
    assert f"/portal/estimates/{m['estimate'].id}" in detail
    resolved = main(me.get(f"/portal/requests/{m['done_order'].service_request_id}"))
    assert m["done_order"].number in resolved and m["invoice"].number in resolved


def test_accept_the_proposed_time(world, me, db):
    req = world["mine"]["proposed"]
    page = main(me.get(f"/portal/requests/{req.id}"))
    assert "The shop proposes" in page and "We are free on that day" in page
    response = me.post(f"/portal/requests/{req.id}/accept_time", data={"version": req.version})
    assert response.status_code == 302
    db.session.refresh(req)
    assert req.status == "accepted" and req.scheduled_start is not None
    assert "Booked for" in main(me.get(f"/portal/requests/{req.id}"))


def test_counter_propose_another_time(world, me, db):
    req = world["mine"]["proposed"]
    start = in_days(4, 14)
    response = me.post(f"/portal/requests/{req.id}/propose",
                       data={"start": start.strftime("%Y-%m-%dT%H:%M"), "note": "Afternoon suits us better"})
    assert response.status_code == 302
    db.session.refresh(req)
    assert req.status == "new"
    mine = db.session.scalars(select(TimeProposal).where(TimeProposal.service_request_id == req.id,
                                                         TimeProposal.proposed_by == "customer")).all()
    assert len(mine) == 1 and mine[0].note == "Afternoon suits us better"
    page = main(me.get(f"/portal/requests/{req.id}"))
    assert "Afternoon suits us better" in page and "replaced" in page


def test_counter_proposal_in_the_past_keeps_the_note(world, me, db):
    req = world["mine"]["proposed"]
    response = me.post(f"/portal/requests/{req.id}/propose",
                       data={"start": "2020-01-01T10:00", "note": "my typed note"})
    assert response.status_code == 422
    page = main(response)
    assert "cannot be in the past" in page and "my typed note" in page and 'aria-invalid="true"' in page
    db.session.refresh(req)
    assert req.status == "time_proposed"
    garbage = me.post(f"/portal/requests/{req.id}/propose", data={"start": "next tuesday"})
    assert garbage.status_code == 422


def test_cancel_a_request_and_refused_actions(world, me, db):
    req = world["mine"]["new_request"]
    assert "accept_time" not in main(me.get(f"/portal/requests/{req.id}"))
    refused = me.post(f"/portal/requests/{req.id}/accept_time", follow_redirects=True)
    assert refused.status_code == 200 and "could not be done" in text(refused)
    response = me.post(f"/portal/requests/{req.id}/cancel", data={"reason": "Fixed it myself"})
    assert response.status_code == 302
    db.session.refresh(req)
    assert req.status == "cancelled" and req.cancel_reason == "Fixed it myself"
    assert me.post(f"/portal/requests/{req.id}/confirm").status_code == 404  # not a customer action
    stale = world["mine"]["proposed"]
    response = me.post(f"/portal/requests/{stale.id}/cancel", data={"version": stale.version - 1},
                       follow_redirects=True)
    assert "changed in the meantime" in text(response)


def _new_request_form(world, **overrides):
    m = world["mine"]
    data = {"service_type_id": world["service_type"].id, "subject": "Freezer alarm", "summary": "Beeps at night",
            "preferred_date": (dt.date.today() + dt.timedelta(days=2)).isoformat(), "preferred_slot": "custom",
            "preferred_time": "15:30", "address_id": m["address"].id, "unit_id": m["unit"].id,
            "estimate_required": "1"}
    data.update(overrides)
    return data


def test_new_request_from_the_portal(world, me, db):
    m = world["mine"]
    form = main(me.get("/portal/requests/new"))
    assert 'for="service_type_id"' in form and m["address"].line1 in form and "Add a new address" in form
    response = me.post("/portal/requests/new", data=_new_request_form(world))
    assert response.status_code == 302
    req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.subject == "Freezer alarm"))
    assert req.customer_id == m["customer"].id and req.source == "portal" and req.estimate_required
    assert (req.address_id, req.unit_id) == (m["address"].id, m["unit"].id)
    assert req.preferred_time == dt.time(15, 30) and req.status == "new"
    assert response.headers["Location"].endswith(f"/portal/requests/{req.id}")


def test_new_request_with_an_inline_address(world, me, db):
    data = _new_request_form(world, address_id="new", new_line1="9 Harbour Lane", new_city="Kiel",
                             new_postal_code="24103", new_country="de")
    assert me.post("/portal/requests/new", data=data).status_code == 302
    req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.subject == "Freezer alarm"))
    assert req.address.line1 == "9 Harbour Lane" and req.address.country == "DE"
    assert req.address.customer_id == world["mine"]["customer"].id


def test_new_request_errors_keep_what_was_typed(world, me, db):
    before = db.session.scalar(select(func.count(ServiceRequest.id)))
    addresses = db.session.scalar(select(func.count(Address.id)))
    response = me.post("/portal/requests/new", data=_new_request_form(
        world, subject="", address_id="new", new_line1="", new_city="Kiel", summary="keep me"))
    assert response.status_code == 422
    page = main(response)
    assert "keep me" in page and "Kiel" in page and "Please correct the marked fields" in page
    assert 'id="subject-error"' in page
    response = me.post("/portal/requests/new", data=_new_request_form(
        world, address_id="new", new_line1="", new_city="Kiel", summary="keep me"))
    assert response.status_code == 422 and 'id="new_line1-error"' in main(response)
    past = me.post("/portal/requests/new", data=_new_request_form(world, preferred_date="2001-01-01"))
    assert past.status_code == 422 and "cannot be in the past" in main(past)
    no_time = me.post("/portal/requests/new", data=_new_request_form(world, preferred_time=""))
    assert no_time.status_code == 422 and 'id="preferred_time-error"' in main(no_time)
    bad_type = me.post("/portal/requests/new", data=_new_request_form(world, service_type_id="999999"))
    assert bad_type.status_code == 422 and 'id="service_type_id-error"' in main(bad_type)
    assert db.session.scalar(select(func.count(ServiceRequest.id))) == before
    assert db.session.scalar(select(func.count(Address.id))) == addresses


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    return buffer.getvalue()


def test_new_request_with_photos(world, me, db):
    data = _new_request_form(world, photos=[(io.BytesIO(_png()), "fridge.png")])
    assert me.post("/portal/requests/new", data=data, content_type="multipart/form-data").status_code == 302
    req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.subject == "Freezer alarm"))
    files = db.session.scalars(select(Attachment).where(Attachment.service_request_id == req.id)).all()
    assert [f.filename for f in files] == ["fridge.png"]
    assert "fridge.png" in main(me.get(f"/portal/requests/{req.id}"))

    data = _new_request_form(world, subject="Second", photos=[(io.BytesIO(b"<html>hi</html>"), "evil.jpg")])
    response = me.post("/portal/requests/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 422 and 'id="photos-error"' in main(response)
    assert db.session.scalar(select(ServiceRequest).where(ServiceRequest.subject == "Second")) is None


# ---------------------------------------------------------------- estimates
def test_estimate_list_and_detail_hide_drafts_and_internal_fields(world, me):
    m = world["mine"]
    page = main(me.get("/portal/estimates"))
    assert m["estimate"].number in page and m["approved"].number in page
    assert m["draft_estimate"].number not in page and world["theirs"]["estimate"].number not in page
    assert me.get(f"/portal/estimates/{m['draft_estimate'].id}").status_code == 404
    detail = main(me.get(f"/portal/estimates/{m['estimate'].id}"))
    for line in ("Replace compressor", "Compressor", "Leak test", "642.60"):
        assert line in detail
    assert "Approve" in detail and "Dispute lines" in detail and "Decline the estimate" in detail
    assert world["staff"].label not in detail  # who wrote it is internal


def test_approve_creates_the_work_order_and_redirects_to_it(world, me, db):
    est = world["mine"]["estimate"]
    response = me.post(f"/portal/estimates/{est.id}/approve", data={"version": est.version})
    assert response.status_code == 302
    db.session.refresh(est)
    order = db.session.scalar(select(WorkOrder).where(WorkOrder.estimate_id == est.id))
    assert est.status == "approved" and order is not None
    assert response.headers["Location"].endswith(f"/portal/orders/{order.id}")
    page = main(me.get(response.headers["Location"]))
    assert order.number in page and "Replace compressor" in page
    again = me.post(f"/portal/estimates/{est.id}/approve", follow_redirects=True)
    assert "it is now Approved" in text(again)


def test_decline_needs_a_reason(world, me, db):
    est = world["mine"]["estimate"]
    response = me.post(f"/portal/estimates/{est.id}/decline", data={"reason": "  "})
    assert response.status_code == 422 and 'id="reason-error"' in main(response)
    db.session.refresh(est)
    assert est.status == "sent"
    assert me.post(f"/portal/estimates/{est.id}/decline", data={"reason": "Too expensive"}).status_code == 302
    db.session.refresh(est)
    assert est.status == "declined" and est.decline_reason == "Too expensive"


def test_dispute_chosen_lines_each_with_a_note(world, me, db):
    est = world["mine"]["estimate"]
    labour, part = est.labour_lines[0], est.labour_lines[0].parts[0]
    response = me.post(f"/portal/estimates/{est.id}/dispute", data={
        f"dispute_labour_{labour.id}": "1", f"note_labour_{labour.id}": "2.5 hours is a lot",
        f"dispute_part_{part.id}": "1", f"note_part_{part.id}": "Compressor is cheaper elsewhere",
        "dispute_note": "Please check", "version": est.version})
    assert response.status_code == 302
    db.session.refresh(est)
    assert est.status == "disputed" and labour.disputed and part.disputed
    assert not est.labour_lines[1].disputed
    log = {n.text for n in dispute_log(est)}
    assert {"2.5 hours is a lot", "Compressor is cheaper elsewhere", "Please check"} <= log
    page = main(me.get(f"/portal/estimates/{est.id}"))
    assert "Your dispute was sent" in page and "2.5 hours is a lot" in page

    response = me.post(f"/portal/estimates/{est.id}/notes", data={"text": "Any news?"})
    assert response.status_code == 302
    assert "Any news?" in {n.text for n in dispute_log(est)}
    empty = me.post(f"/portal/estimates/{est.id}/notes", data={"text": ""})
    assert empty.status_code == 422 and 'id="text-error"' in main(empty)


def test_dispute_errors_are_shown_at_the_line(world, me, db):
    est = world["mine"]["estimate"]
    part = est.labour_lines[0].parts[0]
    nothing = me.post(f"/portal/estimates/{est.id}/dispute", data={"dispute_note": "kept note"})
    assert nothing.status_code == 422 and 'id="lines-error"' in main(nothing) and "kept note" in main(nothing)
    no_note = me.post(f"/portal/estimates/{est.id}/dispute", data={f"dispute_part_{part.id}": "1"})
    assert no_note.status_code == 422 and f'id="note_part_{part.id}-error"' in main(no_note)
    db.session.refresh(est)
    assert est.status == "sent" and not part.disputed


def test_revisions_link_to_the_current_one_and_show_changes(world, me, db):
    est, staff = world["mine"]["estimate"], world["staff"]
    part = est.labour_lines[0].parts[0]
    me.post(f"/portal/estimates/{est.id}/dispute",
            data={f"dispute_part_{part.id}": "1", f"note_part_{part.id}": "Too dear"})
    db.session.refresh(est)
    r2 = estimates.perform(est, "revise", staff)
    old = main(me.get(f"/portal/estimates/{est.id}"))
    assert "the shop is preparing a revised estimate" in old  # R2 is still a draft
    assert me.get(f"/portal/estimates/{r2.id}").status_code == 404
    cheaper = [dict(LINES[0], parts=[dict(LINES[0]["parts"][0], unit_price="250.00")]), LINES[1]]
    estimates.perform(r2, "edit", staff, labour_lines=cheaper)
    estimates.perform(r2, "submit", staff)
    old = main(me.get(f"/portal/estimates/{est.id}"))
    assert f'href="/portal/estimates/{r2.id}"' in old and r2.display_number in old
    new = main(me.get(f"/portal/estimates/{r2.id}"))
    assert f"What changed since {est.display_number}" in new
    assert "250.00" in new and "300.00" in new  # both revisions' prices are on the page
    assert "Too dear" in new  # the dispute log spans revisions


# ---------------------------------------------------------------- work orders
def test_order_tabs_and_columns(world, me):
    m = world["mine"]
    new_tab = main(me.get("/portal/orders"))
    at_shop = main(me.get("/portal/orders?tab=at_location"))
    done = main(me.get("/portal/orders?tab=completed"))
    assert m["workshop_order"].number in at_shop and m["workshop_order"].number not in new_tab
    assert m["done_order"].number in done
    assert "PO-ARCTIC-7" in done and "INT-ARCTIC-7" in done  # both references, the shop's read-only
    assert "TRKARCTIC9" in at_shop and "Fairphone 5" in at_shop
    assert world["theirs"]["done_order"].number not in done
    assert me.get("/portal/orders?tab=bogus").status_code == 200


@pytest.mark.parametrize("term", ["PO-ARCTIC-9", "po-arctic-9", "INT-ARCTIC-7", "trkarctic9", "490154203237518",
                                  "4901 5420 3237 518"])
def test_order_search(world, me, term):
    m = world["mine"]
    found = main(me.get("/portal/orders", query_string={"tab": "completed", "q": term})) + \
        main(me.get("/portal/orders", query_string={"tab": "at_location", "q": term}))
    expected = m["done_order"] if term == "INT-ARCTIC-7" else m["workshop_order"]
    other = m["workshop_order"] if expected is m["done_order"] else m["done_order"]
    assert expected.number in found and other.number not in found
    assert world["theirs"]["done_order"].number not in found


def test_order_search_by_number_and_serial(world, me):
    m = world["mine"]
    done, workshop = m["done_order"], m["workshop_order"]
    short = str(int(done.number.split("-")[1]))
    for term in (done.number, done.number.lower(), short, m["unit"].serial_number.lower()):
        page = main(me.get("/portal/orders", query_string={"tab": "completed", "q": term}))
        assert done.number in page, term
        assert "1 order" in page
    assert workshop.number not in main(me.get("/portal/orders", query_string={"tab": "at_location",
                                                                             "q": m["unit"].serial_number}))


def test_order_search_does_not_reach_other_customers(world, me):
    theirs = world["theirs"]
    for term in (theirs["done_order"].customer_reference, theirs["phone"].imei, theirs["unit"].serial_number, "%"):
        page = main(me.get("/portal/orders", query_string={"tab": "completed", "q": term}))
        assert theirs["done_order"].number not in page


def test_orders_are_paged(world, me, db):
    staff, m = world["staff"], world["mine"]
    for n in range(30):
        work_orders.create(staff, customer_id=m["customer"].id, fault=f"bulk {n}", customer_reference=f"BULK-{n:02d}")
    first = main(me.get("/portal/orders?tab=new"))
    assert "Page 1 of 2" in first and "30 orders" in first and 'rel="next"' in first
    second = main(me.get("/portal/orders?tab=new&page=2"))
    assert second.count("BULK-") == 5 and 'rel="prev"' in second
    assert "Page 2 of 2" in main(me.get("/portal/orders?tab=new&page=99"))
    assert me.get("/portal/orders?tab=new&page=abc").status_code == 200


def test_order_detail_hides_internal_notes_and_takes_messages(world, me, db):
    order = world["mine"]["done_order"]
    page = main(me.get(f"/portal/orders/{order.id}"))
    assert "Arctic public note" in page and "Arctic public message from the shop" in page
    assert "SECRET" not in page
    assert "Replace compressor" in page and world["mine"]["invoice"].number in page
    response = me.post(f"/portal/orders/{order.id}/messages", data={"text": "When can I collect it?"})
    assert response.status_code == 302
    sent = db.session.scalar(select(OrderMessage).where(OrderMessage.text == "When can I collect it?"))
    assert sent.side == "customer" and sent.public and sent.work_order_id == order.id
    assert "When can I collect it?" in main(me.get(f"/portal/orders/{order.id}"))
    empty = me.post(f"/portal/orders/{order.id}/messages", data={"text": "  "})
    assert empty.status_code == 422 and 'id="text-error"' in main(empty)


# ---------------------------------------------------------------- invoices
def test_invoice_list_and_detail(world, me, db):
    m = world["mine"]
    page = main(me.get("/portal/invoices"))
    assert m["invoice"].number in page and world["theirs"]["invoice"].number not in page
    detail = main(me.get(f"/portal/invoices/{m['invoice'].id}"))
    assert "Authorization needed" in detail and "Replace compressor" in detail and "642.60" in detail


def test_draft_invoices_are_not_shown(world, me, db):
    order = world["mine"]["workshop_order"]
    staff, tech = world["staff"], world["tech"]
    work_orders.perform(order, "clock_on", tech)
    work_orders.perform(order, "ready", tech)
    draft = work_orders.perform(order, "invoice", staff)
    assert draft.status == "draft"
    assert me.get(f"/portal/invoices/{draft.id}").status_code == 404
    assert draft.number not in main(me.get("/portal/invoices"))


def test_authorize_then_pay(world, me, db):
    invoice = world["mine"]["invoice"]
    response = me.post(f"/portal/invoices/{invoice.id}/authorize", data={"version": invoice.version})
    assert response.status_code == 302
    db.session.refresh(invoice)
    assert invoice.status == "open" and invoice.authorized_at is not None
    page = main(me.get(f"/portal/invoices/{invoice.id}"))
    assert "Authorization needed" not in page
    assert "Demo payment provider" in page and 'value="tok_demo_ok"' in page
    assert me.post(f"/portal/invoices/{invoice.id}/pay", data={"token": "tok_demo_ok"}).status_code == 302
    db.session.refresh(invoice)
    assert invoice.status == "paid" and invoice.balance == 0
    assert "Pay online" not in main(me.get(f"/portal/invoices/{invoice.id}"))


def test_declined_payment_is_shown_at_the_form(world, me, db):
    invoice = world["theirs"]["invoice"]  # an open one (no authorization needed), of the other customer
    assert me.post(f"/portal/invoices/{invoice.id}/pay", data={"token": "tok_demo_ok"}).status_code == 404
    mine = world["mine"]["invoice"]
    me.post(f"/portal/invoices/{mine.id}/authorize")
    response = me.post(f"/portal/invoices/{mine.id}/pay", data={"token": "tok_demo_declined"})
    assert response.status_code == 422 and 'id="payment-error"' in main(response)
    db.session.refresh(mine)
    assert mine.status == "open"


def test_authorize_twice_is_refused_with_a_message(world, me, db):
    invoice = world["mine"]["invoice"]
    me.post(f"/portal/invoices/{invoice.id}/authorize")
    again = me.post(f"/portal/invoices/{invoice.id}/authorize", follow_redirects=True)
    assert "it is now Open" in text(again)
    assert db.session.get(Invoice, invoice.id).status == "open"


def test_estimate_pages_count(world, me, db):
    """A customer with many estimates gets pages, not one endless list."""
    staff, m = world["staff"], world["mine"]
    for _ in range(26):
        est = estimates.create(staff, customer_id=m["customer"].id, labour_lines=LINES)
        estimates.perform(est, "submit", staff)
    page = main(me.get("/portal/estimates?status=waiting"))
    assert "Page 1 of 2" in page
    assert db.session.scalar(select(func.count(Estimate.id)).where(Estimate.customer_id == m["customer"].id)) > 26
    assert db.session.scalar(select(func.count(DisputeNote.id))) == 0


def test_links_to_other_parts_follow_the_routes_and_the_reseller_flag(world, app, db):
    from flask import g

    from tests.conftest import login
    from tests.factories import CustomerFactory, make_user

    reseller = make_user("Reseller", customer=CustomerFactory(name="FixIt", kind="reseller"))
    db.session.commit()
    has = app.view_functions.__contains__
    client = app.test_client()
    assert login(client, reseller.username).status_code == 302
    body = text(client.get("/portal/orders"))
    nav = body[body.index('<nav aria-label="Portal">'):body.index("</nav>")]
    assert ("Shipments" in nav) == has("PortalShipmentView.list")
    assert ("New repair order" in body) == has("PortalRepairOrderView.new")
    assert ("Export CSV" in body) == has("PortalResellerDocumentView.export_form")
    for cached in ("_login_user", "user", "_portico_customer", "portal_actor"):  # the tests share one app context
        g.pop(cached, None)
    customer = app.test_client()
    assert login(customer, world["mine"]["user"].username).status_code == 302
    plain = text(customer.get("/portal/orders"))
    assert "Orders" in plain and "Shipments" not in plain and "Export CSV" not in plain
    assert ("New repair order" in plain) == has("PortalRepairOrderView.new")
    order_id = world["mine"]["done_order"].id
    detail = text(customer.get(f"/portal/orders/{order_id}"))
    assert (f"/portal/orders/{order_id}/pdf" in detail) == has("PortalDocumentView.work_order_pdf")
