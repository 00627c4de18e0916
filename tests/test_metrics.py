"""/metrics: Prometheus text, a token or the loopback address, request and background figures (issue 18)."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from app.models import SchedulerLease, utcnow
from app.services import notify

ROOT = Path(__file__).resolve().parent.parent


def _value(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in metrics")


def test_metrics_from_loopback_without_token(client, db):
    notify.queue_email("a@example.com", "One", "text")
    now = utcnow()
    db.session.add(SchedulerLease(name="scheduler", holder="h:1", acquired_at=now, heartbeat_at=now,
                                  expires_at=now + dt.timedelta(seconds=60)))
    db.session.commit()
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert 'portico_http_requests_total{endpoint="health.healthz",method="GET",status="200"}' in text
    assert "portico_http_request_duration_seconds_bucket" in text
    assert _value(text, "portico_outbox_pending") == 1
    assert _value(text, "portico_scheduler_up") == 1
    assert _value(text, "portico_scheduler_heartbeat_age_seconds") < 5
    assert 'portico_report_runs{status="failed"}' in text
    assert "portico_login_failures_total" in text or "portico_login_failures" in text


def test_metrics_refused_from_another_address_without_token(client):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 403


def test_metrics_token(client, app):
    app.config["PORTICO_METRICS_TOKEN"] = "metrics-token-" + "z" * 30
    try:
        remote = {"REMOTE_ADDR": "10.1.2.3"}
        assert client.get("/metrics", environ_base=remote).status_code == 403
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403  # loopback too
        assert client.get("/metrics", environ_base=remote,
                          headers={"Authorization": "Bearer " + "metrics-token-" + "z" * 30}).status_code == 200
    finally:
        app.config.pop("PORTICO_METRICS_TOKEN")


def test_login_failures_are_counted(client, db):
    from app.ops.metrics import LOGIN_FAILURES

    before = LOGIN_FAILURES.labels(form="password")._value.get()  # noqa: SLF001
    client.post("/login/", data={"username": "nobody", "password": "wrong"})
    assert LOGIN_FAILURES.labels(form="password")._value.get() == before + 1  # noqa: SLF001


def test_multiprocess_mode_sums_the_workers(tmp_path):
    """Two processes count requests into PROMETHEUS_MULTIPROC_DIR; a third one's scrape sums them."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = textwrap.dedent("""
        from app.ops.metrics import REQUESTS
        REQUESTS.labels(endpoint="x.y", method="GET", status="200").inc(3)
    """)
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], cwd=ROOT, env=env, check=True, timeout=120)
    scrape = textwrap.dedent("""
        from prometheus_client import generate_latest, CollectorRegistry, multiprocess
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        print(generate_latest(registry).decode())
    """)
    out = subprocess.run([sys.executable, "-c", scrape], cwd=ROOT, env=env, check=True, timeout=120,
                         capture_output=True, text=True).stdout
    assert 'portico_http_requests_total{endpoint="x.y",method="GET",status="200"} 6.0' in out
