"""403, 404, 405 and 500 answer a page in the layout of whoever asked, with a way back — never Werkzeug's."""
from __future__ import annotations

import pytest
from flask import abort

from tests.factories import CustomerFactory, make_user


def _boom():
    return 1 / 0


@pytest.fixture()
def failing_routes(app, monkeypatch):
    """The start page answers 403 and the favicon and the portal's home fail (the session's app is set up,
    so its views are swapped rather than new routes added)."""
    monkeypatch.setitem(app.view_functions, "PorticoIndexView.index", lambda: abort(403))
    monkeypatch.setitem(app.view_functions, "PorticoIndexView.favicon", _boom)
    monkeypatch.setitem(app.view_functions, "PortalHomeView.index", _boom)


def test_anonymous_unknown_page_is_the_portal_layout_with_a_way_home(client):
    response = client.get("/no-such-page", headers={"Referer": "http://localhost/portal/login"})
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Page not found" in page and "Not Found</h1>" not in page
    assert 'class="portal-header"' in page
    assert 'href="/portal/"' in page and 'href="/portal/login"' in page  # home and back


def test_staff_forbidden_is_the_staff_layout(client, login_as, failing_routes):
    login_as(make_user("Technician"))
    response = client.get("/")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "You may not open this page" in page and "navbar" in page and 'href="/"' in page and "Reference" not in page


def test_customer_sees_a_portal_404_for_a_staff_url(client, login_as):
    login_as(make_user("Customer", customer=CustomerFactory()))
    response = client.get("/workorderview/list/nothing-here")
    assert response.status_code == 404 and 'class="portal-header"' in response.get_data(as_text=True)


def test_german_error_page(client):
    response = client.get("/portal/no-such-page", headers={"Accept-Language": "de"})
    assert response.status_code == 404 and "Seite nicht gefunden" in response.get_data(as_text=True)


def test_api_errors_stay_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response.is_json


def test_method_not_allowed_keeps_allow(client):
    response = client.delete("/portal/login")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
    assert "This page cannot do that" in response.get_data(as_text=True)


def test_unhandled_exception_is_a_500_page_with_the_request_id(app, client, failing_routes, monkeypatch):
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = client.get("/favicon.ico", headers={"X-Request-ID": "trace-me-123"})
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page and "trace-me-123" in page
    assert "ZeroDivisionError" not in page and "Traceback" not in page
    portal = client.get("/portal/")
    assert portal.status_code == 500 and 'class="portal-header"' in portal.get_data(as_text=True)
    api = client.get("/favicon.ico", headers={"Accept": "application/json"})
    assert api.status_code == 500 and api.get_json() == {"message": "Internal error"}
