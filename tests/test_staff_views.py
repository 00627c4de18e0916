"""The staff screens: every list renders its rows, roles see what they may, transitions go through the
services (flash, audit, no 500), the technician board hides prices and other technicians' orders."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import select

from app.core.errors import InvalidTransition
from app.core.settings import get_settings
from app.models import (
    Attachment,
    AuditEvent,
    DisputeNote,
    Estimate,
    Invoice,
    InvoiceLine,
    LoginToken,
    Notification,
    OrderMessage,
    OutboxEmail,
    Payment,
    ReportDefinition,
    ReportRun,
    ServiceRequest,
    Shipment,
    TimeEntry,
    TimeProposal,
    WorkItem,
    WorkItemTemplate,
    utcnow,
)
from app.services import estimates, requests, work_orders
from app.views.base import StaffModelView
from tests.factories import (
    AddressFactory,
    CustomerFactory,
    ServiceLocationFactory,
    ServiceTypeFactory,
    ShippingMethodFactory,
    UnitFactory,
    actor,
    make_user,
    tomorrow,
)

LINES = [{"description": "Marker labour", "hours": "1.50", "rate": "80.00",
          "parts": [{"part_number": "P-1", "description": "Marker part", "quantity": "1", "unit_price": "40.00"}]}]


@pytest.fixture()
def shop(db):
    """One row of every entity a staff screen lists, each with a text the test looks for."""
    admin, advisor = make_user("Admin"), make_user("Advisor")
    tech, other_tech = make_user("Technician"), make_user("Technician")
    customer = CustomerFactory(name="Marker Customer", kind="reseller", notes="VIP-secret")
    portal = make_user("Customer", customer=customer)
    AddressFactory(customer=customer, line1="1 Marker Street")
    unit = UnitFactory(customer=customer, serial_number="MARK-SN-1")
    service_type = ServiceTypeFactory(name="Marker service")
    location = ServiceLocationFactory(name="Marker depot")
    shipping = ShippingMethodFactory(name="Marker courier")
    db.session.add(WorkItemTemplate(kind="labour", name="Marker template", quantity=1))
    settings = get_settings()
    settings.shop_name = "Marker Shop"
    db.session.commit()
    staff = actor(advisor)

    req = requests.submit(staff, customer_id=customer.id, service_type_id=service_type.id, subject="Marker request",
                          preferred_date=tomorrow(), preferred_slot="morning", unit_id=unit.id)
    est = estimates.create(staff, customer_id=customer.id, service_request_id=req.id, labour_lines=LINES)
    order = work_orders.create(staff, customer_id=customer.id, kind="repair", unit_id=unit.id, fault="Marker fault",
                               service_location_id=location.id, shipping_method_id=shipping.id)
    mine = work_orders.create(staff, customer_id=customer.id, kind="job", technician_id=tech.id, fault="Mine")
    theirs = work_orders.create(staff, customer_id=customer.id, kind="job", technician_id=other_tech.id,
                                fault="Theirs")
    for wo in (order, mine, theirs):
        work_orders.perform(wo, "receive", staff)
    with db.session.no_autoflush:  # rows join the session through their parents before they are complete
        rows = [
            WorkItem(work_order=order, kind="part", description="Marker item", quantity=Decimal("1"),
                     unit_price=Decimal("123.45")),
            WorkItem(work_order=theirs, kind="labour", description="Their item", quantity=Decimal("1"),
                     unit_price=Decimal("50.00")),
            TimeEntry(work_order=order, technician_id=other_tech.id, started_at=utcnow() - dt.timedelta(hours=2),
                      ended_at=utcnow() - dt.timedelta(hours=1), note="Marker time"),
            OrderMessage(work_order=order, side="staff", text="Marker message"),
            TimeProposal(service_request=req, proposed_by="staff", start=utcnow(), note="Marker proposal"),
            Attachment(customer_id=customer.id, service_request=req, filename="marker.pdf", stored_name="abc123",
                       content_type="application/pdf", size_bytes=2048),
            DisputeNote(estimate_number=est.number, estimate_id=est.id, side="staff", text="Marker dispute"),
            Notification(audience="staff", event="test", title="Marker notification"),
            OutboxEmail(to_address="outbox-marker@example.com", subject="Marker mail", body_text="x"),
            LoginToken(token_hash="f" * 64, user_id=portal.id, expires_at=utcnow(), created_ip="203.0.113.9"),
            Shipment(number="SHP-900001", customer_id=customer.id, service_location_id=location.id,
                     shipping_method_id=shipping.id, status="draft"),
        ]
        db.session.add_all(rows)
    invoice = Invoice(number="INV-900001", customer_id=customer.id, work_order_id=order.id, status="open",
                      subtotal=Decimal("100.00"), total=Decimal("100.00"), amount_paid=Decimal("10.00"),
                      queried_at=utcnow())  # the customer queried it: on Billing → Queried invoices too
    invoice.lines.append(InvoiceLine(kind="other", description="Marker invoice line", quantity=Decimal("1"),
                                     unit_price=Decimal("100.00")))
    invoice.payments.append(Payment(amount=Decimal("10.00"), method="cash", reference="Marker payment"))
    report = ReportDefinition(name="Marker report", kind="orders", cron="0 6 * * 1", recipients=["a@example.com"])
    report.runs.append(ReportRun(status="succeeded", started_at=utcnow()))
    db.session.add_all([invoice, report])
    db.session.commit()
    return dict(admin=admin, advisor=advisor, tech=tech, other_tech=other_tech, portal=portal, customer=customer,
                request=req, estimate=est, order=order, mine=mine, theirs=theirs, invoice=invoice)


#: Every staff list and a text its seeded row shows.
LIST_MARKERS = {
    "/customerview/list/": "Marker Customer",
    "/unitview/list/": "MARK-SN-1",
    "/addressview/list/": "1 Marker Street",
    "/portaluserview/list/": "Marker Customer",
    "/servicerequestview/list/": "Marker request",
    "/timeproposalview/list/": "Marker proposal",
    "/attachmentview/list/": "marker.pdf",
    "/estimateview/list/": "EST-000001",
    "/labourlineview/list/": "Marker labour",
    "/partlineview/list/": "Marker part",
    "/disputenoteview/list/": "Marker dispute",
    "/workorderview/list/": "WO-000001",
    "/workitemview/list/": "Marker item",
    "/timeentryview/list/": "Marker time",
    "/ordermessageview/list/": "Marker message",
    "/technicianboard/list/": "WO-000001",
    "/technicianitemview/list/": "Marker item",
    "/techniciantimeview/list/": "Marker time",
    "/technicianmessageview/list/": "Marker message",
    "/invoiceview/list/": "INV-900001",
    "/queriedinvoices/list/": "INV-900001",
    "/invoicelineview/list/": "Marker invoice line",
    "/paymentview/list/": "Marker payment",
    "/shipmentview/list/": "SHP-900001",
    "/servicetypeview/list/": "Marker service",
    "/servicelocationview/list/": "Marker depot",
    "/shippingmethodview/list/": "Marker courier",
    "/workitemtemplateview/list/": "Marker template",
    "/settingsview/list/": "Marker Shop",
    "/reportdefinitionview/list/": "Marker report",
    "/reportrunview/list/": "Marker report",
    "/auditeventview/list/": "WO-000001",
    "/outboxview/list/": "outbox-marker@example.com",
    "/notificationview/list/": "Marker notification",
    "/logintokenview/list/": "203.0.113.9",
}


def staff_views():
    return [v for v in current_app.appbuilder.baseviews if isinstance(v, StaffModelView)]


def flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


def test_every_staff_list_answers_200_for_admin_and_shows_its_row(shop, login_as):
    client = login_as(shop["admin"])
    assert {f"{v.route_base}/list/" for v in staff_views()} == set(LIST_MARKERS), "a staff list has no check"
    for path, marker in LIST_MARKERS.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert marker in response.text, f"{path} does not show {marker!r}"


def test_show_and_forms_render_for_admin(shop, login_as):
    client = login_as(shop["admin"])
    for path in ("/servicerequestview/show/{request}", "/estimateview/show/{estimate}", "/workorderview/show/{order}",
                 "/invoiceview/show/{invoice}", "/customerview/show/{customer}", "/workorderview/edit/{order}",
                 "/customerview/edit/{customer}", "/servicerequestview/add", "/workorderview/add", "/estimateview/add",
                 "/invoiceview/add", "/shipmentview/add", "/customerview/add"):
        url = path.format(**{k: getattr(v, "id", None) for k, v in shop.items()})
        response = client.get(url)
        assert response.status_code == 200, url


def test_optional_pickers_offer_a_dash_not_none(shop, login_as):
    """WTForms 3.3 shows an empty option label as its value: FAB's optional pickers read "__None"."""
    client = login_as(shop["admin"])
    for path in ("/workorderview/add", "/servicerequestview/add", "/estimateview/add",
                 f"/customerview/edit/{shop['customer'].id}"):
        html = client.get(path).text
        assert '<option selected value="__None">—</option>' in html, path
        assert ">__None<" not in html, path


