"""Logs an operator can use: the request id, one JSON line per request, the id in service logs and mail."""
from __future__ import annotations

import json
import logging

from sqlalchemy import select

from app.models import OutboxEmail
from app.ops import context, logs
from tests.factories import CustomerFactory, make_user
from tests.portal_support import LINK


def _request_records(caplog):
    return [r for r in caplog.records if r.name == "portico.request"]


def test_request_id_is_taken_or_made_and_returned(client, caplog):
    with caplog.at_level(logging.INFO, logger="portico.request"):
        given = client.get("/healthz", headers={"X-Request-ID": "lb-4f2a9c1e77"})
        made = client.get("/healthz")
        hostile = client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>" + "y" * 80})
    assert given.headers["X-Request-ID"] == "lb-4f2a9c1e77"
    assert len(made.headers["X-Request-ID"]) == 32
    assert hostile.headers["X-Request-ID"] != "x" and "<" not in hostile.headers["X-Request-ID"]
    records = _request_records(caplog)
    assert len(records) == 3
    fields = records[0].fields
    assert fields == {"event": "request", "method": "GET", "route": "/healthz", "endpoint": "health.healthz",
                      "status": 200, "duration_ms": fields["duration_ms"], "user_id": None}
    assert isinstance(fields["duration_ms"], float)


def test_json_line_has_no_path_query_or_body(client, caplog):
    with caplog.at_level(logging.INFO, logger="portico.request"):
        client.post("/portal/login/portico-secret-token-123?next=/x&password=hunter2",
                    data={"password": "hunter2"}, headers={"X-Request-ID": "req-abcdef1234"})
    (record,) = _request_records(caplog)
    line = logs.JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["request_id"] == "req-abcdef1234" and entry["route"] == "/portal/login/<token>"
    assert {"time", "level", "logger", "message", "method", "status", "duration_ms", "user_id"} <= set(entry)
    assert "portico-secret-token" not in line and "hunter2" not in line and "\n" not in line


def test_user_id_of_a_signed_in_user(client, db, caplog):
    from tests.conftest import login

    manager = make_user("Manager")
    db.session.commit()
    login(client, manager.username)
    with caplog.at_level(logging.INFO, logger="portico.request"):
        client.get("/outboxview/list/")
    assert _request_records(caplog)[-1].fields["user_id"] == manager.id


def test_service_logs_and_queued_mail_carry_the_request_id(client, db, caplog):
    make_user("Customer", customer=CustomerFactory(), email="jane.rid@example.com")
    db.session.commit()
    handler_filter = logs.RequestIdFilter()
    caplog.handler.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.INFO):
            client.post("/portal/login", data={"email": "jane.rid@example.com"},
                        headers={"X-Request-ID": "req-mail-000111"})
    finally:
        caplog.handler.removeFilter(handler_filter)
    mail = db.session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == "jane.rid@example.com"))
    assert mail.request_id == "req-mail-000111"
    ours = [r for r in caplog.records if r.request_id == "req-mail-000111"]
    assert any(r.name == "portico.request" for r in ours)
    assert not LINK.search(caplog.text)


def test_text_format_for_development(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "text")
    handler = logs.make_handler()
    record = logging.LogRecord("app.x", logging.INFO, __file__, 1, "hello", None, None)
    token = context.bind("req-text-12345")
    try:
        handler.filter(record)
        assert handler.format(record).endswith("INFO app.x [req-text-12345]: hello")
    finally:
        context.unbind(token)
    monkeypatch.setenv("LOG_FORMAT", "json")
    assert isinstance(logs.make_handler().formatter, logs.JsonFormatter)
