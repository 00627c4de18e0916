"""Hostile input over the whole URL map (issue 12): every GET route, as staff, as a customer and as an
anonymous visitor, with generated path arguments and query strings — never a 500.

Hypothesis draws the values: ids from -1 to far beyond 64 bits, text with any Unicode (lone surrogates and
NUL included), dates at the calendar's ends, Rison and JSON fragments for ``q``, paging parameters. A
failure prints the smallest request that answered 500.
"""
from __future__ import annotations

import os
import string
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import CustomerFactory, make_user

SKIP = {"static", "appbuilder.static", "AuthDBView.logout", "PortalAuthView.logout", "UtilView.back",
        "LocaleView.index"}

IDS = st.one_of(st.integers(min_value=-1, max_value=3), st.integers(min_value=2**31, max_value=2**70))
TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["0001-01-01", "9999-12-31", "0000-00-00", "2026-02-30", "-1", "1e309", "NaN", "%00",
                     "(((", "!(", "(filters:!((col:id,opr:eq,value:1)))", '{"page":1e99}', "../../etc/passwd",
                     "<script>", "' OR 1=1 --", "\x00", "\ud800", "9" * 40]),
    st.text(alphabet=string.digits, min_size=1, max_size=25),
)
QUERY_KEYS = ["q", "page", "page_size", "start", "end", "date_from", "date_to", "archived", "next", "day",
              "_flt_0_name", "_flt_1_created_at", "psize_CustomerView", "page_WorkOrderView", "_oc_CustomerView",
              "_od_CustomerView", "location", "service_type", "status", "kind", "term", "lang"]


#: Examples per route and persona; ``PORTICO_FUZZ_EXAMPLES=50 pytest tests/test_fuzz.py`` digs deeper.
PER_ROUTE = int(os.environ.get("PORTICO_FUZZ_EXAMPLES", "2"))
FORM_KEYS = ["name", "email", "subject", "summary", "preferred_date", "preferred_slot", "start", "reason", "note",
             "text", "amount", "method", "lines", "technician_id", "version", "expected_version", "hours", "rate",
             "quantity", "unit_price", "description", "kind", "customer", "unit", "password", "username", "next",
             "files", "file", "csrf_token", "action", "rowid", "public", "locked", "country", "postal_code"]


def _routes(app, method: str = "GET"):
    found = []
    for rule in app.url_map.iter_rules():
        if method not in rule.methods or rule.endpoint in SKIP or rule.endpoint.endswith(".static"):
            continue
        found.append(rule)
    return sorted(found, key=lambda r: r.rule)


def _url(rule, values: dict) -> str:
    path = rule.rule
    for arg in rule.arguments:
        converter = rule._converters[arg]
        raw = values.get(arg, "1")
        text = str(raw) if type(converter).__name__ != "IntegerConverter" else str(abs(int(raw)) if str(
            raw).lstrip("-").isdigit() else 1)
        for pattern in (f"<int:{arg}>", f"<string:{arg}>", f"<path:{arg}>", f"<{arg}>"):
            path = path.replace(pattern, quote(text.encode("utf-8", "surrogatepass"), safe="") or "x")
    return path


def _end_request() -> None:
    """The suite shares one app context; a real server gives every request a fresh session."""
    from app.extensions import db

    db.session.rollback()


def _query(pairs) -> str:
    return "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in pairs)


@pytest.fixture()
def people(db):
    admin = make_user("Admin")
    customer = make_user("Customer", customer=CustomerFactory(name="Fuzz Customer"))
    db.session.commit()
    return {"admin": admin, "customer": customer}


@pytest.mark.parametrize("who", ["admin", "customer", "anonymous"])
def test_no_get_route_answers_500(app, people, who, login_as):
    client = login_as(people[who]) if who != "anonymous" else app.test_client()
    routes = _routes(app)
    assert len(routes) > 100

    @settings(max_examples=len(routes) * PER_ROUTE, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(index=st.integers(min_value=0, max_value=len(routes) - 1),
           values=st.dictionaries(st.sampled_from(["pk", "id", "name", "filename", "kind", "action", "token",
                                                   "status", "estimate_id", "request_id", "order_id",
                                                   "invoice_id", "shipment_id", "address_id", "unit_id",
                                                   "file_id", "run_id", "attachment_id", "lang", "provider"]),
                                  st.one_of(IDS, TEXT), max_size=4),
           pairs=st.lists(st.tuples(st.sampled_from(QUERY_KEYS), TEXT), max_size=3))
    def probe(index, values, pairs):
        rule = routes[index]
        values = {arg: values.get(arg, 1) for arg in rule.arguments}
        url = _url(rule, values)
        query = _query(pairs)
        response = client.get(url + ("?" + query if query else ""))
        _end_request()
        assert response.status_code < 500, f"{response.status_code} for GET {url}?{query}"

    probe()


@pytest.mark.parametrize("who", ["admin", "customer", "anonymous"])
def test_no_form_or_api_post_answers_500(app, people, who, login_as):
    """Every POST route (forms, actions, the API) with generated fields: a form body, or JSON under /api/."""
    client = login_as(people[who]) if who != "anonymous" else app.test_client()
    routes = _routes(app, "POST")
    assert len(routes) > 50

    @settings(max_examples=len(routes) * PER_ROUTE, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(index=st.integers(min_value=0, max_value=len(routes) - 1), ident=IDS,
           fields=st.dictionaries(st.sampled_from(FORM_KEYS), st.one_of(TEXT, IDS), max_size=5),
           nested=st.booleans())
    def probe(index, ident, fields, nested):
        rule = routes[index]
        url = _url(rule, {arg: ident if "id" in arg or arg == "pk" else "x" for arg in rule.arguments})
        if url.startswith("/api/"):
            body = {key: ([value] if nested else value) for key, value in fields.items()}
            response = client.post(url, json=body)
        else:
            data = {key: str(value).encode("utf-8", "surrogatepass").decode("utf-8", "replace")
                    for key, value in fields.items()}
            response = client.post(url, data=data)
        _end_request()
        assert response.status_code < 500, f"{response.status_code} for POST {url} {fields}"

    probe()