@pytest.mark.parametrize("role", ["admin", "advisor", "tech"])
def test_your_profile_page_opens_for_staff_and_shows_no_one_else(shop, login_as, role):
    """FAB's "Your profile" (/users/userinfo/) shares the users' record template, which once needed a
    history (a 500); advisors and technicians had no permission for it (a 403 from the user menu)."""
    client = login_as(shop[role])
    response = client.get("/users/userinfo/")
    assert response.status_code == 200 and shop[role].username in response.text
    assert client.get("/resetmypassword/form").status_code == 200
    if role != "admin":
        assert client.get("/users/list/").status_code == 403
        assert client.get(f"/users/show/{shop['admin'].id}").status_code == 403


def test_show_page_has_state_actions_version_csrf_and_history(shop, login_as):
    client = login_as(shop["advisor"])
    order = shop["order"]
    html = client.get(f"/workorderview/show/{order.id}").text
    assert 'class="status-badge status-received"' in html
    assert f'/workorderview/transition/{order.id}/cancel' in html
    assert 'name="reason"' in html and 'name="csrf_token"' in html
    assert f'name="expected_version" value="{order.version}"' in html
    assert f'/workorderview/transition/{order.id}/complete' not in html  # not allowed from received
    assert "History" in html and "receive" in html


def test_advisor_may_not_open_settings_or_users(shop, login_as, client):
    login_as(shop["advisor"])
    for path in ("/settingsview/list/", "/users/list/", "/outboxview/list/", "/logintokenview/list/"):
        assert client.get(path).status_code == 403, path
    assert client.get("/servicetypeview/list/").status_code == 200  # Catalog: read
    assert client.get("/servicetypeview/add").status_code == 403


