"""Staff list pages cost the same number of SQL statements at 5 rows as at 40 (no N+1)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event

from app.core.settings import shop_today
from app.services import estimates, requests, work_orders
from tests.factories import CustomerFactory, ServiceTypeFactory, UnitFactory, actor, make_user

PAGES = ["/workorderview/list/", "/servicerequestview/list/", "/estimateview/list/", "/customerview/list/",
         "/unitview/list/", "/technicianboard/list/", "/auditeventview/list/"]


def _make(n, staff, service_type):
    for i in range(n):
        customer = CustomerFactory()
        unit = UnitFactory(customer=customer)
        req = requests.submit(staff, customer_id=customer.id, service_type_id=service_type.id, subject=f"Job {i}",
                              preferred_date=shop_today() + dt.timedelta(days=i % 20),
                              preferred_slot=("morning", "afternoon", "evening")[i % 3], unit_id=unit.id)
        estimates.create(staff, customer_id=customer.id, service_request_id=req.id, unit_id=unit.id)
        work_orders.create(staff, customer_id=customer.id, unit_id=unit.id, fault="x")


def _count_statements(app, client, url):
    from app.extensions import db

    seen = []

    def listener(*_args, **_kwargs):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        with app.app_context():  # a context (and so a session and g) of its own, as under a real server
            response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert response.status_code == 200, url
    return len(seen)


@pytest.fixture()
def admin_client(db, client, login_as):
    admin = make_user("Admin")
    staff = actor(admin)
    service_type = ServiceTypeFactory()
    db.session.commit()
    login_as(admin)
    return client, staff, service_type


def test_statement_count_does_not_grow_with_rows(app, db, admin_client):
    client, staff, service_type = admin_client
    _make(5, staff, service_type)
    _count_statements(app, client, PAGES[0])  # the role's permissions are read once, then kept (test_permission_cache)
    few = {url: _count_statements(app, client, url + "?psize_x=100") for url in PAGES}
    _make(35, staff, service_type)
    many = {url: _count_statements(app, client, url + "?psize_x=100") for url in PAGES}
    assert many == few
    # the menu's permission checks are answered from one query, not one per entry
    assert max(many.values()) < 30, many
