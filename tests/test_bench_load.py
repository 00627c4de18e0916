"""The load test's machinery on a small shop: one short gunicorn, every request kind, nothing left behind.

``bench.load`` is run for real at 100,000 orders on PostgreSQL (bench/README.md, "Load test"); here it
drives a 200-order shop for a second so that its logins, request kinds, figures and clean-up keep
working as the app changes.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os

from flask_appbuilder.security.sqla.models import ApiKey
from sqlalchemy import func, select

from app.models import AuditEvent, OrderMessage, PortalSession, PortalUser
from bench.generate import ensure_bench_user, generate
from bench.load import markdown, phase, server_env
from bench.load_client import MIX, Budget, client_address
from bench.load_shop import prepare

NOW = dt.datetime.now(dt.UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)


def test_budget_stops_at_its_count_and_its_deadline():
    import time

    counted = Budget(limit=3, deadline=time.monotonic() + 60)
    assert [counted.take() for _ in range(5)] == [True, True, True, False, False]
    assert Budget(limit=10, deadline=time.monotonic() - 1).take() is False
    stopped = Budget(limit=10, deadline=time.monotonic() + 60)
    stopped.stop.set()
    assert stopped.take() is False
    assert client_address(0) == "198.18.0.1" and client_address(251) == "198.18.1.2"


def test_a_short_load_run_serves_every_kind_without_errors_and_cleans_up(db, database_url, tmp_path):
    generate(db.session, orders=200, seed=7, now=NOW)
    db.session.commit()
    ensure_bench_user()
    shop = prepare(customers=2, resellers=1, seed=3)
    assert len(shop.customers) == 2 and len(shop.resellers) == 1
    assert all(account.orders and account.link_path.startswith("/portal/login/")
               for account in shop.customers + shop.resellers)
    assert db.session.scalar(select(func.count(PortalUser.id))) == 3  # invited through the customer's table
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "invite")) == 3

    work = tmp_path
    args = argparse.Namespace(clients=2, duration=1.0, warmup=0.0, max_requests=30, seed=5, mix=dict(MIX))
    result = phase(1, shop, server_env(database_url, work, None), work, args)

    assert result["warmup"]["requests"] >= 2 * len(MIX), "every kind was asked once per client"
    assert result["warmup"]["errors"] == 0, result["warmup"]["error_messages"]
    assert result["errors"] == 0, result["error_messages"]
    assert 0 < result["requests"] <= 30 and result["rps"] > 0
    assert result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]
    assert sum(k["requests"] for k in result["kinds"].values()) == result["requests"]
    assert result["usage"]["cpu_pct"]["server"] > 0

    # the writes went through the work order's action table: notes and their audit lines
    db.session.expire_all()
    notes = db.session.scalar(select(func.count(OrderMessage.id)).where(OrderMessage.text.like("Load test note%")))
    assert notes >= 2 and db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "messages")) == notes
    # every session logged out, the run's API key revoked, the server gone
    assert db.session.scalar(select(func.count(PortalSession.id)).where(PortalSession.ended_at.is_(None))) == 0
    assert db.session.scalar(select(func.count(ApiKey.id)).where(ApiKey.revoked_on.is_(None))) == 0
    assert not os.path.exists(f"/proc/{result['server_pid']}")

    table = markdown([result])
    assert table.startswith("| workers |") and "\n| 1 | " in table
    assert all(f"| {kind} | " in table for kind in MIX)
