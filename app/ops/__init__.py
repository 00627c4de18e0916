"""Running Portico on more than one machine: what an operator (and a load balancer) needs from each process.

- ``context``: the id of the request being served (``X-Request-ID``), readable from any layer.
- ``logs``: one JSON object per log line (``LOG_FORMAT=json``, the default) or plain text
  (``LOG_FORMAT=text``, for development); every record carries the request id.
- ``requestlog``: the request id (taken from ``X-Request-ID`` or made) on every answer, one log line per request,
  and the id stamped on mail queued while serving it.
- ``health``: ``GET /healthz`` and ``GET /readyz`` for load balancers and monitoring.
- ``metrics``: the Prometheus endpoint.

These live outside ``views`` and ``services`` because they wrap every request and read every layer's state
(database, Redis, upload directory, scheduler lease) without being a screen or a workflow of their own.
"""
from __future__ import annotations


def register(app) -> None:
    from . import health, requestlog

    requestlog.register(app)
    health.register(app)
    try:
        from . import metrics
    except ImportError:  # prometheus_client missing: no /metrics, everything else works
        return
    metrics.register(app)
