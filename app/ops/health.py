"""``GET /healthz`` (the process answers) and ``GET /readyz`` (this host can serve), for load balancers.

``/readyz`` answers 200 ``{"ready": true, "checks": {...}}`` or 503 with the same body when a check fails:
``database`` (a ``SELECT 1``), ``migrations`` (the database's Alembic revision is the code's head, or one
this code does not know yet: a newer release migrated it during a rolling upgrade),
``redis`` (``PING`` to the rate-limit storage, only when ``RATELIMIT_STORAGE_URI`` is a Redis URL) and
``uploads`` (a file can be created in ``PORTICO_UPLOAD_DIR``). It also reports the ``scheduler``
heartbeat, which does **not** make the host unready: the scheduler is one process for all hosts, and
taking every host out of the load balancer because it stopped would not help anyone (alert on it instead,
see docs/deploy.md). A failed check says only the kind of error, never a URL, a host name or a password.
No authentication, no session, no rate limit, no login redirect.
"""
from __future__ import annotations

import logging
import os
import tempfile
from functools import lru_cache

from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import text

from ..extensions import db
from .context import register_unlimited

log = logging.getLogger(__name__)
blueprint = Blueprint("health", __name__)


def _ok(**extra) -> dict:
    return {"ok": True, **extra}


def _failed(exc: Exception) -> dict:
    return {"ok": False, "error": type(exc).__name__}


def check_database() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any driver error means "not reachable"
        db.session.rollback()
        log.warning("readyz: database not reachable (%s)", type(exc).__name__)
        return _failed(exc)
    return _ok()


@lru_cache(maxsize=1)
def code_revisions() -> tuple[frozenset[str], frozenset[str]]:
    """The code's head revisions and every revision it knows."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from .. import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    script = ScriptDirectory.from_config(config)
    return frozenset(script.get_heads()), frozenset(r.revision for r in script.walk_revisions())


def check_migrations() -> dict:
    try:
        current = set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    except Exception as exc:  # noqa: BLE001 - no table (never migrated) or no database
        db.session.rollback()
        return _failed(exc)
    heads, known = code_revisions()
    if current == set(heads):
        return _ok(revision=",".join(sorted(current)))
    if current and not current & known:
        # Migrated by a newer release during a rolling upgrade: this host keeps serving until restarted
        # (docs/deploy.md: migrations that break the old code need a maintenance window).
        return _ok(revision=",".join(sorted(current)), note="database ahead of this code")
    return {"ok": False, "error": "not at head", "database": sorted(current), "code": sorted(heads)}


def redis_url() -> str | None:
    uri = current_app.config.get("RATELIMIT_STORAGE_URI") or ""
    return uri if uri.startswith(("redis://", "rediss://", "redis+unix://")) else None


def check_redis(url: str) -> dict:
    import redis

    try:
        client = redis.Redis.from_url(url.replace("redis+unix://", "unix://"), socket_timeout=2,
                                      socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001 - connection refused, timeout, auth …
        log.warning("readyz: Redis not reachable (%s)", type(exc).__name__)
        return _failed(exc)
    return _ok()


def check_uploads() -> dict:
    directory = current_app.config.get("PORTICO_UPLOAD_DIR") or ""
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".readyz-", delete=True) as handle:
            handle.write(b"ok")
            handle.flush()
    except Exception as exc:  # noqa: BLE001 - missing, read-only, full, not mounted …
        log.warning("readyz: upload directory not writable (%s)", type(exc).__name__)
        return _failed(exc)
    return _ok()


def check_scheduler() -> dict:
    from ..services.operations import scheduler_status

    try:
        return {"ok": True, **scheduler_status().as_dict()}
    except Exception as exc:  # noqa: BLE001 - the database check says why
        db.session.rollback()
        return _failed(exc)


def readiness() -> tuple[bool, dict]:
    checks = {"database": check_database()}
    checks["migrations"] = check_migrations() if checks["database"]["ok"] else {"ok": False, "error": "no database"}
    url = redis_url()
    if url:
        checks["redis"] = check_redis(url)
    checks["uploads"] = check_uploads()
    ready = all(check["ok"] for check in checks.values())
    checks["scheduler"] = check_scheduler() if checks["database"]["ok"] else {"ok": False, "error": "no database"}
    return ready, checks


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.route("/healthz", methods=["GET", "HEAD"])
def healthz():
    return _no_store(jsonify(status="ok"))


@blueprint.route("/readyz", methods=["GET", "HEAD"])
def readyz():
    ready, checks = readiness()
    response = jsonify(status="ready" if ready else "not ready", ready=ready, checks=checks)
    response.status_code = 200 if ready else 503
    return _no_store(response)


def register(app: Flask) -> None:
    register_unlimited(app, blueprint)
