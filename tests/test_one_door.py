"""The same rule on every path: the portal, a staff screen (the generated edit form, a custom view) and the
REST API answer alike, because each only hands its input to the entity's action table (``perform``)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from app.models import (
    AuditEvent,
    DisputeNote,
    Estimate,
    Invoice,
    InvoiceLine,
    ReportDefinition,
    ReportRun,
    ServiceRequest,
    WorkItem,
)
from app.services import customers, estimates, invoices, requests, work_orders
from tests.api_support import api_as
from tests.factories import (
    CustomerFactory,
    ServiceLocationFactory,
    ServiceTypeFactory,
    UnitFactory,
    actor,
    make_user,
)

LINES = [{"description": "Check", "hours": "1.00", "rate": "90.00",
          "parts": [{"description": "Seal", "quantity": "1", "unit_price": "10.00"}]}]


def _shop(db):
    staff_user, manager = make_user("Advisor"), make_user("Manager")
    customer = CustomerFactory(name="Door Customer")
    jane = make_user("Customer", customer=customer)
    unit = UnitFactory(customer=customer)
    service_type, location = ServiceTypeFactory(), ServiceLocationFactory()
    db.session.commit()
    staff = actor(staff_user)
    req = requests.submit(actor(jane), service_type_id=service_type.id, service_location_id=location.id,
                          subject="Door request", preferred_date=dt.date.today() + dt.timedelta(days=3),
                          preferred_slot="morning", unit_id=unit.id)
    return dict(staff_user=staff_user, manager=manager, jane=jane, customer=customer, staff=staff, req=req,
                unit=unit)


def _estimate(shop, *, send=True):
    est = estimates.create(shop["staff"], customer_id=shop["customer"].id, labour_lines=LINES)
    if send:
        estimates.perform(est, "submit", shop["staff"])
    return est


def test_a_never_sent_estimate_is_404_for_the_customer_everywhere(db, client, login_as):
    shop = _shop(db)
    est = _estimate(shop, send=False)
    estimates.perform(est, "cancel", shop["staff"], reason="Not needed")
    assert est.status == "cancelled" and est.sent_at is None
    api = api_as(client, shop["jane"])
    for path in (f"/estimate/{est.id}", f"/estimate/{est.id}/pdf", f"/estimate/{est.id}/notes"):
        assert api.get(path).status_code == 404, path
    portal = login_as(shop["jane"])
    for path in (f"/portal/estimates/{est.id}", f"/portal/estimates/{est.id}/pdf"):
        response = portal.get(path)
        assert response.status_code == 404, path
        assert est.number.encode() not in response.data


def test_notes_on_an_approved_estimate_are_refused_on_every_path(db, client, login_as):
    shop = _shop(db)
    est = _estimate(shop)
    estimates.perform(est, "approve", actor(shop["jane"]))
    before = db.session.scalar(select(func.count(DisputeNote.id)))
    response = api_as(client, shop["jane"]).post(f"/estimate/{est.id}/notes", json={"text": "Still here?"})
    assert response.status_code == 409 and response.get_json()["status"] == "approved"
    portal = login_as(shop["jane"])
    page = portal.get(f"/portal/estimates/{est.id}")
    assert f'action="/portal/estimates/{est.id}/notes"' not in page.get_data(as_text=True)  # no form offered
    portal.post(f"/portal/estimates/{est.id}/notes", data={"text": "Still here?"})
    staff = api_as(client, shop["staff_user"]).post(f"/estimate/{est.id}/notes", json={"text": "From us"})
    assert staff.status_code == 409
    assert db.session.scalar(select(func.count(DisputeNote.id))) == before


def test_a_cancelled_request_cannot_be_edited_on_any_path(db, client, login_as):
    shop = _shop(db)
    req = shop["req"]
    requests.perform(req, "cancel", actor(shop["jane"]), reason="Sold the truck")
    response = api_as(client, shop["staff_user"]).put(f"/service_request/{req.id}", json={"subject": "Changed"})
    assert response.status_code == 409 and response.get_json()["status"] == "cancelled"
    screen = login_as(shop["staff_user"])
    response = screen.post(f"/servicerequestview/edit/{req.id}", data={
        "subject": "Changed on the screen", "service_type": str(req.service_type_id), "preferred_slot": "morning",
        "preferred_date": req.preferred_date.isoformat()})
    text = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Cannot edit this service request: it is cancelled." in text
    assert 'value="Changed on the screen"' in text  # the form comes back as typed
    db.session.expire_all()
    assert db.session.get(ServiceRequest, req.id).subject == "Door request"


def test_an_open_request_is_edited_through_the_screen_and_audited(db, login_as):
    shop = _shop(db)
    req = shop["req"]
    screen = login_as(shop["staff_user"])
    response = screen.post(f"/servicerequestview/edit/{req.id}", data={
        "subject": "Better subject", "service_type": str(req.service_type_id), "preferred_slot": "morning",
        "preferred_date": req.preferred_date.isoformat(), "service_location": str(req.service_location_id),
        "unit": str(shop["unit"].id)})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ServiceRequest, req.id).subject == "Better subject"
    edit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "edit",
                                                      AuditEvent.entity_id == req.id))
    assert edit is not None and "subject" in edit.reason


def test_a_disabled_report_cannot_be_run_from_the_screen_or_the_api(db, client, login_as):
    shop = _shop(db)
    definition = ReportDefinition(name="Door report", kind="work_orders", cron="0 7 * * 1", format="csv",
                                  recipients=["m@example.com"], params={"period": "last_week"}, enabled=False)
    db.session.add(definition)
    db.session.commit()
    screen = login_as(shop["manager"])
    page = screen.get(f"/reportdefinitionview/show/{definition.id}").get_data(as_text=True)
    assert f"/reportdefinitionview/run/{definition.id}" not in page  # no button
    response = screen.post(f"/reportdefinitionview/run/{definition.id}", follow_redirects=True)
    assert "Cannot run this report: it is disabled." in response.get_data(as_text=True)
    response = api_as(client, shop["manager"]).post(f"/report/{definition.id}/run")
    assert response.status_code == 409 and response.get_json()["status"] == "disabled"
    assert db.session.scalar(select(func.count(ReportRun.id))) == 0


def test_estimate_lines_change_only_through_the_estimate(db, login_as):
    shop = _shop(db)
    est = _estimate(shop, send=False)
    line = est.labour_lines[0]
    screen = login_as(shop["staff_user"])
    screen.post(f"/labourlineview/edit/{line.id}", data={"description": "Sneaky", "hours": "9", "rate": "9"})
    screen.post("/labourlineview/add", data={"estimate": str(est.id), "description": "More", "hours": "1",
                                             "rate": "1"})
    db.session.expire_all()
    fresh = db.session.get(Estimate, est.id)
    assert [ln.description for ln in fresh.labour_lines] == ["Check"]
    assert fresh.subtotal == Decimal("100.00")


def test_invoice_lines_follow_the_invoice_table(db, login_as):
    shop = _shop(db)
    tech = make_user("Technician")
    db.session.commit()
    order = work_orders.create(shop["staff"], customer_id=shop["customer"].id, kind="job", fault="Noise")
    work_orders.perform(order, "receive", shop["staff"])
    work_orders.perform(order, "clock_on", actor(tech))
    work_orders.perform(order, "ready", actor(tech))
    order.items.append(WorkItem(kind="part", description="Fuse", quantity=Decimal("1"),
                                unit_price=Decimal("5.00")))
    db.session.commit()
    invoice = work_orders.perform(order, "invoice", shop["staff"])
    screen = login_as(shop["staff_user"])
    response = screen.post("/invoicelineview/add", data={"invoice": str(invoice.id), "position": "9",
                                                          "kind": "other", "description": "Call-out",
                                                          "quantity": "1", "unit_price": "20.00"})
    assert response.status_code in (200, 302)
    db.session.expire_all()
    draft = db.session.get(Invoice, invoice.id)
    assert draft.total > Decimal("20.00")  # recomputed through the invoice's "lines" action
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "lines",
                                                      AuditEvent.entity_id == invoice.id))
    invoices.perform(draft, "submit", shop["staff"])
    count = db.session.scalar(select(func.count(InvoiceLine.id)))
    screen.post("/invoicelineview/add", data={"invoice": str(invoice.id), "position": "10", "kind": "other",
                                              "description": "Extra", "quantity": "1", "unit_price": "1.00"})
    assert db.session.scalar(select(func.count(InvoiceLine.id))) == count


def test_customer_edits_and_locks_go_through_the_customers_table(db, client, login_as):
    from app.models import Customer, LoginToken
    from app.services import portal_auth

    shop = _shop(db)
    customer = shop["customer"]
    portal_auth.issue_token(shop["jane"])
    db.session.commit()
    screen = login_as(shop["staff_user"])
    response = screen.post(f"/customerview/edit/{customer.id}", data={
        "name": "Door Customer Ltd", "kind": "business", "email": "", "email_invoices": ""})
    assert response.status_code == 302
    db.session.expire_all()
    fresh = db.session.get(Customer, customer.id)
    assert fresh.name == "Door Customer Ltd" and fresh.preferences["invoices"] is False
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "edit",
                                                      AuditEvent.entity_type == "customer"))
    # Locking through the REST API's PUT is the lock service too: the account's links are revoked.
    response = api_as(client, shop["staff_user"]).put(f"/customer/{customer.id}", json={"locked": True})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).locked
    assert db.session.scalar(select(func.count(LoginToken.id)).where(LoginToken.revoked_at.is_(None))) == 0
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "lock"))
    # The lock action of the screen is refused on an account that is locked already (nothing to do).
    locked = db.session.get(Customer, customer.id)
    assert customers.TABLE.allowed_actions("locked", actor(shop["staff_user"]), locked) == [
        "edit", "unlock", "archive", "delete", "privacy_export"]


def test_an_edit_is_audited_field_by_field_old_to_new(db):
    shop = _shop(db)
    req = shop["req"]
    requests.perform(req, "edit", shop["staff"], subject="Fridge too warm", summary="Hums at night")
    line = db.session.scalar(select(AuditEvent.reason).where(AuditEvent.action == "edit",
                                                            AuditEvent.entity_id == req.id))
    assert "subject: 'Door request' → 'Fridge too warm'" in line
    assert "summary: " in line and "'Hums at night'" in line


def test_settings_are_kept_within_sane_bounds_on_the_screen(db, login_as):
    from app.core.settings import get_settings

    admin = make_user("Admin")
    settings = get_settings()
    db.session.commit()
    screen = login_as(admin)
    form = {"shop_name": "Door Shop", "currency": "EUR", "tax_rate": "19.00", "labour_rate": "95.00",
            "time_zone": "Europe/Berlin", "magic_link_hours": "100000000", "photo_limit": "4", "slot_capacity": "4",
            "request_stale_hours": "24", "invoice_labour_source": "time_entries", "invoice_due_days": "14",
            "paper_size": "A4", "export_retention_days": "90", "time_rounding": "exact",
            "minimum_charge_minutes": "0", "label_format": "a6"}
    response = screen.post(f"/settingsview/edit/{settings.id}", data=form)
    assert response.status_code == 422
    assert "Must be greater than or equal to 1 and less than or equal to 720." in response.get_data(as_text=True)
    db.session.expire_all()
    assert get_settings().magic_link_hours == 2
    response = screen.post(f"/settingsview/edit/{settings.id}", data=dict(form, magic_link_hours="3",
                                                                            time_zone="Mars/Olympus"))
    assert response.status_code == 422 and "Not a time zone name" in response.get_data(as_text=True)
    response = screen.post(f"/settingsview/edit/{settings.id}", data=dict(form, magic_link_hours="3"))
    assert response.status_code == 302
    db.session.expire_all()
    assert get_settings().magic_link_hours == 3
