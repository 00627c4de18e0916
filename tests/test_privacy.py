"""Privacy requests (issue 17, item 5): a customer's data exported (staff: everything; the customer: what the
portal shows them) and erased (managers and admins, refused while work is open, files removed after the
commit only, invoices kept with the recipient as issued, the audit trail kept without the erased data)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.core.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from app.documents import context
from app.models import (
    Address,
    Attachment,
    AuditEvent,
    Estimate,
    Invoice,
    LoginToken,
    Notification,
    OrderMessage,
    OutboxEmail,
    PortalUser,
    ServiceRequest,
    User,
    WorkOrder,
    utcnow,
)
from app.services import customers, portal_auth, privacy, uploads
from app.services.workflow import perform
from tests.factories import CustomerFactory, ServiceTypeFactory, UnitFactory, actor, make_user

SECRET_SERIAL = "SER-OTHER-999"


def _attachment(customer, order, name: str, public: bool, data: bytes) -> Attachment:
    att = Attachment(customer_id=customer.id, work_order_id=order.id, filename=name, content_type="image/png",
                     stored_name=f"{abs(hash((name, customer.id))):032x}"[-32:] + ".png", size_bytes=len(data),
                     public=public)
    path = uploads.attachment_path(att)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return att


def _customer_with_history(db, name: str, email: str, serial: str, *, closed: bool = True):
    """A customer with a portal login, an address, a unit, a request, a sent and a draft estimate, a work
    order with a public and an internal message and file, an issued and (unless ``closed``) a draft invoice."""
    customer = CustomerFactory(name=name, email=email, phone="+49 30 1234567", notes=f"{name} internal note")
    address = Address(customer_id=customer.id, line1=f"7 {name} Street", city="Berlin", postal_code="10115",
                      country="DE")
    db.session.add(address)
    unit = UnitFactory(customer=customer, serial_number=serial, notes="shop-only unit note")
    user = make_user("Customer", customer=customer, email=email)
    kind = ServiceTypeFactory()
    db.session.flush()
    customer.default_billing_address_id = address.id
    tag = serial[-3:]
    request = ServiceRequest(number=f"REQ-{tag}", customer_id=customer.id, service_type_id=kind.id,
                             subject="Fridge warm", summary=f"call {name} after five", status="resolved",
                             preferred_date=dt.date.today(), contact_name=name, contact_email=email)
    sent = Estimate(number=f"EST-{tag}1", customer_id=customer.id, status="approved", sent_at=utcnow())
    draft = Estimate(number=f"EST-{tag}2", customer_id=customer.id, status="cancelled")  # never sent
    order = WorkOrder(number=f"WO-{tag}", customer_id=customer.id, unit_id=unit.id,
                      status="completed" if closed else "in_progress", internal_notes="margin is thin here")
    db.session.add_all([request, sent, draft, order])
    db.session.flush()
    db.session.add_all([
        OrderMessage(work_order_id=order.id, side="customer", public=True, text=f"{name} here: ring twice"),
        OrderMessage(work_order_id=order.id, side="staff", public=False, text="internal: customer is difficult"),
        _attachment(customer, order, "fridge.png", True, b"\x89PNG public " + name.encode()),
        _attachment(customer, order, "staff-only.png", False, b"\x89PNG internal " + name.encode()),
        Invoice(number=f"INV-{tag}1", customer_id=customer.id, work_order_id=order.id, status="paid",
                issued_at=utcnow(), total=Decimal("119.00")),
    ])
    if not closed:
        db.session.add(Invoice(number=f"INV-{tag}2", customer_id=customer.id, status="draft"))
    db.session.commit()
    return {"customer": customer, "user": user, "order": order, "draft": draft, "sent": sent, "unit": unit}


@pytest.fixture()
def shop(db):
    klara = _customer_with_history(db, "Klara Fischer", "klara@example.com", "SER-KLARA-001")
    other = _customer_with_history(db, "Otto Other", "otto@example.com", SECRET_SERIAL)
    return {"klara": klara, "other": other, "advisor": make_user("Advisor"), "manager": make_user("Manager")}


def _zip(path_or_bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes)


def _everything(archive: zipfile.ZipFile) -> str:
    return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())


def _csv(archive: zipfile.ZipFile, name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(f"{name}.csv").decode("utf-8"))))


# --- export ----------------------------------------------------------------------------------------------------

def test_the_staff_export_holds_everything_about_the_customer_and_nothing_else(db, shop):
    klara = shop["klara"]["customer"]
    export = perform(klara, "privacy_export", actor(shop["advisor"]))
    path = export.write()
    try:
        archive = _zip(path)
        names = set(archive.namelist())
        assert {"data.json", "customer.csv", "contacts.csv", "addresses.csv", "units.csv", "requests.csv",
                "estimates.csv", "work_orders.csv", "messages.csv", "invoices.csv", "credit_notes.csv",
                "payments.csv", "shipments.csv", "bookings.csv", "notifications.csv", "audit.csv"} <= names
        files = sorted(n for n in names if n.startswith("files/"))
        assert [n.split("-", 1)[1] for n in files] == ["fridge.png", "staff-only.png"]
        assert archive.read(files[0]).startswith(b"\x89PNG public Klara")
        data = json.loads(archive.read("data.json"))
        assert data["copy"] == "full" and data["customer"] == privacy.customer_number(klara)
        assert data["entities"]["customer"][0]["notes"] == "Klara Fischer internal note"  # staff: everything
        assert {e["number"] for e in data["entities"]["estimates"]} == {"EST-0011", "EST-0012"}
        assert [c["email"] for c in _csv(archive, "contacts")] == ["klara@example.com"]
        assert _csv(archive, "units")[0]["serial_number"] == "SER-KLARA-001"
        text = _everything(archive)
        assert "Otto" not in text and SECRET_SERIAL not in text and "otto@example.com" not in text
        user = db.session.get(User, shop["klara"]["user"].id)
        assert user.password and user.password not in text and "password" not in archive.read("contacts.csv").decode()
        assert "stored_name" not in text and "token_hash" not in text
    finally:
        path.unlink()
    assert not path.exists()
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "privacy_export")).all()
    assert [(a.entity_id, a.reason, a.actor_id) for a in audit] == [(klara.id, "full copy", shop["advisor"].id)]


def test_a_formula_in_a_cell_is_not_run_by_a_spreadsheet(db, shop):
    klara = shop["klara"]["customer"]
    klara.phone = "=HYPERLINK(\"http://evil\")"
    db.session.commit()
    path = perform(klara, "privacy_export", actor(shop["advisor"])).write()
    try:
        assert _csv(_zip(path), "customer")[0]["phone"].startswith("'=")
    finally:
        path.unlink()


def test_the_customers_own_copy_from_the_portal_is_scoped(db, shop, login_as):
    klara = shop["klara"]
    portal = login_as(klara["user"])
    page = portal.get("/portal/profile").get_data(as_text=True)
    assert "Download my data" in page
    response = portal.post("/portal/profile/data")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Cache-Control"] == "no-store"
    archive = _zip(response.get_data())
    text = _everything(archive)
    assert "SER-KLARA-001" in text and "ring twice" in text and "INV-0011" in text
    for hidden in ("internal note", "shop-only unit note", "margin is thin", "customer is difficult",
                   "staff-only.png", "EST-0012", "Otto", SECRET_SERIAL):
        assert hidden not in text, hidden
    assert "audit.csv" not in archive.namelist() and "time_entries.csv" not in archive.namelist()
    assert [n.split("-", 1)[1] for n in archive.namelist() if n.startswith("files/")] == ["fridge.png"]
    assert json.loads(archive.read("data.json"))["copy"] == "customer"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "privacy_export"))
    assert event.entity_id == klara["customer"].id and event.actor_id == klara["user"].id
    note = db.session.scalar(select(Notification).where(Notification.event == "customer.privacy_export"))
    assert note.audience == "staff" and note.customer_id == klara["customer"].id


def test_a_customer_cannot_export_another_account(db, shop):
    me = actor(shop["klara"]["user"])
    with pytest.raises(NotFound) as refused:
        perform(shop["other"]["customer"], "privacy_export", me)
    assert refused.value.status_code == 404


def test_the_staff_screen_exports_and_offers_erasure_to_managers_only(db, shop, login_as):
    klara = shop["klara"]["customer"]
    screen = login_as(shop["advisor"])
    page = screen.get(f"/customerview/show/{klara.id}").get_data(as_text=True)
    assert 'data-action="privacy_export"' in page and 'data-action="erase"' not in page
    response = screen.post(f"/customerview/privacy/{klara.id}/export")
    assert response.status_code == 200 and "customer.csv" in _zip(response.get_data()).namelist()
    refused = screen.post(f"/customerview/privacy/{klara.id}/erase", data={"confirm": "Klara Fischer"},
                          follow_redirects=True)
    assert "Klara Fischer" == db.session.get(type(klara), klara.id).name and refused.status_code == 200
    screen = login_as(shop["manager"])
    page = screen.get(f"/customerview/show/{klara.id}").get_data(as_text=True)
    assert 'data-action="erase"' in page and "for 10 years" in page
    done = screen.post(f"/customerview/privacy/{klara.id}/erase", data={"confirm": "klara  fischer"},
                       follow_redirects=True)
    assert done.status_code == 200 and "personal data was erased" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(klara), klara.id).name == f"Erased customer C-{klara.id:06d}"


# --- erasure ---------------------------------------------------------------------------------------------------

def test_an_advisor_may_not_erase(db, shop):
    with pytest.raises(PermissionDenied) as refused:
        perform(shop["klara"]["customer"], "erase", actor(shop["advisor"]), {"confirm": "Klara Fischer"})
    assert refused.value.status_code == 403


def test_the_confirmation_must_name_the_customer(db, shop):
    with pytest.raises(ValidationFailed) as refused:
        perform(shop["klara"]["customer"], "erase", actor(shop["manager"]), {"confirm": "Otto Other"})
    assert "confirm" in refused.value.errors
    assert db.session.get(type(shop["klara"]["customer"]), shop["klara"]["customer"].id).name == "Klara Fischer"


def test_erasure_is_refused_while_work_is_open(db):
    open_ = _customer_with_history(db, "Olga Open", "olga@example.com", "SER-OLGA-002", closed=False)
    manager = actor(make_user("Manager"))
    before = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()))
    with pytest.raises(Conflict) as refused:
        perform(open_["customer"], "erase", manager, {"confirm": "Olga Open"})
    assert refused.value.status_code == 409
    assert "WO-002" in refused.value.message and "INV-0022" in refused.value.message
    db.session.expire_all()
    assert open_["customer"].name == "Olga Open" and open_["customer"].erased_at is None
    assert db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc())) == before


def test_erasure_anonymises_closes_logins_and_keeps_invoices_as_issued(db, shop):
    klara, manager = shop["klara"], actor(shop["manager"])
    customer, user = klara["customer"], klara["user"]
    perform(customer, "invite", actor(shop["advisor"]), {"email": "jonas@example.com", "name": "Jonas Fischer"})
    url = perform(customer, "login_link", actor(shop["advisor"]),
                  {"portal_user": db.session.scalar(select(PortalUser.id).where(PortalUser.user_id == user.id))})
    invoice = db.session.scalar(select(Invoice).where(Invoice.number == "INV-0011"))
    issued_to = context.invoice(invoice)["customer"]
    assert issued_to["name"] == "Klara Fischer" and "7 Klara Fischer Street" in issued_to["lines"]

    perform(customer, "erase", manager, {"confirm": "Klara Fischer"})
    db.session.expire_all()
    number = f"C-{customer.id:06d}"
    assert customer.name == f"Erased customer {number}" and customer.erased_at and customer.archived_at
    assert (customer.email, customer.phone, customer.notes) == (None, None, None)
    address = db.session.scalar(select(Address).where(Address.customer_id == customer.id))
    assert (address.line1, address.city, address.postal_code) == ("—", "—", "—") and address.archived_at
    unit = db.session.get(type(klara["unit"]), klara["unit"].id)
    assert unit.serial_number is None and unit.notes is None and unit.archived_at
    request = db.session.scalar(select(ServiceRequest).where(ServiceRequest.customer_id == customer.id))
    assert (request.contact_name, request.contact_email, request.summary) == (None, None, None)
    texts = {m.side: m.text for m in db.session.scalars(select(OrderMessage).where(
        OrderMessage.work_order_id == klara["order"].id))}
    assert texts["customer"] == privacy.ERASED and texts["staff"].startswith("internal")
    # the invoice still shows the recipient as issued; the customer's page and lists do not
    kept = context.invoice(db.session.get(Invoice, invoice.id))["customer"]
    assert kept["name"] == "Klara Fischer" and "7 Klara Fischer Street" in kept["lines"]
    assert db.session.get(Invoice, invoice.id).total == Decimal("119.00")
    # the logins are closed, their link is void and the addresses are free again
    for link in db.session.scalars(select(PortalUser).where(PortalUser.customer_id == customer.id)):
        assert not link.user.active and link.user.email.endswith("@erased.invalid")
        assert "Fischer" not in (link.user.last_name or "") and "klara" not in link.user.username
    assert portal_auth.find_token(url.rsplit("/", 1)[1]) is None
    assert db.session.scalar(select(LoginToken.id).where(LoginToken.revoked_at.is_(None),
                                                         LoginToken.user_id == user.id)) is None
    assert all("klara@" not in m.to_address and "jonas@" not in m.to_address
               for m in db.session.scalars(select(OutboxEmail)))
    newcomer = CustomerFactory(name="Somebody else")
    db.session.commit()
    assert perform(newcomer, "invite", actor(shop["advisor"]), {"email": "klara@example.com"}).created
    # the audit trail stays, with who, when and what, and without the erased data
    rows = db.session.scalars(select(AuditEvent).where(privacy.audit_of(customer.id))).all()
    assert {"invite", "login_link", "erase"} <= {row.action for row in rows}
    for row in rows:
        for value in ("Klara", "klara@", "jonas@", "Jonas", "1234567"):
            assert value not in (row.reason or "") and value not in row.actor_label, (row.action, row.reason)
    erase_row = next(row for row in rows if row.action == "erase")
    assert erase_row.actor_id == shop["manager"].id and "10 years" in erase_row.reason
    # nothing of the other customer changed; an erased customer is not erased or restored again
    assert db.session.get(type(customer), shop["other"]["customer"].id).name == "Otto Other"
    with pytest.raises(InvalidTransition):
        perform(customer, "erase", manager, {"confirm": customer.name})
    with pytest.raises(InvalidTransition):
        perform(customer, "restore", manager)
    assert "erase" not in customers.TABLE.allowed_actions(customers.TABLE.state(customer), manager, customer)


def test_uploads_are_removed_after_the_commit_only(db, shop):
    klara, manager = shop["klara"], actor(shop["manager"])
    paths = [uploads.attachment_path(a) for a in db.session.scalars(
        select(Attachment).where(Attachment.customer_id == klara["customer"].id))]
    others = [uploads.attachment_path(a) for a in db.session.scalars(
        select(Attachment).where(Attachment.customer_id == shop["other"]["customer"].id))]
    assert len(paths) == 2 and all(p.exists() for p in paths + others)
    seen = []

    def fail_after_the_effect(customer, who, result):
        seen.append(all(p.exists() for p in paths))  # inside the transaction: still on disk
        raise RuntimeError("the disk is full")

    customers.TABLE.after("erase", fail_after_the_effect)
    try:
        with pytest.raises(RuntimeError):
            perform(klara["customer"], "erase", manager, {"confirm": "Klara Fischer"})
    finally:
        customers.TABLE._after["erase"].remove(fail_after_the_effect)
    db.session.expire_all()
    assert seen == [True] and all(p.exists() for p in paths)  # rolled back: the files and the rows stay
    assert klara["customer"].name == "Klara Fischer"
    assert {a.filename for a in db.session.scalars(select(Attachment).where(
        Attachment.customer_id == klara["customer"].id))} == {"fridge.png", "staff-only.png"}

    perform(klara["customer"], "erase", manager, {"confirm": "Klara Fischer"})
    assert not any(p.exists() for p in paths) and all(p.exists() for p in others)
    rows = db.session.scalars(select(Attachment).where(Attachment.customer_id == klara["customer"].id)).all()
    assert len(rows) == 2 and {r.filename for r in rows} == {privacy.ERASED} and not any(r.public for r in rows)