def test_anonymous_is_sent_to_login(client, shop):
    response = client.get("/workorderview/list/")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
    response = client.post(f"/workorderview/transition/{shop['order'].id}/cancel", data={"reason": "x"})
    assert response.status_code == 302 and "/login/" in response.headers["Location"]


def test_technician_board_shows_no_prices(shop, login_as):
    client = login_as(shop["tech"])
    order = shop["order"]  # unassigned: on the board
    for path in ("/technicianboard/list/", f"/technicianboard/show/{order.id}",
                 f"/technicianitemview/list/?_flt_0_work_order_id={order.id}"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "123.45" not in response.text and get_settings().currency not in response.text, path
    assert "Marker item" in client.get(f"/technicianboard/show/{order.id}").text


def test_technician_sees_own_and_unassigned_but_not_anothers_order(shop, login_as, db):
    client = login_as(shop["tech"])
    listing = client.get("/technicianboard/list/").text
    assert shop["mine"].number in listing and shop["order"].number in listing
    assert shop["theirs"].number not in listing
    theirs = shop["theirs"]
    assert client.get(f"/technicianboard/show/{theirs.id}").status_code == 404
    assert client.post(f"/technicianboard/transition/{theirs.id}/clock_on").status_code == 404
    item = db.session.scalar(select(WorkItem).where(WorkItem.work_order_id == theirs.id))
    assert client.get(f"/technicianitemview/show/{item.id}").status_code == 404
    assert client.get(f"/workorderview/show/{theirs.id}").status_code == 403


def test_technician_clocks_on_off_and_marks_ready(shop, login_as, db):
    client = login_as(shop["tech"])
    order = shop["order"]
    response = client.post(f"/technicianboard/transition/{order.id}/clock_on", data={"note": "starting"})
    assert response.status_code == 302
    db.session.refresh(order)
    assert order.status == "in_progress" and order.technician_id == shop["tech"].id
    html = client.get(f"/technicianboard/show/{order.id}").text
    assert f"/technicianboard/transition/{order.id}/clock_off" in html
    assert f"/technicianboard/transition/{order.id}/clock_on" not in html
    client.post(f"/technicianboard/transition/{order.id}/clock_off")
    response = client.post(f"/technicianboard/transition/{order.id}/ready")
    db.session.refresh(order)
    assert order.status == "ready"
    assert response.headers["Location"].endswith("/technicianboard/list/")  # it left the board
    assert not db.session.scalars(select(TimeEntry).where(TimeEntry.work_order_id == order.id,
                                                          TimeEntry.ended_at.is_(None))).all()


def test_board_refuses_office_actions(shop, login_as, db):
    client = login_as(shop["tech"])
    order = shop["order"]
    client.post(f"/technicianboard/transition/{order.id}/cancel", data={"reason": "no"})
    assert any("not available" in m for m in flashes(client))
    db.session.refresh(order)
    assert order.status == "received"
    assert client.post(f"/workorderview/transition/{order.id}/cancel", data={"reason": "no"}).status_code == 403


def test_manager_reads_the_board_but_cannot_clock_on(shop, login_as):
    client = login_as(make_user("Manager"))
    assert client.get(f"/technicianboard/show/{shop['order'].id}").status_code == 200
    assert client.post(f"/technicianboard/transition/{shop['order'].id}/clock_on").status_code == 403


def test_invalid_transition_flashes_the_current_state(shop, login_as, db):
    client = login_as(shop["advisor"])
    order = shop["order"]
    response = client.post(f"/workorderview/transition/{order.id}/complete", follow_redirects=True)
    assert response.status_code == 200
    assert "Cannot complete this work order: it is received." in response.text
    db.session.refresh(order)
    assert order.status == "received"
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == "complete")).all()


