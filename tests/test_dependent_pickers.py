"""Dependent pickers (issue 15, item 4): choosing a customer narrows units, addresses and requests to that
customer's — in the options the server renders and answers (``/pickers/…``), and when the form is saved."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import ServiceRequest, WorkOrder
from app.services import work_orders
from tests.factories import AddressFactory, CustomerFactory, ServiceTypeFactory, UnitFactory, actor, make_user


@pytest.fixture()
def two(db):
    advisor, tech = make_user("Advisor"), make_user("Technician")
    mine, theirs = CustomerFactory(name="Arctic Refrigeration"), CustomerFactory(name="Boiler Bros")
    units = {"mine": UnitFactory(customer=mine, serial_number="ARC-1"),
             "theirs": UnitFactory(customer=theirs, serial_number="BOIL-9")}
    AddressFactory(customer=mine, line1="1 Ice Lane")
    AddressFactory(customer=theirs, line1="9 Steam Street")
    service_type = ServiceTypeFactory(name="Fridge repair")
    db.session.commit()
    return {"advisor": advisor, "tech": tech, "mine": mine, "theirs": theirs, "units": units,
            "service_type": service_type}


def options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S)
    assert select, name
    return re.findall(r"<option[^>]*>([^<]*)</option>", select.group(0))


def test_the_picker_endpoint_answers_the_customer_s_rows(two, login_as):
    client = login_as(two["advisor"])
    units = client.get(f"/pickers/workorderview/unit?customer_id={two['mine'].id}").get_json()
    assert [u["id"] for u in units] == [two["units"]["mine"].id] and "ARC-1" in units[0]["text"]
    addresses = client.get(f"/pickers/servicerequestview/address?customer_id={two['theirs'].id}").get_json()
    assert len(addresses) == 1 and "9 Steam Street" in addresses[0]["text"]
    assert client.get("/pickers/workorderview/unit?customer_id=abc").status_code == 400
    assert client.get("/pickers/workorderview/unit?customer_id=99999999999").status_code == 400
    assert client.get(f"/pickers/nosuchview/unit?customer_id={two['mine'].id}").status_code == 404
    assert client.get(f"/pickers/workorderview/fault?customer_id={two['mine'].id}").status_code == 404
    assert client.get(f"/pickers/workorderview/unit?customer_id={two['mine'].id + 999}").get_json() == []
    assert login_as(two["tech"]).get(f"/pickers/workorderview/unit?customer_id={two['mine'].id}").status_code \
        == 403  # technicians add no work orders
    client.get("/logout/")
    assert client.get(f"/pickers/workorderview/unit?customer_id={two['mine'].id}").status_code == 401


def test_the_add_form_refuses_another_customer_s_unit_and_keeps_what_was_typed(two, login_as, db):
    client = login_as(two["advisor"])
    page = client.get("/workorderview/add").get_data(as_text=True)
    assert "staff-pickers.js" in page
    response = client.post("/workorderview/add", data={
        "customer": two["mine"].id, "kind": "repair", "unit": two["units"]["theirs"].id,
        "fault": "Compressor rattles at night"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Not a valid choice" in html
    assert "Compressor rattles at night" in html  # what was typed stays
    assert options(html, "unit") == ["—", str(two["units"]["mine"])]  # only the chosen customer's
    assert db.session.scalar(select(func.count(WorkOrder.id))) == 0
    for rubbish in ("99999999999", "-3", "__None", "x"):  # beyond 32 bits too: an answer, never a 500
        refused = client.post("/workorderview/add", data={"customer": rubbish, "kind": "repair",
                                                           "unit": two["units"]["mine"].id, "fault": "Odd"})
        assert refused.status_code == 200 and "Not a valid choice" in refused.get_data(as_text=True), rubbish
    ok = client.post("/workorderview/add", data={
        "customer": two["mine"].id, "kind": "repair", "unit": two["units"]["mine"].id, "fault": "Rattles"})
    assert ok.status_code == 302
    assert db.session.scalar(select(WorkOrder.unit_id)) == two["units"]["mine"].id


def test_edit_forms_offer_the_record_s_customer_s_rows_only(two, login_as, db):
    staff = actor(two["advisor"])
    order = work_orders.create(staff, customer_id=two["mine"].id, kind="repair", unit_id=two["units"]["mine"].id,
                               fault="Warm")
    request_row = ServiceRequest(number="REQ-PICK", customer_id=two["theirs"].id, service_type_id=two[
        "service_type"].id, subject="Boiler", status="new", preferred_slot="morning",
        preferred_date=order.created_at.date())
    _db.session.add(request_row)
    db.session.commit()
    client = login_as(two["advisor"])
    html = client.get(f"/workorderview/edit/{order.id}").get_data(as_text=True)
    assert options(html, "unit") == ["—", str(two["units"]["mine"])]
    html = client.get(f"/servicerequestview/edit/{request_row.id}").get_data(as_text=True)
    assert options(html, "unit") == ["—", str(two["units"]["theirs"])]
    addresses = [o for o in options(html, "address") if o != "—"]
    assert len(addresses) == 1 and "9 Steam Street" in addresses[0]
