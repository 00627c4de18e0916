"""The request id of what is being served now, for log records and queued mail (any layer may read it)."""
from __future__ import annotations

import contextvars
import re
import uuid

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("portico_request_id", default=None)

#: What a client (or the reverse proxy) may send as ``X-Request-ID``; anything else is replaced by our own.
ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def current_request_id() -> str | None:
    return _request_id.get()


def accept_or_make(value: str | None) -> str:
    """The client's id if it looks like one (letters, digits, ``._:-``, 8-64 long), else a fresh one."""
    if value and ACCEPTED.fullmatch(value):
        return value
    return uuid.uuid4().hex


def bind(request_id: str | None):
    return _request_id.set(request_id)


def unbind(token) -> None:
    try:
        _request_id.reset(token)
    except ValueError:  # reset in another context (e.g. a copied one): just clear it
        _request_id.set(None)


def register_unlimited(app, blueprint) -> None:
    """Register ``blueprint`` on ``app`` exempt from the rate limits (probes and scrapes must always answer)."""
    app.register_blueprint(blueprint)
    limiter = getattr(getattr(getattr(app, "appbuilder", None), "sm", None), "limiter", None)
    if limiter is not None:
        limiter.exempt(blueprint)