@pytest.mark.parametrize("action", ["explode", "pay", "create"])
def test_unknown_or_internal_action_is_refused_without_500(shop, login_as, action):
    client = login_as(shop["advisor"])
    response = client.post(f"/invoiceview/transition/{shop['invoice'].id}/{action}", follow_redirects=True)
    assert response.status_code == 200
    assert "it is open" in response.text


def test_valid_transition_changes_state_and_audits(shop, login_as, db):
    client = login_as(shop["advisor"])
    order = shop["order"]
    response = client.post(f"/workorderview/transition/{order.id}/cancel",
                           data={"reason": "Customer withdrew", "expected_version": order.version})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/workorderview/show/{order.id}")
    assert f"{order.number} is now cancelled." in flashes(client)  # a sentence, not "cancel done; it is now…"
    db.session.refresh(order)
    assert order.status == "cancelled" and order.cancel_reason == "Customer withdrew"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_id == order.id,
                                                       AuditEvent.entity_type == "work_order",
                                                       AuditEvent.action == "cancel"))
    assert (event.from_status, event.to_status, event.reason) == ("received", "cancelled", "Customer withdrew")
    assert event.actor_id == shop["advisor"].id
    assert "Customer withdrew" in client.get(f"/workorderview/show/{order.id}").text


def test_reason_is_required_to_cancel(shop, login_as, db):
    client = login_as(shop["advisor"])
    client.post(f"/workorderview/transition/{shop['order'].id}/cancel", data={"reason": "  "})
    assert "Reason: A reason is required." in flashes(client)
    db.session.refresh(shop["order"])
    assert shop["order"].status == "received"


