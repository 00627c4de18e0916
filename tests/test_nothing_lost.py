"""Nothing lost (issue 11): no path deletes a shop's history; rows that history names are archived.

The same rule is tried on every path: raw SQL (the database refuses), the ORM (the flush guard refuses), the
generated staff screens (the list's delete, a forged POST, the bulk actions), the REST API and the portal.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError

from app.core.errors import Conflict
from app.models import (
    Address,
    AuditEvent,
    Customer,
    Invoice,
    InvoiceLine,
    Payment,
    ServiceLocation,
    ServiceRequest,
    ServiceType,
    ShippingMethod,
    Unit,
)
from app.services import history, invoices, requests, work_orders
from app.services.workflow import perform
from tests.api_support import api_as
from tests.factories import (
    AddressFactory,
    CustomerFactory,
    ServiceLocationFactory,
    ServiceTypeFactory,
    ShippingMethodFactory,
    UnitFactory,
    actor,
    make_user,
)


def _shop(db):
    """Klara Fischer with a unit, an address, a request and a work order, invoiced and paid."""
    advisor = make_user("Advisor")
    technician = make_user("Technician")
    klara = CustomerFactory(name="Klara Fischer")
    login = make_user("Customer", customer=klara)
    unit = UnitFactory(customer=klara, make="VW", model="Caddy")
    address = AddressFactory(customer=klara, line1="Hafenstrasse 1")
    service_type, location, method = ServiceTypeFactory(), ServiceLocationFactory(), ShippingMethodFactory()
    db.session.commit()
    staff = actor(advisor)
    req = requests.submit(actor(login), service_type_id=service_type.id, service_location_id=location.id,
                          subject="Brakes squeal", preferred_date=dt.date.today() + dt.timedelta(days=3),
                          preferred_slot="morning", unit_id=unit.id, address_id=address.id)
    order = work_orders.create(staff, customer_id=klara.id, unit_id=unit.id, kind="repair", service_request_id=req.id,
                               service_location_id=location.id, shipping_method_id=method.id,
                               technician_id=technician.id)
    return dict(advisor=advisor, technician=technician, klara=klara, login=login, unit=unit, address=address,
                service_type=service_type, location=location, method=method, req=req, order=order, staff=staff)


def _invoice(db, shop, paid: bool = True) -> Invoice:
    invoice = Invoice(customer_id=shop["klara"].id, work_order_id=shop["order"].id)
    invoice.lines.append(InvoiceLine(kind="labour", description="Brakes", quantity=Decimal("1.00"),
                                     unit_price=Decimal("100.00")))
    invoices.prepare_new(invoice, shop["staff"])
    db.session.commit()
    perform(invoice, "submit", shop["staff"])
    if paid:
        perform(invoice, "payments", shop["staff"], {"amount": str(invoice.total), "method": "cash"})
    return invoice


def _raw_delete(db, table: str, ident: int) -> None:
    with db.engine.connect() as conn:
        with conn.begin():
            conn.execute(text(f"DELETE FROM {table} WHERE id = :id"), {"id": ident})


# --- 1. the database refuses ------------------------------------------------------------------------------

def test_history_foreign_keys_are_restrict_in_the_migrated_database(db):
    """The schema the migrations built (not only the models) says ON DELETE RESTRICT."""
    from flask_appbuilder import Model

    inspector = inspect(db.engine)
    expected = {(t.name, fk.parent.name) for t in Model.metadata.sorted_tables for fk in t.foreign_keys
                if fk.ondelete == "RESTRICT"}
    assert len(expected) >= 40
    found = set()
    for table in {name for name, _ in expected}:
        for fk in inspector.get_foreign_keys(table):
            if (fk.get("options") or {}).get("ondelete", "").upper() == "RESTRICT":
                found.update((table, column) for column in fk["constrained_columns"])
    assert expected <= found, sorted(expected - found)


@pytest.mark.parametrize("kind", ["customer", "unit", "address", "ab_user", "service_type", "service_location",
                                  "shipping_method", "work_order", "invoice", "service_request"])
def test_the_database_refuses_to_delete_what_history_names(db, kind):
    shop = _shop(db)
    _invoice(db, shop)
    ident = {"customer": shop["klara"].id, "unit": shop["unit"].id, "address": shop["address"].id,
             "ab_user": shop["technician"].id, "service_type": shop["service_type"].id,
             "service_location": shop["location"].id, "shipping_method": shop["method"].id,
             "work_order": shop["order"].id, "invoice": db.session.scalar(select(Invoice.id)),
             "service_request": shop["req"].id}[kind]
    db.session.commit()
    db.session.close()
    with pytest.raises(DBAPIError):
        _raw_delete(db, kind, ident)
    assert db.session.scalar(text(f"SELECT count(*) FROM {kind} WHERE id = :id"), {"id": ident}) == 1


def test_the_unit_of_work_refuses_to_delete_history(db):
    shop = _shop(db)
    invoice = _invoice(db, shop)
    for record in (shop["order"], invoice, invoice.payments[0], shop["req"]):
        db.session.delete(record)
        with pytest.raises(Conflict):
            db.session.flush()
        db.session.rollback()
    assert db.session.scalar(select(func.count(Payment.id))) == 1


# --- 2. archive, not delete --------------------------------------------------------------------------------

def test_api_delete_with_history_is_409_naming_what_holds_it(db, client):
    shop = _shop(db)
    _invoice(db, shop)
    api = api_as(client, shop["advisor"])
    refused = api.delete(f"/customer/{shop['klara'].id}")
    assert refused.status_code == 409
    message = refused.get_json()["message"]
    assert message.startswith("Klara Fischer has ") and message.endswith(": archive instead.")
    assert "1 work order" in message and "1 invoice" in message and "1 service request" in message
    unit = api.delete(f"/unit/{shop['unit'].id}")
    assert unit.status_code == 409 and "1 work order" in unit.get_json()["message"]
    assert db.session.get(Customer, shop["klara"].id) is not None


def test_a_row_nothing_names_is_deleted_and_the_delete_is_audited(db, client):
    advisor = make_user("Advisor")
    spare = CustomerFactory(name="Typo Customer")
    unit = UnitFactory(customer=spare)
    db.session.commit()
    api = api_as(client, advisor)
    assert api.put(f"/unit/{unit.id}", json={"make": "Fixed"}).status_code == 200  # an audited edit
    assert api.delete(f"/customer/{spare.id}").status_code == 200
    db.session.expire_all()
    assert db.session.get(Customer, spare.id) is None and db.session.get(Unit, unit.id) is None
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "customer",
                                                         AuditEvent.entity_id == spare.id)).all()
    assert [e.action for e in events] == ["delete"] and events[0].reason == "Typo Customer"
    kept = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "unit")).all()
    assert kept and all(e.customer_id is None for e in kept)  # the unit's history stays, unlinked


def test_archive_and_restore_through_the_api(db, client):
    shop = _shop(db)
    api = api_as(client, shop["advisor"])
    archived = api.post(f"/customer/{shop['klara'].id}/archive", json={})
    assert archived.status_code == 200 and archived.get_json()["result"]["archived_at"]
    listed = api.get("/customer/").get_json()
    assert shop["klara"].id not in listed["ids"]
    only = api.get("/customer/", q={"filters": [{"col": "archived", "opr": "eq", "value": True}]}).get_json()
    assert only["ids"] == [shop["klara"].id]
    assert api.get(f"/customer/{shop['klara'].id}").status_code == 200  # still readable by id
    assert api.post(f"/customer/{shop['klara'].id}/archive", json={}).status_code == 409
    restored = api.post(f"/customer/{shop['klara'].id}/restore", json={})
    assert restored.status_code == 200 and restored.get_json()["result"]["archived_at"] is None
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "customer")).all()
    assert "archive" in actions and "restore" in actions
    bad = api.get("/customer/", q={"filters": [{"col": "archived", "opr": "ct", "value": "x"}]})
    assert bad.status_code == 400


def test_the_generated_screen_refuses_delete_and_archives_instead(db, client, login_as):
    shop = _shop(db)
    _invoice(db, shop)
    manager = make_user("Manager")
    db.session.commit()
    screen = login_as(manager)
    page = screen.get(f"/customerview/show/{shop['klara'].id}").get_data(as_text=True)
    assert "it can be archived, not deleted" in page and "1 work order" in page
    response = screen.post(f"/customerview/delete/{shop['klara'].id}", follow_redirects=True)
    assert response.status_code == 200
    assert "Klara Fischer has" in response.get_data(as_text=True)
    assert db.session.get(Customer, shop["klara"].id) is not None
    # the work order's PDF still renders with its customer and unit
    pdf = screen.get(f"/documents/work_order/{shop['order'].id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # bulk archive from the list
    response = screen.post("/customerview/action_post", data={"action": "archive",
                                                              "rowid": [str(shop["klara"].id)]},
                           follow_redirects=True)
    assert "Archived: Klara Fischer." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Customer, shop["klara"].id).archived_at is not None
    assert "Klara Fischer" not in screen.get("/customerview/list/").get_data(as_text=True)
    assert "Klara Fischer" in screen.get("/customerview/list/?archived=1").get_data(as_text=True)
    assert "Klara Fischer" in screen.get(f"/workorderview/show/{shop['order'].id}").get_data(as_text=True)
    # an archived customer is not offered on a new work order
    assert "Klara Fischer" not in screen.get("/workorderview/add").get_data(as_text=True)
    assert screen.get(f"/documents/work_order/{shop['order'].id}.pdf").status_code == 200
    page = screen.get(f"/customerview/show/{shop['klara'].id}").get_data(as_text=True)
    assert "Archived" in page and "Restore" in page
    assert "<td>Archive</td>" in page  # the record's history panel, the action in words
    screen.post("/customerview/action_post", data={"action": "restore", "rowid": [str(shop["klara"].id)]})
    db.session.expire_all()
    assert db.session.get(Customer, shop["klara"].id).archived_at is None


def test_the_screen_deletes_a_row_nothing_names(db, login_as):
    manager = make_user("Manager")
    unused = ServiceTypeFactory(name="Never used")
    db.session.commit()
    screen = login_as(manager)
    page = screen.get(f"/servicetypeview/show/{unused.id}").get_data(as_text=True)
    assert "it can still be deleted" in page
    response = screen.post(f"/servicetypeview/delete/{unused.id}", follow_redirects=True)
    assert "Never used was deleted." in response.get_data(as_text=True)
    assert db.session.get(ServiceType, unused.id) is None


def test_reference_rows_archive_and_leave_the_pickers(db, login_as):
    shop = _shop(db)
    manager = make_user("Manager")
    db.session.commit()
    screen = login_as(manager)
    for view, row in (("servicetypeview", shop["service_type"]), ("servicelocationview", shop["location"]),
                      ("shippingmethodview", shop["method"])):
        refused = screen.post(f"/{view}/delete/{row.id}", follow_redirects=True).get_data(as_text=True)
        assert "archive instead" in refused, view
        screen.post(f"/{view}/action_post", data={"action": "archive", "rowid": [str(row.id)]})
    db.session.expire_all()
    assert not db.session.get(ServiceLocation, shop["location"].id).active
    assert not db.session.get(ShippingMethod, shop["method"].id).active
    assert shop["location"].name not in screen.get("/workorderview/add").get_data(as_text=True)
    assert "Archived" in screen.get(f"/servicelocationview/show/{shop['location'].id}").get_data(as_text=True)


def test_an_archived_customers_portal_users_cannot_log_in(db, client):
    from app.services import portal_auth

    shop = _shop(db)
    api = api_as(client, shop["advisor"])
    assert api.post(f"/customer/{shop['klara'].id}/archive", json={}).status_code == 200
    assert portal_auth.is_locked(shop["login"])
    response = client.post("/api/v1/security/login", json={"username": shop["login"].username,
                                                           "password": "test-password-1", "provider": "db"})
    assert response.status_code in (401, 403)
    assert db.session.get(ServiceRequest, shop["req"].id) is not None  # their data stays


def test_the_portal_removes_an_address_in_use_by_archiving_it(db, client, login_as):
    shop = _shop(db)
    portal = login_as(shop["login"])
    response = portal.post(f"/portal/profile/addresses/{shop['address'].id}/delete", follow_redirects=True)
    assert "removed from your list" in response.get_data(as_text=True)
    db.session.expire_all()
    address = db.session.get(Address, shop["address"].id)
    assert address is not None and address.archived_at is not None
    assert "Hafenstrasse 1" not in portal.get("/portal/profile").get_data(as_text=True)
    assert "Hafenstrasse 1" in portal.get(f"/portal/requests/{shop['req'].id}").get_data(as_text=True)


def test_holders_are_counted_from_the_schema(db):
    shop = _shop(db)
    found = dict(history.holders(shop["klara"]))
    assert found["work_order"] == 1 and found["service_request"] == 1 and found["portal_user"] == 1
    assert "audit_event" not in found  # a customer's own audit lines are unlinked on delete, never a holder
    assert dict(history.holders(shop["technician"]))["work_order"] == 1


# --- 3. closed documents are closed ------------------------------------------------------------------------

def test_lines_of_an_issued_invoice_cannot_change_on_any_path(db, client, login_as):
    shop = _shop(db)
    invoice = _invoice(db, shop, paid=False)
    line = invoice.lines[0]
    manager = make_user("Manager")
    db.session.commit()
    screen = login_as(manager)
    response = screen.post(f"/invoicelineview/edit/{line.id}", data={"description": "Cheaper", "quantity": "1",
                                                                     "unit_price": "1.00", "kind": "labour"})
    assert response.status_code < 500
    response = screen.post(f"/invoicelineview/delete/{line.id}", follow_redirects=True)
    assert response.status_code < 500
    assert "Cannot change the lines of this invoice: it is open." in response.get_data(as_text=True)
    db.session.expire_all()
    line = db.session.get(InvoiceLine, line.id)
    assert line is not None and line.unit_price == Decimal("100.00") and line.description == "Brakes"
    line.unit_price = Decimal("1.00")
    with pytest.raises(Conflict):
        db.session.flush()
    db.session.rollback()


def test_a_recorded_payment_cannot_be_changed(db):
    shop = _shop(db)
    invoice = _invoice(db, shop)
    payment = invoice.payments[0]
    payment.amount = Decimal("1.00")
    with pytest.raises(Conflict):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(Payment, payment.id).amount == invoice.total


def test_a_user_history_names_is_archived_not_deleted(db, client, login_as):
    shop = _shop(db)
    admin = make_user("Admin")
    db.session.commit()
    screen = login_as(admin)
    technician = shop["technician"]
    refused = screen.post(f"/users/delete/{technician.id}", follow_redirects=True).get_data(as_text=True)
    assert "has 1 work order" in refused and "archive instead" in refused
    page = screen.get(f"/users/show/{technician.id}").get_data(as_text=True)
    assert "it can be archived, not deleted" in page
    screen.post("/users/action_post", data={"action": "archive", "rowid": [str(technician.id)]})
    db.session.expire_all()
    assert db.session.get(type(technician), technician.id).active is False
    assert technician.username not in screen.get("/users/list/").get_data(as_text=True)
    assert technician.username in screen.get("/users/list/?archived=1").get_data(as_text=True)
    assert client.post("/api/v1/security/login", json={"username": technician.username,
                                                       "password": "test-password-1",
                                                       "provider": "db"}).status_code == 401
    unused = make_user("Advisor")
    db.session.commit()
    screen.post(f"/users/delete/{unused.id}")
    db.session.expire_all()
    assert db.session.get(type(unused), unused.id) is None


def test_a_closed_documents_lines_show_no_edit_or_delete_control(db, login_as):
    shop = _shop(db)
    invoice = _invoice(db, shop, paid=False)
    draft = Invoice(customer_id=shop["klara"].id)
    draft.lines.append(InvoiceLine(kind="labour", description="Draft line", quantity=Decimal("1.00"),
                                   unit_price=Decimal("10.00")))
    invoices.prepare_new(draft, shop["staff"])
    manager = make_user("Manager")
    db.session.commit()
    screen = login_as(manager)
    closed = screen.get(f"/invoiceview/show/{invoice.id}").get_data(as_text=True)
    assert "Brakes" in closed
    assert "/invoicelineview/edit/" not in closed and "/invoicelineview/delete/" not in closed
    assert "/invoicelineview/add" not in closed
    open_ = screen.get(f"/invoiceview/show/{draft.id}").get_data(as_text=True)
    assert "Draft line" in open_ and f"/invoicelineview/edit/{draft.lines[0].id}" in open_


# --- credit notes: a paid invoice is corrected, never edited ------------------------------------------------

def test_a_paid_invoice_is_corrected_by_a_credit_note_on_every_path(db, client, login_as):
    import io

    from pypdf import PdfReader

    from app.models import CreditNote, OutboxEmail
    from app.reports import CATALOGUE

    shop = _shop(db)
    invoice = _invoice(db, shop)
    assert invoice.status == "paid"
    api = api_as(client, shop["advisor"])
    assert api.post(f"/invoice/{invoice.id}/credit", json={}).status_code == 422  # a reason is required
    answer = api.post(f"/invoice/{invoice.id}/credit", json={"reason": "Goodwill: brakes redone"})
    assert answer.status_code == 200, answer.get_json()
    note = db.session.get(CreditNote, answer.get_json()["credit_note"])
    assert note.number == "CN-000001" and note.invoice_id == invoice.id
    assert note.total == -invoice.total and all(line.unit_price < 0 for line in note.lines)
    again = api.post(f"/invoice/{invoice.id}/credit", json={"reason": "Twice"})
    assert again.status_code == 422 and "credited already" in again.get_json()["message"]["lines"][0]
    shown = api.get(f"/invoice/{invoice.id}").get_json()["result"]
    assert shown["credited"] == str(invoice.total) and shown["credit_notes"][0]["number"] == "CN-000001"
    assert db.session.get(Invoice, invoice.id).status == "paid"  # the invoice itself is untouched
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "credit"))
    assert db.session.scalar(select(func.count(OutboxEmail.id)).where(OutboxEmail.subject.contains("CN-000001")))
    # documents: the staff's and the customer's
    screen = login_as(shop["advisor"])
    pdf = screen.get(f"/documents/credit_note/{note.id}.pdf")
    assert pdf.status_code == 200
    text_of = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "CN-000001" in text_of and invoice.number in text_of and "Goodwill" in text_of
    invoice_pdf = screen.get(f"/documents/invoice/{invoice.id}.pdf")
    assert "CN-000001" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(invoice_pdf.data)).pages)
    portal = login_as(shop["login"])
    page = portal.get(f"/portal/invoices/{invoice.id}").get_data(as_text=True)
    assert "CN-000001" in page
    assert portal.get(f"/portal/credit_notes/{note.id}/pdf").status_code == 200
    other = make_user("Customer", customer=CustomerFactory())
    db.session.commit()
    assert login_as(other).get(f"/portal/credit_notes/{note.id}/pdf").status_code == 404
    # the revenue report nets it out
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    result = CATALOGUE["revenue"].run(db.session, now - dt.timedelta(days=1), now + dt.timedelta(days=1),
                                      zone=dt.UTC, now=now)
    summary = dict(result.summary)
    assert summary["Invoiced"] == "0.00" and summary["Credited"] == f"{invoice.total:.2f}"
    assert summary["Invoices"] == "1"


def test_a_partial_credit_note_takes_back_only_the_chosen_lines(db, client):
    shop = _shop(db)
    invoice = Invoice(customer_id=shop["klara"].id, work_order_id=shop["order"].id)
    for description, price in (("Brakes", "100.00"), ("Wipers", "20.00")):
        invoice.lines.append(InvoiceLine(kind="labour", description=description, quantity=Decimal("1.00"),
                                         unit_price=Decimal(price)))
    invoices.prepare_new(invoice, shop["staff"])
    db.session.commit()
    perform(invoice, "submit", shop["staff"])
    perform(invoice, "payments", shop["staff"], {"amount": str(invoice.total), "method": "card"})
    api = api_as(client, shop["advisor"])
    wipers = invoice.lines[1].id
    assert api.post(f"/invoice/{invoice.id}/credit", json={"reason": "x", "lines": [999999]}).status_code == 422
    answer = api.post(f"/invoice/{invoice.id}/credit", json={"reason": "Wipers not fitted", "lines": [wipers]})
    assert answer.status_code == 200
    from app.models import CreditNote

    note = db.session.get(CreditNote, answer.get_json()["credit_note"])
    assert [line.description for line in note.lines] == ["Wipers"] and note.subtotal == Decimal("-20.00")
    assert api.post(f"/invoice/{invoice.id}/credit", json={"reason": "y", "lines": [wipers]}).status_code == 422
    rest = api.post(f"/invoice/{invoice.id}/credit", json={"reason": "Brakes too"})
    assert rest.status_code == 200
    assert [line.description for line in db.session.get(CreditNote, rest.get_json()["credit_note"]).lines] == [
        "Brakes"]
    unpaid = _invoice(db, shop, paid=False)
    refused = api.post(f"/invoice/{unpaid.id}/credit", json={"reason": "Not paid"})
    assert refused.status_code == 409  # an unpaid invoice is voided, not credited


def test_the_invoice_screen_offers_a_credit_note_once_paid(db, login_as):
    from app.models import CreditNote

    shop = _shop(db)
    invoice = _invoice(db, shop)
    manager = make_user("Manager")
    db.session.commit()
    screen = login_as(manager)
    page = screen.get(f"/invoiceview/show/{invoice.id}").get_data(as_text=True)
    assert f"/invoiceview/transition/{invoice.id}/credit" in page and "Issue credit note" in page
    line = invoice.lines[0].id
    response = screen.post(f"/invoiceview/transition/{invoice.id}/credit",
                           data={"reason": "Wrong part", "lines": [str(line)]}, follow_redirects=True)
    assert response.status_code == 200
    note = db.session.scalar(select(CreditNote))
    assert note is not None and [cn.invoice_line_id for cn in note.lines] == [line]


# --- 6. mid-transaction faults lose nothing and leave nothing ------------------------------------------------

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _files(root):
    from pathlib import Path

    root = Path(root)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
                  and not p.relative_to(root).as_posix().startswith("pending/"))


def test_a_failure_after_the_file_was_written_leaves_no_row_and_no_file(db, monkeypatch):
    from flask import current_app

    from app.models import Attachment
    from app.services import audit, uploads

    shop = _shop(db)
    root = current_app.config["PORTICO_UPLOAD_DIR"]
    before = _files(root)
    checked = uploads.CheckedFile("photo.pdf", "application/pdf", PDF_BYTES)

    def broken(*args, **kwargs):  # the audit line after the file and the row: the database fails there
        raise RuntimeError("database went away")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        perform(shop["order"], "attach", shop["staff"], {"file": checked})
    assert db.session.scalar(select(func.count(Attachment.id))) == 0
    assert _files(root) == before  # nothing staged, nothing stored
    monkeypatch.undo()
    att = perform(shop["order"], "attach", shop["staff"], {"file": checked})
    assert _files(root) == sorted([*before, f"{att.stored_name[:2]}/{att.stored_name}"])


def test_the_sweep_tidies_what_a_killed_worker_left(db):
    """A worker killed after writing a file but before its commit leaves a staged file no row names; one
    killed between the commit and the move leaves a committed row whose file is still staged."""
    import os
    import time
    from pathlib import Path

    from flask import current_app

    from app.services import uploads

    shop = _shop(db)
    root = Path(current_app.config["PORTICO_UPLOAD_DIR"])
    staging = root / uploads.STAGING
    staging.mkdir(parents=True, exist_ok=True)
    orphan = staging / ("a" * 32 + ".pdf")
    orphan.write_bytes(PDF_BYTES)
    stray = root / "bb" / ("b" * 32 + ".pdf")
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(PDF_BYTES)
    fresh = staging / ("c" * 32 + ".pdf")  # an upload still running: too young to touch
    fresh.write_bytes(PDF_BYTES)
    old = time.time() - 2 * uploads.ORPHAN_AGE
    for path in (orphan, stray):
        os.utime(path, (old, old))
    checked = uploads.CheckedFile("kept.pdf", "application/pdf", PDF_BYTES)
    att = perform(shop["order"], "attach", shop["staff"], {"file": checked})
    final = uploads.attachment_path(att)
    os.replace(final, staging / final.name)  # as if killed between the commit and the move
    assert uploads.sweep() == {"promoted": 1, "removed": 2}
    assert final.is_file() and not orphan.exists() and not stray.exists() and fresh.exists()
    with uploads.open_attachment(att) as handle:
        assert handle.read() == PDF_BYTES


def test_a_line_and_its_parents_totals_are_saved_together_or_not_at_all(db, login_as, monkeypatch):
    """The generated invoice-line screen takes the invoice's ``lines`` row inside FAB's own commit: when
    the parent's side fails half-way, the line is not saved either."""
    from app.services import workflow

    shop = _shop(db)
    draft = Invoice(customer_id=shop["klara"].id)
    draft.lines.append(InvoiceLine(kind="labour", description="First", quantity=Decimal("1.00"),
                                   unit_price=Decimal("10.00")))
    invoices.prepare_new(draft, shop["staff"])
    manager = make_user("Manager")
    db.session.commit()
    screen = login_as(manager)

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(workflow, "record", broken)  # the parent's audit line, after the line was flushed
    screen.post("/invoicelineview/add", data={"invoice": str(draft.id), "position": "2", "kind": "other",
                                              "description": "Half-way", "quantity": "1", "unit_price": "5.00"})
    monkeypatch.undo()
    db.session.expire_all()
    assert db.session.scalar(select(func.count(InvoiceLine.id)).where(InvoiceLine.description == "Half-way")) == 0
    assert db.session.get(Invoice, draft.id).subtotal == Decimal("10.00")
    screen.post("/invoicelineview/add", data={"invoice": str(draft.id), "position": "2", "kind": "other",
                                              "description": "Whole", "quantity": "1", "unit_price": "5.00"})
    db.session.expire_all()
    assert db.session.get(Invoice, draft.id).subtotal == Decimal("15.00")
