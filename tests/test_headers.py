"""Security headers on every page of the URL map, and the client's address behind a trusted proxy."""
from __future__ import annotations

import re

from flask import Flask, request

from app import web
from tests.factories import make_user


def _plain_get_rules(app):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith(("/static", "/appbuilder")):
            yield rule.rule


def test_every_html_page_refuses_framing_and_sniffing(app, client, db, login_as):
    """…and runs no inline script without the response's own nonce (a strict ``script-src``)."""
    admin = make_user("Admin")
    db.session.commit()
    pages = list(_plain_get_rules(app))
    assert len(pages) > 40  # the walk covers the URL map, not a hand-made list
    checked, missing = 0, []
    for who in ("anonymous", "admin"):
        if who == "admin":
            login_as(admin)
        for path in pages:
            response = client.get(path)
            headers = response.headers
            if headers.get("X-Content-Type-Options") != "nosniff" or "Referrer-Policy" not in headers:
                missing.append((who, path, "nosniff/referrer"))
            if response.mimetype == "text/html":
                checked += 1
                policy = headers.get("Content-Security-Policy", "")
                if "frame-ancestors 'none'" not in policy or headers.get("X-Frame-Options") != "DENY":
                    missing.append((who, path, "framing"))
                nonce = re.search(r"script-src 'self' 'nonce-([A-Za-z0-9_-]+)'", policy)
                if not nonce:
                    missing.append((who, path, "script-src"))
                    continue
                for script in re.findall(r"<script\b[^>]*>", response.get_data(as_text=True)):
                    if "src=" not in script and f'nonce="{nonce.group(1)}"' not in script:
                        missing.append((who, path, f"inline script without this response's nonce: {script}"))
    assert checked > 40
    assert not missing, missing


def test_hsts_only_behind_https():
    plain, secure = Flask("plain"), Flask("secure")
    secure.config["SESSION_COOKIE_SECURE"] = True
    for app in (plain, secure):
        web.register(app)
        app.add_url_rule("/", "index", lambda: "<p>hi</p>")
    assert "Strict-Transport-Security" not in plain.test_client().get("/").headers
    assert secure.test_client().get("/").headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_client_address_comes_from_exactly_the_trusted_proxies():
    def address_app(proxies: int) -> Flask:
        app = Flask(f"proxies{proxies}")
        app.config["PORTICO_TRUSTED_PROXIES"] = proxies
        web.register(app)
        app.add_url_rule("/ip", "ip", lambda: request.remote_addr)
        return app

    forwarded = {"X-Forwarded-For": "198.51.100.7, 203.0.113.5"}
    env = {"REMOTE_ADDR": "127.0.0.1"}
    assert address_app(0).test_client().get("/ip", headers=forwarded, environ_base=env).text == "127.0.0.1"
    assert address_app(1).test_client().get("/ip", headers=forwarded, environ_base=env).text == "203.0.113.5"
    assert address_app(2).test_client().get("/ip", headers=forwarded, environ_base=env).text == "198.51.100.7"


def test_unstorable_input_is_a_clear_4xx_before_any_view(app, client, db):
    assert client.post("/login/", data={"username": "ad\x00min", "password": "x"}).status_code == 400
    assert client.get("/portal/login?next=%00").status_code == 400
    assert client.post("/api/v1/security/login", data='{"username": "\\ud800", "password": "x", "provider": "db"}',
                       content_type="application/json").status_code == 400
    assert client.post("/api/v1/security/login", json={"username": "a\x00", "password": "x",
                                                        "provider": "db"}).status_code == 400
    assert client.get(f"/portal/estimates/{2**70}").status_code == 404
    assert client.get(f"/servicerequestview/show/{2**70}").status_code in (302, 404)  # login first, or 404


def test_a_broken_rison_query_is_a_400_in_json(client, db):
    from tests.api_support import api_as

    staff = make_user("Advisor")
    db.session.commit()
    api = api_as(client, staff)
    for q in ("((", "(" * 3000, "(page:0,"):
        response = api.get("/work_order/", q=None, query_string={"q": q})
        assert response.status_code == 400, q
        assert "Rison" in response.get_json()["message"]
    assert api.get("/work_order/", query_string={"q": "(page:0,page_size:5)"}).status_code == 200
    # brackets inside a quoted search text are text, not nesting
    search = "(filters:!((col:customer_reference,opr:ct,value:'" + "(" * 60 + "')))"
    assert api.get("/work_order/", query_string={"q": search}).status_code == 200
    assert api.get("/work_order/", query_string={"q": "[" * 3000}).status_code == 400  # deep JSON too