def test_stale_form_is_refused(shop, login_as, db):
    client = login_as(shop["advisor"])
    order = shop["order"]
    stale = order.version - 1
    client.post(f"/workorderview/transition/{order.id}/cancel", data={"reason": "x", "expected_version": stale})
    assert any("changed by someone else" in m for m in flashes(client))
    db.session.refresh(order)
    assert order.status == "received"


def test_confirm_with_estimate_goes_to_the_new_estimate(shop, login_as, db):
    client = login_as(shop["advisor"])
    req = requests.submit(actor(shop["advisor"]), customer_id=shop["customer"].id,
                          service_type_id=shop["request"].service_type_id, subject="Second",
                          preferred_date=tomorrow(), preferred_slot="afternoon")
    start = dt.datetime.combine(tomorrow() + dt.timedelta(days=1), dt.time(10, 30))
    response = client.post(f"/servicerequestview/transition/{req.id}/confirm",
                           data={"start": start.strftime("%Y-%m-%dT%H:%M"), "estimate": "1"})
    db.session.refresh(req)
    assert req.status == "accepted"
    created = db.session.scalar(select(Estimate).where(Estimate.service_request_id == req.id))
    assert response.headers["Location"].endswith(f"/estimateview/show/{created.id}")


def test_payment_through_the_invoice_screen(shop, login_as, db):
    client = login_as(shop["advisor"])
    invoice = shop["invoice"]
    client.post(f"/invoiceview/transition/{invoice.id}/payments", data={"amount": "90.00", "method": "card"})
    db.session.refresh(invoice)
    assert invoice.status == "paid" and invoice.amount_paid == Decimal("100.00")
    client.post(f"/invoiceview/transition/{invoice.id}/payments", data={"amount": "1", "method": "card"})
    assert any("it is paid" in m for m in flashes(client))


def test_the_invoice_screens_payment_form_reads_the_readers_numbers(shop, login_as, db):
    """Issue 16: the action forms read decimals in the reader's language; what reads two ways is refused."""
    client = login_as(shop["advisor"])
    invoice = shop["invoice"]
    client.get("/lang/de")
    before = invoice.amount_paid
    client.post(f"/invoiceview/transition/{invoice.id}/payments", data={"amount": "1.234", "method": "card"})
    assert any("1.234 lässt sich zweifach lesen" in m for m in flashes(client)), flashes(client)
    db.session.refresh(invoice)
    assert invoice.amount_paid == before
    client.post(f"/invoiceview/transition/{invoice.id}/payments", data={"amount": "40,50", "method": "card"})
    db.session.refresh(invoice)
    assert invoice.amount_paid == before + Decimal("40.50")
    client.get("/lang/en")
    client.post(f"/invoiceview/transition/{invoice.id}/payments", data={"amount": "9.5", "method": "card"})
    db.session.refresh(invoice)
    assert invoice.amount_paid == before + Decimal("50.00")


def test_add_form_goes_through_the_service(shop, login_as, db):
    client = login_as(shop["advisor"])
    data = {"customer": shop["customer"].id, "service_type": shop["request"].service_type_id,
            "subject": "From the desk", "preferred_date": tomorrow().isoformat(), "preferred_slot": "morning"}
    response = client.post("/servicerequestview/add", data=data)
    req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.subject == "From the desk"))
    assert response.headers["Location"].endswith(f"/servicerequestview/show/{req.id}")
    assert req.status == "new" and req.number.startswith("REQ-") and req.source == "staff"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.entity_number == req.number))


def test_refused_add_comes_back_with_the_error_at_the_field(shop, login_as, db):
    client = login_as(shop["advisor"])
    data = {"customer": shop["customer"].id, "service_type": shop["request"].service_type_id,
            "subject": "Too late", "preferred_date": "2001-01-01", "preferred_slot": "morning"}
    response = client.post("/servicerequestview/add", data=data)
    assert response.status_code == 200
    assert "The preferred date cannot be in the past." in response.text
    assert 'value="Too late"' in response.text
    assert not db.session.scalar(select(ServiceRequest).where(ServiceRequest.subject == "Too late"))


