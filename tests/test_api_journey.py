"""The whole cycle of SPEC §3 through the REST API only, each step as the role that takes it would.

Only the reference data and the user accounts are made with factories; every request, estimate, order,
invoice and shipment is created and moved through ``/api/v1``.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from tests.api_support import api_as
from tests.factories import (
    CustomerFactory,
    ServiceLocationFactory,
    ServiceTypeFactory,
    ShippingMethodFactory,
    make_user,
)


def future(days: int = 3, hour: int = 10) -> str:
    day = dt.date.today() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, 0)).replace(tzinfo=dt.UTC).isoformat()


@pytest.fixture()
def shop(client, db):
    service_type = ServiceTypeFactory(name="Repair")
    location = ServiceLocationFactory(name="Main depot")
    method = ShippingMethodFactory(name="Courier")
    fleet = CustomerFactory(name="Arctic Refrigeration", kind="business", requires_invoice_authorization=True)
    people = {
        "advisor": make_user("Advisor"),
        "tech": make_user("Technician"),
        "customer": make_user("Customer", customer=fleet),
        "reseller": make_user("Reseller", customer=CustomerFactory(name="FixIt Resellers", kind="reseller")),
    }
    db.session.commit()
    apis = {role: api_as(client, user) for role, user in people.items()}
    return {"service_type": service_type.id, "location": location.id, "method": method.id, "fleet": fleet.id,
            "users": people, **apis}


def ok(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def test_request_estimate_dispute_revision_approval_work_invoice_payment(shop):
    customer, advisor, tech = shop["customer"], shop["advisor"], shop["tech"]

    # The customer asks for service; the account is theirs whatever the body says.
    created = ok(customer.post("/service_request/", json={
        "service_type": shop["service_type"], "subject": "Truck 3 cooling unit fails",
        "summary": "Compressor clicks, no cooling.", "preferred_date": (dt.date.today() + dt.timedelta(days=2))
        .isoformat(), "preferred_slot": "morning"}), 201)
    req = created["result"]
    assert req["status"] == "new" and req["number"].startswith("REQ-") and req["customer"] == shop["fleet"]

    # Booking: the shop proposes another time, the customer accepts it.
    proposed = ok(advisor.post(f"/service_request/{req['id']}/propose", json={"start": future(4)}))
    assert proposed["result"]["status"] == "time_proposed"
    accepted = ok(customer.post(f"/service_request/{req['id']}/accept_time"))["result"]
    assert accepted["status"] == "accepted" and accepted["scheduled_start"].endswith("+00:00")

    # An estimate with one labour line and a part under it.
    est_id = ok(advisor.post(f"/service_request/{req['id']}/estimate"))["estimate_id"]
    draft = ok(advisor.put(f"/estimate/{est_id}", json={"labour_lines": [
        {"description": "Replace compressor relay", "hours": "1.5", "rate": 95,
         "parts": [{"part_number": "RL-22", "description": "Relay", "quantity": 1, "unit_price": "48.00"}]}]}))
    est = draft["result"]
    assert est["status"] == "draft" and est["subtotal"] == "190.50" and est["revision"] == 1
    assert Decimal(est["total"]) == Decimal(est["subtotal"]) + Decimal(est["tax"])
    assert customer.get(f"/estimate/{est_id}").status_code == 404  # a draft is still the shop's

    assert ok(advisor.post(f"/estimate/{est_id}/submit"))["result"]["status"] == "sent"

    # The customer disputes the labour line; the shop acknowledges and answers in the log.
    sent = ok(customer.get(f"/estimate/{est_id}"))["result"]
    labour = sent["labour_lines"][0]
    assert labour["parts"][0]["unit_price"] == "48.00"
    disputed = ok(customer.post(f"/estimate/{est_id}/dispute", json={
        "note": "Too many hours", "lines": [{"kind": "labour", "id": labour["id"], "note": "One hour at most"}]}))
    assert disputed["result"]["status"] == "disputed"
    assert disputed["result"]["labour_lines"][0]["disputed"] is True
    ok(advisor.post(f"/estimate/{est_id}/acknowledge"))
    ok(advisor.post(f"/estimate/{est_id}/notes", json={"text": "Agreed: one hour."}))
    log = ok(customer.get(f"/estimate/{est_id}/notes"))["result"]
    assert [n["side"] for n in log] == ["customer", "customer", "staff"]
    assert log[-1]["text"] == "Agreed: one hour."

    # Revision 2 replaces it; the new draft gets the agreed hours and goes out again.
    revised_id = ok(advisor.post(f"/estimate/{est_id}/revise"))["estimate_id"]
    assert ok(advisor.get(f"/estimate/{est_id}"))["result"]["status"] == "superseded"
    revised = ok(advisor.get(f"/estimate/{revised_id}"))["result"]
    assert (revised["number"], revised["revision"]) == (est["number"], 2)
    assert revised["display_number"] == f"{est['number']}-R2" and revised["previous"] == est_id
    ok(advisor.put(f"/estimate/{revised_id}", json={"labour_lines": [
        {"description": "Replace compressor relay", "hours": "1", "rate": "95",
         "parts": [{"part_number": "RL-22", "description": "Relay", "quantity": "1", "unit_price": 48}]}]}))
    assert ok(advisor.post(f"/estimate/{revised_id}/submit"))["result"]["subtotal"] == "143.00"
    assert len(ok(customer.get(f"/estimate/{revised_id}/notes"))["result"]) == 3  # one log across revisions

    # Approval creates the work order and resolves the request.
    order_id = ok(customer.post(f"/estimate/{revised_id}/approve"))["work_order_id"]
    assert ok(customer.get(f"/service_request/{req['id']}"))["result"]["status"] == "resolved"
    order = ok(customer.get(f"/work_order/{order_id}"))["result"]
    assert order["status"] == "confirmed" and order["estimate"] == revised_id
    assert "internal_notes" not in order and "time_entries" not in order

    # Work: received, a technician clocks on (and so takes the order), off, and marks it ready.
    assert ok(advisor.post(f"/work_order/{order_id}/receive"))["result"]["status"] == "received"
    board = ok(tech.get("/work_order/"))
    assert order_id in board["ids"]
    seen_by_tech = ok(tech.get(f"/work_order/{order_id}"))["result"]
    assert seen_by_tech["items"] and all("unit_price" not in i and "amount" not in i for i in seen_by_tech["items"])
    clocked = ok(tech.post(f"/work_order/{order_id}/clock_on", json={"note": "Starting"}))["result"]
    assert clocked["status"] == "in_progress" and clocked["technician"] == shop["users"]["tech"].id
    ok(tech.post(f"/work_order/{order_id}/clock_off"))
    ok(customer.post(f"/work_order/{order_id}/messages", json={"text": "Please call before you finish."}))
    ok(tech.post(f"/work_order/{order_id}/messages", json={"text": "Relay was burnt", "public": False}))
    assert [m["text"] for m in ok(customer.get(f"/work_order/{order_id}/messages"))["result"]] == [
        "Please call before you finish."]
    assert len(ok(advisor.get(f"/work_order/{order_id}/messages"))["result"]) == 2
    assert ok(tech.post(f"/work_order/{order_id}/ready"))["result"]["status"] == "ready"
    assert ok(advisor.post(f"/work_order/{order_id}/complete"))["result"]["status"] == "completed"

    # Invoice: this customer authorizes invoices before they are due; then it is paid in two parts.
    invoice_id = ok(advisor.post(f"/work_order/{order_id}/invoice"))["invoice_id"]
    assert customer.get(f"/invoice/{invoice_id}").status_code == 404  # draft
    submitted = ok(advisor.post(f"/invoice/{invoice_id}/submit"))["result"]
    assert submitted["status"] == "awaiting_authorization"
    assert ok(customer.post(f"/invoice/{invoice_id}/authorize"))["result"]["status"] == "open"
    total = Decimal(submitted["total"])
    first = (total / 2).quantize(Decimal("0.01"))
    part = ok(advisor.post(f"/invoice/{invoice_id}/payments", json={"amount": str(first), "method": "transfer"}))
    assert part["result"]["status"] == "open" and part["result"]["balance"] == f"{total - first:.2f}"
    ok(advisor.post(f"/invoice/{invoice_id}/payments", json={"amount": float(total - first), "method": "card",
                                                              "reference": "POS 7"}))
    paid = ok(customer.get(f"/invoice/{invoice_id}"))["result"]
    assert paid["status"] == "paid" and paid["balance"] == "0.00" and len(paid["payments"]) == 2


def test_staff_books_and_creates_work_directly_and_refusals_name_the_state(shop):
    customer, advisor = shop["customer"], shop["advisor"]
    body = {"service_type": shop["service_type"], "subject": "Annual inspection", "preferred_date":
            (dt.date.today() + dt.timedelta(days=3)).isoformat(), "preferred_slot": "custom", "preferred_time": "14:30"}
    req = ok(advisor.post("/service_request/", json={**body, "customer": shop["fleet"]}), 201)["result"]
    assert req["preferred_time"] == "14:30"
    confirmed = ok(advisor.post(f"/service_request/{req['id']}/confirm", json={"estimate": True}))
    assert confirmed["result"]["status"] == "accepted" and confirmed["estimate_id"]
    refused = advisor.post(f"/service_request/{req['id']}/confirm")
    assert refused.status_code == 409 and refused.get_json()["status"] == "accepted"
    assert customer.post(f"/service_request/{req['id']}/decline", json={"reason": "x"}).status_code == 409
    order_id = ok(advisor.post(f"/service_request/{req['id']}/work_order"))["work_order_id"]
    assert ok(advisor.get(f"/service_request/{req['id']}"))["result"]["status"] == "resolved"
    assert ok(customer.get(f"/work_order/{order_id}"))["result"]["status"] == "confirmed"

    other = ok(customer.post("/service_request/", json=body), 201)["result"]
    assert customer.post(f"/service_request/{other['id']}/confirm").status_code == 403  # staff's action
    declined = ok(advisor.post(f"/service_request/{other['id']}/decline", json={"reason": "No parts"}))
    assert declined["result"]["status"] == "rejected" and declined["result"]["decline_reason"] == "No parts"
    third = ok(customer.post("/service_request/", json=body), 201)["result"]  # still open: only the reason lacks
    missing = advisor.post(f"/service_request/{third['id']}/decline", json={})
    assert missing.status_code == 422 and "reason" in missing.get_json()["message"]


def test_estimate_created_with_its_lines_in_one_body(shop):
    advisor = shop["advisor"]
    req = ok(advisor.post("/service_request/", json={
        "customer": shop["fleet"], "service_type": shop["service_type"], "subject": "Door seal",
        "preferred_date": (dt.date.today() + dt.timedelta(days=1)).isoformat()}), 201)["result"]
    ok(advisor.post(f"/service_request/{req['id']}/confirm"))
    est = ok(advisor.post("/estimate/", json={"service_request": req["id"], "labour_lines": [
        {"description": "Fit seal", "hours": 2, "rate": "80.25", "parts": [
            {"description": "Seal", "quantity": "2", "unit_price": "12.50"}]},
        {"description": "Test run", "hours": "0.5", "rate": "80"}]}), 201)["result"]
    assert est["customer"] == shop["fleet"] and est["status"] == "draft" and est["number"].startswith("EST-")
    assert [line["amount"] for line in est["labour_lines"]] == ["160.50", "40.00"]
    assert est["labour_lines"][0]["parts"][0]["amount"] == "25.00"
    assert est["subtotal"] == "225.50"
    bad = advisor.post("/estimate/", json={"service_request": req["id"], "labour_lines": [
        {"description": "", "hours": "x", "rate": "1.234"}]})
    assert bad.status_code == 422
    assert set(bad.get_json()["message"]) == {"labour_lines.0.description", "labour_lines.0.hours",
                                              "labour_lines.0.rate"}


def test_reseller_orders_with_devices_ships_them_and_exports_csv(shop):
    reseller, advisor = shop["reseller"], shop["advisor"]
    orders = []
    for serial in ("SN-1", "SN-2"):
        made = ok(reseller.post("/work_order/", json={
            "kind": "repair", "fault": "Screen cracked", "customer_reference": f"R-{serial}",
            "device": {"kind": "device", "make": "Fairphone", "model": "5", "serial_number": serial},
            "service_location": shop["location"], "shipping_method": shop["method"]}), 201)["result"]
        assert made["status"] == "confirmed" and made["unit"]  # a reseller's order is confirmed at once
        orders.append(made["id"])
    bad_imei = reseller.post("/work_order/", json={"kind": "repair", "fault": "x", "device": {
        "make": "A", "model": "B", "imei": "490154203237519"}})
    assert bad_imei.status_code == 422 and "device.imei" in bad_imei.get_json()["message"]

    shipment = ok(reseller.post("/shipment/", json={"work_orders": orders}), 201)["result"]
    assert shipment["status"] == "draft" and sorted(shipment["work_orders"]) == sorted(orders)
    assert reseller.get(f"/shipment/{shipment['id']}/label.pdf").status_code == 409
    assert ok(reseller.post(f"/shipment/{shipment['id']}/confirm"))["result"]["status"] == "confirmed"
    assert reseller.post(f"/shipment/{shipment['id']}/receive").status_code == 403  # the shop receives
    assert ok(advisor.post(f"/shipment/{shipment['id']}/receive"))["result"]["status"] == "received"
    assert {ok(reseller.get(f"/work_order/{i}"))["result"]["status"] for i in orders} == {"received"}

    exported = reseller.get("/work_order/export.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert len(rows) == 1 + len(orders)
    assert shop["customer"].get("/work_order/export.csv").status_code == 403  # resellers and staff only


def test_documents_are_pdfs(shop):
    customer, advisor = shop["customer"], shop["advisor"]
    order = ok(advisor.post("/work_order/", json={"customer": shop["fleet"], "kind": "inspection",
                                                  "fault": "Yearly check"}), 201)["result"]
    pdf = customer.get(f"/work_order/{order['id']}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert order["number"] in pdf.headers["Content-Disposition"]
    assert shop["tech"].get(f"/work_order/{order['id']}/pdf").status_code == 403  # no prices for technicians
