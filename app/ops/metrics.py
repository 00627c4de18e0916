"""``GET /metrics``: Prometheus metrics (``prometheus_client``).

- ``portico_http_requests_total{endpoint,method,status}`` and ``portico_http_request_duration_seconds{endpoint,
  method}`` (a histogram), counted per process; under gunicorn set ``PROMETHEUS_MULTIPROC_DIR`` to an empty
  directory shared by the workers (wiped at each start, see deploy/portico-web.service) and one scrape sums
  them all (``MultiProcessCollector``).
- ``portico_login_failures_total{form}``: wrong passwords and refused logins.
- Read from the database at each scrape (the same on every host): ``portico_outbox_pending``,
  ``portico_outbox_failed``, ``portico_outbox_oldest_pending_age_seconds``, ``portico_scheduler_up`` (1 while
  a scheduler holds a live lease), ``portico_scheduler_heartbeat_age_seconds`` (its lag),
  ``portico_report_runs{status}``, ``portico_report_run_failures_last_day`` and
  ``portico_report_run_last_duration_seconds{definition}``.

Access: with ``PORTICO_METRICS_TOKEN`` set, only ``Authorization: Bearer <token>`` (compared as SHA-256 digests
in constant time); without it, only from the loopback address (scrape through an internal port or set the
token). Not rate-limited, no session.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from ..extensions import db
from .context import register_unlimited

log = logging.getLogger(__name__)
blueprint = Blueprint("metrics", __name__)

REQUESTS = Counter("portico_http_requests", "HTTP requests answered", ["endpoint", "method", "status"])
LATENCY = Histogram("portico_http_request_duration_seconds", "Time to answer a request", ["endpoint", "method"],
                    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
LOGIN_FAILURES = Counter("portico_login_failures", "Logins refused (wrong password, throttled, locked)",
                         ["form"])


def count_login_failure(form: str = "password") -> None:
    LOGIN_FAILURES.labels(form=form).inc()


class DatabaseCollector:
    """Figures read from the database at scrape time (shared by all hosts, so every host reports the same)."""

    def collect(self):
        from sqlalchemy import func, select

        from ..models import ReportDefinition, ReportRun, utcnow
        from ..services.operations import outbox_status, scheduler_status

        try:
            outbox, scheduler, now = outbox_status(), scheduler_status(), utcnow()
            runs = dict(db.session.execute(select(ReportRun.status, func.count()).group_by(ReportRun.status)).all())
            import datetime as dt

            failures = db.session.scalar(select(func.count()).select_from(ReportRun).where(
                ReportRun.status == "failed", ReportRun.finished_at >= now - dt.timedelta(days=1)))
            last = db.session.execute(
                select(ReportDefinition.name, ReportRun.started_at, ReportRun.finished_at)
                .join(ReportDefinition, ReportDefinition.id == ReportRun.definition_id)
                .where(ReportRun.finished_at.is_not(None), ReportRun.started_at.is_not(None))
                .order_by(ReportRun.finished_at.desc()).limit(50)).all()
        except Exception:  # noqa: BLE001 - no database: the request metrics still answer
            db.session.rollback()
            log.warning("metrics: database figures unavailable", exc_info=True)
            return
        yield GaugeMetricFamily("portico_outbox_pending", "E-mails waiting to be sent", value=outbox.pending)
        yield GaugeMetricFamily("portico_outbox_failed", "E-mails given up after a day", value=outbox.failed)
        yield GaugeMetricFamily("portico_outbox_oldest_pending_age_seconds", "Age of the oldest pending e-mail",
                                value=outbox.oldest_pending_age_seconds)
        yield GaugeMetricFamily("portico_scheduler_up", "1 while a scheduler holds a live lease",
                                value=0 if scheduler.stale else 1)
        age = scheduler.age_seconds
        yield GaugeMetricFamily("portico_scheduler_heartbeat_age_seconds", "Seconds since the scheduler's heartbeat",
                                value=age if age is not None else float("inf"))
        family = GaugeMetricFamily("portico_report_runs", "Report runs by status", labels=["status"])
        for status in ("queued", "running", "done", "failed"):
            family.add_metric([status], runs.get(status, 0))
        yield family
        yield GaugeMetricFamily("portico_report_run_failures_last_day", "Report runs failed in the last 24 h",
                                value=failures or 0)
        family = GaugeMetricFamily("portico_report_run_last_duration_seconds", "Duration of the last run",
                                   labels=["definition"])
        seen = set()
        for name, started, finished in last:
            if name not in seen:
                seen.add(name)
                family.add_metric([name[:100]], max((finished - started).total_seconds(), 0))
        yield family


_database_collector = DatabaseCollector()


def scrape_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        for collector in (REQUESTS, LATENCY, LOGIN_FAILURES):
            registry.register(collector)
    registry.register(_database_collector)
    return registry


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def allowed() -> bool:
    token = current_app.config.get("PORTICO_METRICS_TOKEN") or os.environ.get("PORTICO_METRICS_TOKEN") or ""
    if token:
        given = request.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(_digest(value.strip()), _digest(token))
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@blueprint.route("/metrics", methods=["GET"])
def metrics():
    if not allowed():
        abort(403)
    body = generate_latest(scrape_registry())
    return Response(body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def register(app: Flask) -> None:
    register_unlimited(app, blueprint)

    @app.after_request
    def count_request(response):
        endpoint = request.endpoint or "(unmatched)"
        if endpoint != "metrics.metrics":
            REQUESTS.labels(endpoint=endpoint, method=request.method, status=str(response.status_code)).inc()
            started = g.get("request_started")
            if started is not None:
                import time

                LATENCY.labels(endpoint=endpoint, method=request.method).observe(time.perf_counter() - started)
        return response
