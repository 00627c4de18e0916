"""/healthz and /readyz: JSON, no login, no secrets, 503 when this host cannot serve (issue 18)."""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile

import pytest
from sqlalchemy import text

from app.models import SchedulerLease, utcnow


def test_healthz_answers_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_readyz_ready(client, app):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["ready"] is True and body["status"] == "ready"
    assert {"database", "migrations", "uploads", "scheduler"} <= set(body["checks"])
    assert body["checks"]["migrations"]["revision"]
    assert "redis" not in body["checks"]  # memory:// storage: nothing to check
    assert body["checks"]["scheduler"]["stale"] is True  # no scheduler ever ran: reported, not unready
    assert app.config["SECRET_KEY"] not in response.get_data(as_text=True)


def test_readyz_shows_a_live_then_stale_scheduler(client, db):
    now = utcnow()
    db.session.add(SchedulerLease(name="scheduler", holder="h:1", acquired_at=now, heartbeat_at=now,
                                  expires_at=now + dt.timedelta(seconds=60)))
    db.session.commit()
    scheduler = client.get("/readyz").get_json()["checks"]["scheduler"]
    assert scheduler["stale"] is False and scheduler["heartbeat_age_seconds"] < 5
    lease = db.session.get(SchedulerLease, "scheduler")
    lease.heartbeat_at, lease.expires_at = now - dt.timedelta(minutes=5), now - dt.timedelta(minutes=4)
    db.session.commit()
    response = client.get("/readyz")
    assert response.status_code == 200  # one scheduler for all hosts: a stale one does not pull this host
    assert response.get_json()["checks"]["scheduler"]["stale"] is True
    assert response.get_json()["checks"]["scheduler"]["heartbeat_age_seconds"] >= 300


def test_readyz_503_when_upload_dir_is_not_writable(client, app):
    blocker = tempfile.NamedTemporaryFile(delete=False)  # a file where a directory should be: even root fails
    blocker.close()
    old = app.config["PORTICO_UPLOAD_DIR"]
    app.config["PORTICO_UPLOAD_DIR"] = os.path.join(blocker.name, "uploads")
    try:
        response = client.get("/readyz")
    finally:
        app.config["PORTICO_UPLOAD_DIR"] = old
        os.unlink(blocker.name)
    assert response.status_code == 503
    body = response.get_json()
    assert body["ready"] is False and body["checks"]["uploads"] == {"ok": False, "error": "NotADirectoryError"}
    assert body["checks"]["database"]["ok"] is True
    assert blocker.name not in response.get_data(as_text=True)  # no paths


@contextlib.contextmanager
def schema_version(db, version: str):
    """The database claims ``version`` for the block, then its own again."""
    (current,) = db.session.execute(text("SELECT version_num FROM alembic_version")).one()
    db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": version})
    db.session.commit()
    try:
        yield
    finally:
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": current})
        db.session.commit()


def test_readyz_503_when_migrations_are_behind(client, db):
    with schema_version(db, "0017_documents"):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["migrations"]["error"] == "not at head"


def test_readyz_stays_ready_when_a_newer_release_migrated(client, db):
    """Rolling upgrade: migrate first, then restart hosts one by one; the old ones keep serving meanwhile."""
    with schema_version(db, "9999_from_the_future"):
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["migrations"]["note"] == "database ahead of this code"


def test_readyz_503_when_redis_is_down_and_ok_when_up(client, app):
    old = app.config.get("RATELIMIT_STORAGE_URI")
    app.config["RATELIMIT_STORAGE_URI"] = "redis://:s3cret-pass@127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/readyz")
    finally:
        app.config["RATELIMIT_STORAGE_URI"] = old
    assert response.status_code == 503
    assert response.get_json()["checks"]["redis"]["ok"] is False
    assert "s3cret" not in response.get_data(as_text=True)

    import redis

    try:
        redis.Redis(socket_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    app.config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:6379/0"
    try:
        response = client.get("/readyz")
    finally:
        app.config["RATELIMIT_STORAGE_URI"] = old
    assert response.status_code == 200 and response.get_json()["checks"]["redis"] == {"ok": True}


def test_readyz_503_when_the_database_is_unreachable():
    """An app whose database cannot be opened (a stopped server looks the same to the driver)."""
    from app import create_app
    from config import TestConfig

    missing = os.path.join(tempfile.mkdtemp(), "no", "such", "dir", "portico.db")
    broken = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{missing}",
                        PORTICO_SYNC_SECURITY_ON_START=False, PORTICO_UPLOAD_DIR=tempfile.mkdtemp())
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["database"] == {"ok": False, "error": "OperationalError"}
    assert checks["migrations"]["ok"] is False
    assert broken.test_client().get("/healthz").status_code == 200  # the process still answers


def test_health_routes_are_not_rate_limited_and_need_no_login(database_url):
    """Even with a default limit of 2 per minute on every route, the probes always answer."""
    from app import create_app
    from config import TestConfig

    limited = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, PORTICO_SYNC_SECURITY_ON_START=False,
                         RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2 per minute",
                         PORTICO_UPLOAD_DIR=tempfile.mkdtemp())
    client = limited.test_client()
    for _ in range(5):
        assert client.get("/readyz").status_code == 200
        assert client.get("/healthz").status_code == 200
    assert client.head("/healthz").status_code == 200
    assert 429 in {client.get("/login/").status_code for _ in range(3)}  # the default limit is on
