"""Who may reach what through the REST API: role × resource × endpoint × own / another customer's row.

Every endpoint of every resource is generated from the API classes themselves (their actions, listings
and documents), so a new action is covered the day it is added. Another customer's row answers 404 (or
403 where the role may not use the endpoint at all), never 2xx, 409 or 422, which would tell that it
exists; a technician gets another technician's order the same way; nobody gets anything without a token.
"""
from __future__ import annotations

import pytest

from app.api import resources
from app.models import ReportDefinition
from tests.api_support import Api, api_as, build_account
from tests.factories import (
    ServiceLocationFactory,
    ServiceTypeFactory,
    ShippingMethodFactory,
    actor,
    make_user,
    tomorrow,
)

RESOURCES = {api.resource_name: api for api in resources()}


def endpoints(resource: str) -> list[tuple[str, str]]:
    """``(method, path suffix)`` of every endpoint that takes a row id."""
    api = RESOURCES[resource]
    found = [("GET", ""), ("PUT", ""), ("DELETE", "")]
    found += [("POST", f"/{name}") for name in api.actions]
    found += [("GET", f"/{name}") for name in api.listings]
    found += [("GET", f"/{name}") for name in api.documents]
    return found


COLLECTION = (("GET", "/"), ("GET", "/_info"), ("POST", "/"))


def call(api: Api, method: str, path: str):
    if method == "GET":
        return api.get(path)
    if method == "DELETE":
        return api.delete(path)
    return getattr(api, method.lower())(path, json={})


@pytest.fixture()
def world(client, db):
    service_type, location, method = ServiceTypeFactory(), ServiceLocationFactory(), ShippingMethodFactory()
    advisor, manager = make_user("Advisor"), make_user("Manager")
    tech_a, tech_b = make_user("Technician"), make_user("Technician")
    plain = make_user("Customer")
    db.session.commit()
    staff = actor(advisor)
    a = build_account("Alpha", service_type, location, method, staff, actor(tech_a))
    b = build_account("Beta", service_type, location, method, staff, actor(tech_b))
    report = ReportDefinition(name="Weekly", kind="open_requests", cron="0 7 * * 1", recipients=["m@example.com"])
    db.session.add(report)
    db.session.commit()
    a["rows"]["report"] = b["rows"]["report"] = report.id
    return {"a": a, "b": b, "service_type": service_type.id, "location": location.id, "method": method.id,
            "users": {"advisor": advisor, "manager": manager, "tech_a": tech_a, "tech_b": tech_b, "plain": plain}}


@pytest.fixture()
def as_a(client, world):
    return api_as(client, world["a"]["user"])


@pytest.mark.parametrize("resource", RESOURCES)
def test_another_customers_row_is_never_reachable(world, as_a, resource):
    other = world["b"]["rows"][resource]
    leaks = []
    for method, suffix in endpoints(resource):
        response = call(as_a, method, f"/{resource}/{other}{suffix}")
        if response.status_code not in (403, 404) or not response.is_json:
            leaks.append((method, suffix, response.status_code, response.get_data(as_text=True)[:200]))
    assert not leaks


def test_nothing_without_logging_in(client):
    anonymous = Api(client, None)
    answers = {}
    for resource in RESOURCES:
        for method, suffix in [*COLLECTION, *((m, f"/1{s}") for m, s in endpoints(resource))]:
            response = call(anonymous, method, f"/{resource}{suffix}")
            answers[(resource, method, suffix)] = (response.status_code, response.is_json)
    assert set(answers.values()) == {(401, True)}, [k for k, v in answers.items() if v != (401, True)]
    assert call(anonymous, "GET", "/work_order/export.csv").status_code == 401


def test_lists_hold_only_the_callers_rows(world, as_a):
    for resource, mine in world["a"]["rows"].items():
        if resource == "report":
            assert as_a.get(f"/report/{mine}").status_code == 403
            continue
        listed = as_a.get(f"/{resource}/", q={"page_size": 100}).get_json()
        assert mine in listed["ids"], resource
        assert world["b"]["rows"][resource] not in listed["ids"], resource
        assert as_a.get(f"/{resource}/{mine}").status_code == 200, resource


def test_plain_customers_have_no_shipments_csv_or_reports(world, client):
    plain = api_as(client, world["users"]["plain"])
    assert plain.get("/shipment/").status_code == 403
    assert plain.post("/shipment/", json={"work_orders": [world["a"]["rows"]["work_order"]]}).status_code == 403
    assert plain.get("/work_order/export.csv").status_code == 403
    assert plain.get("/report/").status_code == 403
    assert plain.get("/customer/").get_json()["count"] == 1  # their own account


def test_customers_may_not_write_what_only_the_shop_writes(world, as_a):
    rows = world["a"]["rows"]
    assert as_a.post("/estimate/", json={"service_request": rows["service_request"]}).status_code == 403
    assert as_a.post("/invoice/", json={"work_order": world["a"]["billed"]}).status_code == 403
    assert as_a.post("/customer/", json={"name": "Mine"}).status_code == 403
    for resource in ("customer", "service_request", "estimate", "work_order", "invoice", "shipment"):
        assert as_a.put(f"/{resource}/{rows[resource]}", json={}).status_code == 403, resource
        assert as_a.delete(f"/{resource}/{rows[resource]}").status_code == 403, resource
    # Staff transitions on their own rows: the state machine refuses the customer's side.
    assert as_a.post(f"/estimate/{rows['estimate']}/acknowledge").status_code in (403, 409)
    assert as_a.post(f"/invoice/{rows['invoice']}/payments", json={"amount": "1", "method": "cash"}).status_code \
        in (403, 409)
    assert as_a.post(f"/shipment/{rows['shipment']}/receive").status_code in (403, 409)


