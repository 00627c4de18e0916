"""Log lines an operator can use: JSON objects by default (``LOG_FORMAT=json``), text with ``LOG_FORMAT=text``.

Every record gets the request id (``request_id``, ``-`` outside a request) from ``RequestIdFilter``; the JSON
form has ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``request_id`` and whatever the record
was given in ``extra={"fields": {...}}`` (the request log puts method, route, status … there).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os

from .context import current_request_id

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id``: the id of the request being served, or ``-``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or current_request_id() or "-",
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def log_format() -> str:
    return "text" if os.environ.get("LOG_FORMAT", "json").strip().lower() == "text" else "json"


def make_handler(kind: str | None = None) -> logging.Handler:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if (kind or log_format()) == "text":
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    else:
        handler.setFormatter(JsonFormatter())
    handler._portico = True  # noqa: SLF001 - marks the handler we installed (configure() is idempotent)
    return handler


def configure() -> None:
    """Install Portico's stderr handler on the root logger once (unless something else configured logging,
    e.g. pytest: then only the request id filter is added to the handlers that are there)."""
    # APScheduler logs two lines per job run (the outbox every minute, queued runs every 5 s): errors only.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    root = logging.getLogger()
    if any(getattr(h, "_portico", False) for h in root.handlers):
        return
    if not root.handlers:
        root.addHandler(make_handler())
        root.setLevel(logging.INFO)
        return
    for handler in root.handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
