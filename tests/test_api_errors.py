"""SPEC §6's error answers: 400 malformed, 401, 403, 404, 409 with the current status, 413, 422 per field.
Conflicts (duplicates, rows still in use, concurrent edits) answer 409 or 422, never 500, and every
error is JSON."""
from __future__ import annotations

import datetime as dt

import pytest
from flask_jwt_extended import create_access_token

from app.api import customers as customer_api
from tests.api_support import Api, api_as
from tests.factories import CustomerFactory, ServiceTypeFactory, UnitFactory, make_user


@pytest.fixture()
def staff(client, db):
    user = make_user("Advisor")
    db.session.commit()
    return api_as(client, user)


def test_malformed_bodies_are_400_in_json(staff):
    for data, content_type in (("{bad", "application/json"), ("[1, 2]", "application/json"),
                               ("name=x", "application/x-www-form-urlencoded"), ("", "application/json")):
        response = staff.post("/customer/", data=data, headers={"Content-Type": content_type})
        assert response.status_code == 400 and response.is_json, data
        assert response.get_json()["message"]
    assert staff.get("/customer/", query_string={"q": "(bad"}).status_code == 400
    assert staff.get("/customer/", q={"page": -1}).status_code == 400
    assert staff.get("/unit/", q={"filters": [{"col": "year", "opr": "eq", "value": "abc"}]}).status_code == 400
    assert staff.get("/unit/", q={"filters": [{"col": "customer", "opr": "rel_o_m", "value": "x"}]}).status_code \
        == 400


def test_too_large_bodies_are_413_in_json(app, staff, monkeypatch):
    monkeypatch.setitem(app.config, "PORTICO_API_MAX_BODY", 1000)
    response = staff.post("/customer/", json={"name": "x" * 2000})
    assert response.status_code == 413 and response.is_json
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 500)
    monkeypatch.setitem(app.config, "PORTICO_API_MAX_BODY", 10_000)
    response = staff.post("/customer/", json={"name": "y" * 800})
    assert response.status_code == 413 and response.is_json


def test_not_logged_in_is_401_in_json(app, client, db):
    assert Api(client, None).get("/customer/").status_code == 401
    assert Api(client, "not-a-token").get("/customer/").status_code == 401
    user = make_user("Advisor")
    db.session.commit()
    expired = create_access_token(identity=str(user.id), expires_delta=dt.timedelta(seconds=-5))
    response = Api(client, expired).get("/customer/")
    assert response.status_code == 401 and "expired" in response.get_json()["message"]


def test_unknown_ids_paths_and_methods_are_json(staff):
    for path in ("/customer/999999", "/estimate/0/submit", "/estimate/abc/submit", "/nothing-here"):
        response = staff.get(path) if not path.endswith("submit") else staff.post(path)
        assert response.status_code == 404 and response.is_json, path
    not_an_id = staff.get("/customer/abc")  # FAB's show route takes integers only; PUT and DELETE any string
    assert not_an_id.status_code in (404, 405) and not_an_id.is_json
    response = staff.client.patch("/api/v1/customer/1", headers=staff.headers())
    assert response.status_code == 405 and response.is_json


def test_validation_names_each_field(staff, db):
    service_type = ServiceTypeFactory()
    db.session.commit()
    response = staff.post("/service_request/", json={
        "customer": 999999, "service_type": service_type.id, "subject": "  ", "preferred_date": "tomorrow",
        "preferred_slot": "night", "colour": "red"})
    assert response.status_code == 422
    assert set(response.get_json()["message"]) == {"subject", "preferred_date", "preferred_slot", "colour"}
    response = staff.post("/unit/", json={"customer": 1, "make": "A", "year": 1200, "vin": "IOQ"})
    assert response.status_code == 422 and {"year", "vin"} <= set(response.get_json()["message"])
    customer = CustomerFactory()
    db.session.commit()
    for amount in ("1.234", "-5", "ten", True, None, "NaN", "1e12"):
        bad = staff.post("/estimate/", json={"customer": customer.id, "labour_lines": [
            {"description": "Work", "hours": 1, "rate": amount}]})
        assert bad.status_code == 422 and "labour_lines.0.rate" in bad.get_json()["message"], amount
    for amount, shown in (("12.5", "12.50"), (12.5, "12.50"), (7, "7.00"), ("0.10", "0.10")):
        good = staff.post("/estimate/", json={"customer": customer.id, "labour_lines": [
            {"description": "Work", "hours": 1, "rate": amount}]})
        assert good.status_code == 201 and good.get_json()["result"]["labour_lines"][0]["rate"] == shown


