"""The request id and the request log.

Each request gets an id: the client's (or reverse proxy's) ``X-Request-ID`` when it looks like one, else a
fresh one; it is sent back as ``X-Request-ID``, is on every log record written while serving the request
(``logs.RequestIdFilter``), and is stored on mail queued by the request (``OutboxEmail.request_id``, sent as
the mail's ``X-Request-ID`` header). One log line per request (logger ``portico.request``) holds time,
request id, method, route, endpoint, status, duration in ms and the user id; the route is the URL rule
(``/portal/login/<token>``), never the path itself, and there is no query string, body, header, address or
name in it: nothing a token or personal data could be in.
"""
from __future__ import annotations

import logging
import time

from flask import Flask, g, request
from sqlalchemy import event

from . import context

log = logging.getLogger("portico.request")


def route_of() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "(unmatched)"


def user_id_of() -> int | None:
    """The signed-in user's id, only when this request already loaded the user (no query just for the log)."""
    user = g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        return int(user.get_id())
    except (TypeError, ValueError):
        return None


def _stamp_mail(_mapper, _connection, mail) -> None:
    if getattr(mail, "request_id", None) is None:
        mail.request_id = context.current_request_id()


def register(app: Flask) -> None:
    from ..models import OutboxEmail

    if not event.contains(OutboxEmail, "before_insert", _stamp_mail):
        event.listen(OutboxEmail, "before_insert", _stamp_mail)

    def begin_request():
        g.request_started = time.perf_counter()
        g.request_id = context.accept_or_make(request.headers.get("X-Request-ID"))
        g.request_id_token = context.bind(g.request_id)

    # First of all before-request functions: a request refused by one of them (a 400) has its id too.
    app.before_request_funcs.setdefault(None, []).insert(0, begin_request)

    @app.after_request
    def end_request(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        started = g.get("request_started")
        duration_ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
        g.request_duration = duration_ms
        fields = {"event": "request", "method": request.method, "route": route_of(),
                  "endpoint": request.endpoint or "-", "status": response.status_code,
                  "duration_ms": duration_ms, "user_id": user_id_of()}
        log.info("%s %s %s %sms", request.method, fields["route"], response.status_code, duration_ms,
                 extra={"fields": fields})
        return response

    @app.teardown_request
    def forget_request_id(_exc=None):
        token = g.pop("request_id_token", None)
        if token is not None:
            context.unbind(token)