def test_lines_of_a_sent_estimate_cannot_change(shop, login_as, db):
    """The line screens are read-only (a second door beside the builder); the estimate's edit refuses too."""
    client = login_as(shop["advisor"])
    est = shop["estimate"]
    estimates.perform(est, "submit", actor(shop["advisor"]))
    line = est.labour_lines[0]
    client.post(f"/labourlineview/edit/{line.id}", data={"position": 0, "description": "Cheaper", "hours": "0.1",
                                                          "rate": "1"})
    client.post("/labourlineview/add", data={"estimate": est.id, "position": 1, "description": "More",
                                             "hours": "2", "rate": "50"})
    with pytest.raises(InvalidTransition) as refused:
        estimates.perform(est, "edit", actor(shop["advisor"]), labour_lines=[{"description": "Cheaper",
                                                                               "hours": "0.1", "rate": "1"}])
    assert "Cannot edit this estimate: it is sent." in refused.value.message
    db.session.refresh(line)
    assert line.description == "Marker labour"
    assert [ln.description for ln in db.session.get(type(est), est.id).labour_lines] == ["Marker labour"]


def test_new_labour_line_updates_the_draft_totals(shop, login_as, db):
    est = shop["estimate"]
    before = est.subtotal
    lines = [{"description": ln.description, "hours": str(ln.hours), "rate": str(ln.rate),
              "parts": [{"description": p.description, "part_number": p.part_number, "quantity": str(p.quantity),
                         "unit_price": str(p.unit_price)} for p in ln.parts]} for ln in est.labour_lines]
    estimates.perform(est, "edit", actor(shop["advisor"]),
                      labour_lines=[*lines, {"description": "More", "hours": "2", "rate": "50"}])
    db.session.refresh(est)
    assert est.subtotal == before + Decimal("100.00")


def test_search_columns_are_explicit_and_visible(app):
    forbidden = {"notes", "internal_notes", "token_hash", "stored_name", "body_html", "attachments", "preferences",
                 "user_agent", "password", "logo", "params", "files", "version"}
    for view in staff_views():
        own = [c for c in type(view).__mro__ if c.__module__.startswith("app.views") and c is not StaffModelView]
        assert any("search_columns" in vars(cls) for cls in own), f"{type(view).__name__} needs search_columns"
        shown = set(view.list_columns) | set(view.show_columns) | {"number"}
        if "local_name" in shown:  # the reader's name: the English name in English and wherever none is set
            shown.add("name")
        for column in view.search_columns:
            assert column not in forbidden, (view, column)
            assert column in shown, f"{type(view).__name__} filters on {column}, which it does not show"


def test_hidden_columns_cannot_be_probed_by_filter(shop, login_as):
    client = login_as(shop["admin"])
    CustomerFactory(name="Other Customer")
    response = client.get("/customerview/list/?_flt_2_notes=nothing-like-this")
    assert "Marker Customer" in response.text and "Other Customer" in response.text  # the filter was ignored


def test_notification_feed(shop, login_as, db):
    db.session.add(Notification(audience="staff", event="x", title="For the other tech",
                                user_id=shop["other_tech"].id))
    db.session.add(Notification(audience="customer", customer_id=shop["customer"].id, event="x", title="Customer's"))
    db.session.commit()
    client = login_as(shop["tech"])
    listing = client.get("/notificationview/list/").text
    assert "For the other tech" not in listing and "Marker notification" not in listing
    client = login_as(shop["advisor"])
    listing = client.get("/notificationview/list/").text
    assert "Marker notification" in listing and "Customer&#39;s" not in listing and "Customer's" not in listing


def test_transition_forms_carry_a_working_csrf_token(shop, login_as, app, monkeypatch, db):
    client = login_as(shop["advisor"])
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    order = shop["order"]
    url = f"/workorderview/transition/{order.id}/cancel"
    assert client.post(url, data={"reason": "no token"}).status_code == 400
    html = client.get(f"/workorderview/show/{order.id}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post(url, data={"reason": "with token", "csrf_token": token}).status_code == 302
    db.session.refresh(order)
    assert order.status == "cancelled"