def test_unique_and_foreign_key_conflicts_are_not_500(staff, db, monkeypatch):
    customer = CustomerFactory()
    db.session.commit()
    first = staff.post("/unit/", json={"customer": customer.id, "make": "A", "unit_number": "T-1"})
    assert first.status_code == 201
    duplicate = staff.post("/unit/", json={"customer": customer.id, "make": "B", "unit_number": "T-1"})
    assert duplicate.status_code == 422 and "unit_number" in duplicate.get_json()["message"]
    # Had the check been raced, the unique constraint still answers a clean 409.
    monkeypatch.setattr(customer_api.UnitApi, "_check_number", lambda *a, **k: None)
    raced = staff.post("/unit/", json={"customer": customer.id, "make": "B", "unit_number": "T-1"})
    assert raced.status_code == 409 and raced.is_json

    order = staff.post("/work_order/", json={"customer": customer.id, "kind": "job",
                                             "unit": first.get_json()["id"]})
    assert order.status_code == 201
    in_use = staff.delete(f"/unit/{first.get_json()['id']}")
    assert in_use.status_code == 409 and "has 1 work order: archive instead" in in_use.get_json()["message"]
    assert staff.delete(f"/customer/{customer.id}").status_code == 409
    spare = UnitFactory(customer=customer)
    db.session.commit()
    assert staff.delete(f"/unit/{spare.id}").status_code == 200
    refused = staff.delete(f"/work_order/{order.get_json()['id']}")
    assert refused.status_code == 409 and refused.get_json()["status"] == "confirmed"


def test_transitions_not_allowed_name_the_current_status(staff, db):
    customer = CustomerFactory()
    db.session.commit()
    order = staff.post("/work_order/", json={"customer": customer.id, "kind": "job"}).get_json()["result"]
    refused = staff.post(f"/work_order/{order['id']}/complete")
    assert refused.status_code == 409
    assert refused.get_json() == {"message": "Cannot complete this work order: it is confirmed.", "status": "confirmed"}


def test_a_stale_version_is_409(staff, db):
    customer = CustomerFactory()
    db.session.commit()
    order = staff.post("/work_order/", json={"customer": customer.id, "kind": "job"}).get_json()["result"]
    assert staff.put(f"/work_order/{order['id']}", json={"fault": "New", "version": order["version"]}) \
        .status_code == 200
    stale = staff.put(f"/work_order/{order['id']}", json={"fault": "Older", "version": order["version"]})
    assert stale.status_code == 409 and stale.get_json()["status"] == "confirmed"
    stale_action = staff.post(f"/work_order/{order['id']}/receive", json={"version": order["version"]})
    assert stale_action.status_code == 409


def test_money_and_times_in_json(staff, db):
    customer = CustomerFactory()
    db.session.commit()
    order = staff.post("/work_order/", json={"customer": customer.id, "kind": "job"}).get_json()["result"]
    assert order["created_at"].endswith("+00:00")
    assigned = staff.post(f"/work_order/{order['id']}/assign", json={
        "technician": None, "scheduled_start": "2030-01-02T09:00:00+01:00", "scheduled_end": "2030-01-02T11:00Z"})
    assert assigned.status_code == 200, assigned.get_json()
    result = assigned.get_json()["result"]
    assert (result["scheduled_start"], result["scheduled_end"]) == ("2030-01-02T08:00:00+00:00",
                                                                    "2030-01-02T11:00:00+00:00")
