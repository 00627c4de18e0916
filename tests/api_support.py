"""Helpers for the REST API tests: log in through the real JWT endpoint and call the API as that user."""
from __future__ import annotations

import json

from tests.factories import PASSWORD


def login_token(client, username: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/security/login",
                           json={"username": username, "password": password, "provider": "db"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


class Api:
    """``api.get("/customer/")`` etc. under /api/v1 with the user's bearer token."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def headers(self, extra=None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra or {})
        return headers

    def url(self, path: str) -> str:
        return path if path.startswith("/api/") else "/api/v1" + path

    def get(self, path, q=None, **kwargs):
        query = {"q": json.dumps(q)} if q is not None else kwargs.pop("query_string", None)
        return self.client.get(self.url(path), headers=self.headers(kwargs.pop("headers", None)),
                               query_string=query, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.client.post(self.url(path), json=json, headers=self.headers(kwargs.pop("headers", None)), **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.client.put(self.url(path), json=json, headers=self.headers(kwargs.pop("headers", None)), **kwargs)

    def delete(self, path, **kwargs):
        return self.client.delete(self.url(path), headers=self.headers(kwargs.pop("headers", None)), **kwargs)


def api_as(client, user) -> Api:
    return Api(client, login_token(client, user.username))


def build_account(name, service_type, location, method, staff, technician):
    """A reseller account with one row of every resource, each in a live state (made through the services)."""
    from app.extensions import db
    from app.models import Address, WorkItem
    from app.services import estimates, invoices, requests, shipments, work_orders
    from tests.factories import CustomerFactory, UnitFactory, actor, make_user, tomorrow

    customer = CustomerFactory(name=name, kind="reseller")
    user = make_user("Reseller", customer=customer)
    unit = UnitFactory(customer=customer)
    address = Address(customer=customer, line1="1 Road", city="Town", postal_code="1")
    db.session.add(address)
    db.session.commit()
    own = actor(user)
    req = requests.submit(own, service_type_id=service_type.id, subject=f"{name} request", preferred_date=tomorrow(),
                          preferred_slot="morning", unit_id=unit.id)
    est = requests.perform(req, "confirm", staff, estimate=True)
    estimates.perform(est, "edit", staff, labour_lines=[{"description": "Work", "hours": "1", "rate": "10",
                                      "parts": [{"description": "Part", "quantity": "1", "unit_price": "5"}]}])
    estimates.perform(est, "submit", staff)
    order = work_orders.create(own, kind="repair", fault="Broken", unit_id=unit.id,
                               service_location_id=location.id, shipping_method_id=method.id)
    shipped = work_orders.create(own, kind="repair", fault="Broken too", service_location_id=location.id,
                                 shipping_method_id=method.id)
    shipment = shipments.create(own, work_orders=[shipped.id])
    billed = work_orders.create(staff, customer_id=customer.id, kind="job", fault="Service")
    billed.items.append(WorkItem(kind="labour", description="Service", quantity=1, unit_price=10))
    db.session.commit()
    work_orders.perform(billed, "receive", staff)
    work_orders.perform(billed, "clock_on", technician)
    work_orders.perform(billed, "ready", technician)
    invoice = work_orders.perform(billed, "invoice", staff)
    invoices.perform(invoice, "submit", staff)
    return {"user": user, "rows": {"customer": customer.id, "unit": unit.id, "service_request": req.id,
                                   "estimate": est.id, "work_order": order.id, "invoice": invoice.id,
                                   "shipment": shipment.id},
            "address": address.id, "billed": billed.id, "lines": [line.id for line in est.labour_lines]}
