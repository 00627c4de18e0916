"""Logging in to the API: FAB's JWT login (rate-limited) and FAB's API keys for machine clients, which act
with their user's role and row scope. The OpenAPI document describes every action; Swagger UI is staff's."""
from __future__ import annotations

from tests.api_support import Api, api_as, login_token
from tests.conftest import login
from tests.factories import CustomerFactory, UnitFactory, make_user


def test_jwt_login_and_bearer_token(client, db):
    user = make_user("Advisor")
    db.session.commit()
    token = login_token(client, user.username)
    assert Api(client, token).get("/customer/").status_code == 200
    wrong = client.post("/api/v1/security/login", json={"username": user.username, "password": "nope",
                                                        "provider": "db"})
    assert wrong.status_code == 401


class FreshContextApi(Api):
    """Each call in its own app context, as in production (the tests share one, and with it ``g``)."""

    def __getattribute__(self, name):
        attr = super().__getattribute__(name)
        if name in ("get", "post", "put", "delete"):
            def call(*args, **kwargs):
                with self.client.application.app_context():
                    return attr(*args, **kwargs)
            return call
        return attr


def test_api_keys_act_with_their_users_role_and_rows(client, db):
    reseller = make_user("Reseller")
    other = UnitFactory(customer=CustomerFactory())
    db.session.commit()
    created = api_as(client, reseller).post("/api/v1/security/api_keys/", json={"name": "Our shop system"})
    assert created.status_code == 201
    key = created.get_json()["result"]["key"]
    machine = FreshContextApi(client, key)
    made = machine.post("/unit/", json={"make": "Fairphone", "serial_number": "FP-1"})
    assert made.status_code == 201
    listed = machine.get("/unit/").get_json()["ids"]
    assert made.get_json()["id"] in listed and other.id not in listed
    assert machine.get(f"/unit/{other.id}").status_code == 404
    assert machine.get("/customer/").status_code == 200
    assert machine.get("/report/").status_code == 403  # the reseller's role, not more
    assert machine.post("/customer/", json={"name": "x"}).status_code == 403

    uuid = created.get_json()["result"]["uuid"]
    assert api_as(client, reseller).delete(f"/api/v1/security/api_keys/{uuid}").status_code == 200
    revoked = machine.get("/unit/")
    assert revoked.status_code == 401 and revoked.is_json
    assert FreshContextApi(client, "sst_not-a-key").get("/unit/").status_code == 401


def test_staff_api_keys_work_for_staff_endpoints(client, db):
    manager = make_user("Manager")
    db.session.commit()
    key = api_as(client, manager).post("/api/v1/security/api_keys/", json={"name": "accounting"}) \
        .get_json()["result"]["key"]
    assert FreshContextApi(client, key).get("/invoice/").status_code == 200
    assert FreshContextApi(client, key).get("/report/").status_code == 200


def test_openapi_document_describes_every_action(client, db):
    customer = make_user("Customer")
    db.session.commit()
    spec = api_as(client, customer).get("/api/v1/_openapi")
    assert spec.status_code == 200
    paths = spec.get_json()["paths"]
    from app.api import resources

    for api in resources():
        base = f"/api/v1/{api.resource_name}"
        assert {"get", "post"} <= set(paths[f"{base}/"]), base
        assert {"get", "put", "delete"} <= set(paths[f"{base}/{{pk}}"]), base
        for action, spec_action in api.actions.items():
            operation = paths[f"{base}/{{pk}}/{action}"]["post"]
            ok = str(spec_action.status)  # 200, or 201 for an action that creates a record (invite)
            assert {ok, "401", "403", "404", "409", "422"} <= set(operation["responses"]), (base, action)
            assert "requestBody" in operation
            if spec_action.creates:
                schema = operation["responses"][ok]["content"]["application/json"]["schema"]
                assert schema["required"] == [spec_action.creates]
    body = paths["/api/v1/estimate/{pk}/dispute"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/Dispute")  # the estimate table's own parameter schema
    assert "/api/v1/work_order/export.csv" in paths and "/api/v1/shipment/{pk}/label.pdf" in paths


def test_swagger_ui_is_for_staff_only(client, db):
    staff, customer = make_user("Advisor"), make_user("Customer")
    db.session.commit()
    assert client.get("/swagger/v1").status_code == 302  # to the login page
    login(client, customer.username)
    assert client.get("/swagger/v1").status_code in (302, 403)
    client.get("/logout/")
    login(client, staff.username)
    page = client.get("/swagger/v1")
    assert page.status_code == 200 and b"/api/v1/_openapi" in page.data
