"""Security baseline: CSRF, login rate limits on both doors, safe redirects, cookies, roles, row scope."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core.errors import NotFound
from app.core.scope import get_for, scoped
from app.core.settings import shop_today
from app.models import (
    Address,
    Customer,
    Estimate,
    Invoice,
    LabourLine,
    Notification,
    PartLine,
    ServiceRequest,
    Unit,
    WorkOrder,
)
from app.security import API_CUSTOMER, ROLE_DEFINITIONS
from app.services import estimates, requests, work_orders
from tests.factories import PASSWORD, CustomerFactory, ServiceTypeFactory, UnitFactory, actor, make_user


@pytest.fixture()
def production_app(app, database_url):
    """The app as production configures it (CSRF and rate limits on), on the test database."""
    from app import create_app
    from config import Config

    return create_app(Config, SQLALCHEMY_DATABASE_URI=database_url, RATELIMIT_STORAGE_URI="memory://",
                      AUTH_RATE_LIMIT="3 per minute", API_LOGIN_RATE_LIMIT="3 per minute")


def test_forms_need_a_csrf_token(production_app, db):
    make_user("Advisor", username="csrf-user")
    db.session.commit()
    client = production_app.test_client()
    response = client.post("/login/", data={"username": "csrf-user", "password": PASSWORD})
    assert response.status_code == 400
    assert b"CSRF" in response.data


def test_api_login_works_without_csrf_and_is_rate_limited(production_app, db):
    make_user("Advisor", username="api-user")
    db.session.commit()
    client = production_app.test_client()
    body = {"username": "api-user", "password": PASSWORD, "provider": "db"}
    first = client.post("/api/v1/security/login", json=body)
    assert first.status_code == 200 and "access_token" in first.get_json()
    codes = [client.post("/api/v1/security/login", json=dict(body, password="wrong")).status_code for _ in range(4)]
    assert codes[-1] == 429


def test_web_login_is_rate_limited(app, database_url):
    from app import create_app
    from config import Config

    limited = create_app(Config, SQLALCHEMY_DATABASE_URI=database_url, WTF_CSRF_ENABLED=False,
                         RATELIMIT_STORAGE_URI="memory://", AUTH_RATE_LIMIT="3 per minute")
    client = limited.test_client()
    codes = [client.post("/login/", data={"username": "x", "password": "y"}).status_code for _ in range(5)]
    assert 429 in codes


def test_cookie_and_redirect_settings(app):
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert "127.0.0.1" in app.config["FAB_SAFE_REDIRECT_HOSTS"]
    assert len(app.config["SECRET_KEY"]) >= 32


def test_login_does_not_redirect_off_site(client, db):
    make_user("Advisor", username="redirect-user")
    db.session.commit()
    response = client.post("/login/?next=https://evil.example.net/steal",
                           data={"username": "redirect-user", "password": PASSWORD})
    assert response.status_code == 302
    assert "evil.example.net" not in response.headers["Location"]


def _permissions(app, role_name):
    role = app.appbuilder.sm.find_role(role_name)
    return {(p.view_menu.name, p.permission.name) for p in role.permissions}


def test_roles_are_synced_from_code(app):
    for role_name in ("Admin", *ROLE_DEFINITIONS):
        assert app.appbuilder.sm.find_role(role_name) is not None
    technician = _permissions(app, "Technician")
    assert not any(view in ("Invoices", "Estimates", "Customers", "WorkOrders") for view, _ in technician)
    advisor = _permissions(app, "Advisor")
    assert not any(view in ("ShopSettings", "UserDBModelView", "RoleModelView") for view, _ in advisor)
    assert not any(view == "Catalog" and perm in ("can_add", "can_edit", "can_delete") for view, perm in advisor)
    customer = _permissions(app, "Customer")
    customer_api = {view for view, _ in API_CUSTOMER}  # the REST API's customer-facing resources
    assert all(view.startswith("Portal") or view in customer_api for view, _ in customer if view != "Notifications")
    admin = _permissions(app, "Admin")
    assert admin >= advisor | technician | customer


@pytest.fixture()
def two_customers(db):
    service_type = ServiceTypeFactory()
    staff = actor(make_user("Advisor"))
    people = {}
    for name in ("mine", "theirs"):
        customer = CustomerFactory(name=name)
        unit = UnitFactory(customer=customer)
        db.session.add(Address(customer=customer, line1="1 Road", city="Town", postal_code="1"))
        user = make_user("Customer", customer=customer)
        db.session.commit()
        req = requests.submit(actor(user), service_type_id=service_type.id, subject=f"{name} request",
                              preferred_date=shop_today(), preferred_slot="morning",
                              unit_id=unit.id)
        est = requests.perform(req, "confirm", staff, estimate=True)
        estimates.perform(est, "edit", staff, labour_lines=[{"description": "Work", "hours": "1", "rate": "10",
                                          "parts": [{"description": "P", "quantity": "1", "unit_price": "5"}]}])
        estimates.perform(est, "submit", staff)  # a draft is the shop's: the customer sees it once it is sent
        work_orders.create(staff, customer_id=customer.id, fault=f"{name} fault")
        people[name] = dict(customer=customer, actor=actor(user), request=req, estimate=est)
    people["staff"] = staff
    return people


@pytest.mark.parametrize("model", [Customer, Unit, Address, ServiceRequest, Estimate, LabourLine, PartLine,
                                   WorkOrder, Invoice, Notification])
def test_customers_see_only_their_own_rows(db, two_customers, model):
    me = two_customers["mine"]
    rows = list(db.session.scalars(scoped(select(model), model, me["actor"])))
    everything = list(db.session.scalars(select(model)))
    for row in rows:
        owner = row.id if model is Customer else (
            row.estimate.customer_id if model is LabourLine else
            row.labour_line.estimate.customer_id if model is PartLine else row.customer_id)
        assert owner == me["customer"].id
    if model is not Invoice:
        assert rows, f"{model.__name__}: the customer should see their own rows"
        assert len(everything) > len(rows)


def test_another_customers_id_is_not_found(db, two_customers):
    me, theirs = two_customers["mine"], two_customers["theirs"]
    assert get_for(ServiceRequest, me["request"].id, me["actor"]).id == me["request"].id
    with pytest.raises(NotFound):
        get_for(ServiceRequest, theirs["request"].id, me["actor"])
    with pytest.raises(NotFound):
        get_for(Estimate, theirs["estimate"].id, me["actor"])
    with pytest.raises(NotFound):
        get_for(Estimate, "not-a-number", me["actor"])
    # staff see everything
    assert get_for(Estimate, theirs["estimate"].id, two_customers["staff"]).id == theirs["estimate"].id


def test_technicians_see_their_own_and_unassigned_orders(db, two_customers):
    tech_a, tech_b = make_user("Technician"), make_user("Technician")
    orders = list(db.session.scalars(select(WorkOrder)))
    orders[0].technician_id = tech_b.id
    db.session.commit()
    visible = list(db.session.scalars(scoped(select(WorkOrder), WorkOrder, actor(tech_a))))
    assert orders[0] not in visible and orders[1] in visible
    with pytest.raises(NotFound):
        get_for(WorkOrder, orders[0].id, actor(tech_a))