def test_bodies_cannot_point_at_another_customers_rows(world, as_a):
    a, b = world["a"], world["b"]
    base = {"service_type": world["service_type"], "subject": "Mine", "preferred_date": tomorrow().isoformat()}
    for field, ident in (("unit", b["rows"]["unit"]), ("address", b["address"])):
        refused = as_a.post("/service_request/", json={**base, field: ident})
        assert refused.status_code == 422 and field in refused.get_json()["message"]
    chosen = as_a.post("/service_request/", json={**base, "customer": b["rows"]["customer"]})
    assert chosen.status_code == 422 and "customer" in chosen.get_json()["message"]
    order = as_a.post("/work_order/", json={"kind": "repair", "fault": "x", "unit": b["rows"]["unit"]})
    assert order.status_code == 422 and "unit" in order.get_json()["message"]
    shipped = as_a.post("/shipment/", json={"work_orders": [b["rows"]["work_order"]]})
    assert shipped.status_code == 422 and "work_orders" in shipped.get_json()["message"]
    dispute = as_a.post(f"/estimate/{a['rows']['estimate']}/dispute", json={
        "lines": [{"kind": "labour", "id": b["lines"][0], "note": "theirs"}]})
    assert dispute.status_code == 422
    assert as_a.post("/unit/", json={"make": "X", "customer": b["rows"]["customer"]}).status_code == 422


def test_info_offers_only_the_callers_rows_and_fields(world, as_a, client):
    info = as_a.get("/service_request/_info").get_json()
    fields = {f["name"]: f for f in info["add_columns"]}
    assert "customer" not in fields
    assert [v["id"] for v in fields["unit"]["values"]] == [world["a"]["rows"]["unit"]]
    assert [v["id"] for v in fields["address"]["values"]] == [world["a"]["address"]]
    staff = api_as(client, world["users"]["advisor"]).get("/service_request/_info").get_json()
    staff_units = {f["name"]: f for f in staff["add_columns"]}["unit"]["values"]
    assert {v["id"] for v in staff_units} >= {world["a"]["rows"]["unit"], world["b"]["rows"]["unit"]}
    assert "internal_reference" not in as_a.get("/work_order/_info").get_json()["filters"]


def test_filters_and_order_only_on_what_the_role_sees(world, as_a, client):
    probe = as_a.get("/work_order/", q={"filters": [{"col": "internal_reference", "opr": "eq", "value": "x"}]})
    assert probe.status_code == 400
    assert as_a.get("/work_order/", q={"filters": [{"col": "technician", "opr": "rel_o_m", "value": 1}]}) \
        .status_code == 400
    assert as_a.get("/customer/", q={"filters": [{"col": "notes", "opr": "ct", "value": "a"}]}).status_code == 400
    assert as_a.get("/work_order/", q={"order_column": "internal_reference"}).status_code == 400
    order = as_a.get(f"/work_order/{world['a']['rows']['work_order']}").get_json()["result"]
    assert "internal_notes" not in order and "technician" not in order
    assert "notes" not in as_a.get(f"/customer/{world['a']['rows']['customer']}").get_json()["result"]
    staff = api_as(client, world["users"]["advisor"])
    assert staff.get("/work_order/", q={"filters": [{"col": "internal_reference", "opr": "eq", "value": "x"}]}) \
        .status_code == 200


def test_technicians_see_their_own_and_unassigned_orders_without_prices(world, client):
    tech = api_as(client, world["users"]["tech_a"])
    mine, theirs = world["a"]["billed"], world["b"]["billed"]
    listed = tech.get("/work_order/", q={"page_size": 100}).get_json()["ids"]
    assert mine in listed and theirs not in listed
    assert world["b"]["rows"]["work_order"] in listed  # unassigned: on the service board
    for method, suffix in endpoints("work_order"):
        response = call(tech, method, f"/work_order/{theirs}{suffix}")
        assert response.status_code in (403, 404), (method, suffix)
    assert all("unit_price" not in item for item in tech.get(f"/work_order/{mine}").get_json()["result"]["items"])
    for resource in ("customer", "unit", "service_request", "estimate", "invoice", "shipment", "report"):
        assert tech.get(f"/{resource}/").status_code == 403, resource
    assert tech.post("/work_order/", json={"kind": "job", "customer": 1}).status_code == 403


def test_reports_are_for_managers(world, client):
    assert api_as(client, world["users"]["advisor"]).get("/report/").status_code == 403
    assert api_as(client, world["users"]["manager"]).get("/report/").status_code == 200


def test_a_locked_account_is_shut_out(world, client, db):
    api = api_as(client, world["a"]["user"])
    from app.models import Customer

    db.session.get(Customer, world["a"]["rows"]["customer"]).locked = True
    db.session.commit()
    response = api.get("/work_order/")
    assert response.status_code == 403 and "locked" in response.get_json()["message"]
