"""Test fixtures: one app and one fresh database per test run, emptied between tests.

The database is SQLite (a temporary file) unless ``PORTICO_TEST_DATABASE_URL`` names a PostgreSQL
server, in which case a throw-away schema is created there for the run (``make test`` runs the suite
once per database when ``TEST_DATABASE_URL`` is set). The schema is built by the migrations, exactly as
in production, and roles are synced by the app factory.
"""
from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

os.environ.setdefault("PORTICO_INSTANCE_DIR", tempfile.mkdtemp(prefix="portico-instance-"))
os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "x" * 48)

#: Tables that hold the synced roles and permissions; everything else is emptied after each test.
KEEP_TABLES = {"ab_permission", "ab_view_menu", "ab_permission_view", "ab_role", "ab_permission_view_role",
               "alembic_version", "document_sequence"}


def _postgres_database(url: str):
    """A throw-away schema in the database ``url`` names; return its URL and a drop callback.

    A schema, not a database: CREATE/DROP DATABASE force checkpoints, which take many seconds on a busy
    disk. Every connection of the run gets the schema as its ``search_path``.
    """
    base = make_url(url)
    if base.drivername in ("postgresql", "postgres"):
        base = base.set(drivername="postgresql+psycopg")
    name = f"portico_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    admin.dispose()

    def drop():
        engine = create_engine(base, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        engine.dispose()

    scoped = base.update_query_dict({"options": f"-csearch_path={name} -csynchronous_commit=off"})
    return scoped.render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def database_url():
    pg_url = os.environ.get("PORTICO_TEST_DATABASE_URL")
    if pg_url:
        url, drop = _postgres_database(pg_url)
        yield url
        drop()
    else:
        directory = tempfile.mkdtemp(prefix="portico-test-db-")
        yield f"sqlite:///{Path(directory) / 'test.db'}"


@pytest.fixture(scope="session")
def app(database_url):
    from flask_migrate import upgrade

    from app import create_app
    from config import TestConfig

    uploads = tempfile.mkdtemp(prefix="portico-uploads-")
    exports = tempfile.mkdtemp(prefix="portico-exports-")
    # First app: build the schema; second app: the one the tests use, synced at start-up like production.
    bootstrap = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, PORTICO_SYNC_SECURITY_ON_START=False)
    with bootstrap.app_context():
        upgrade()
        from app.extensions import db

        db.engine.dispose()
    application = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url,
                             PORTICO_UPLOAD_DIR=uploads, PORTICO_EXPORT_DIR=exports)
    return application


@pytest.fixture(autouse=True)
def _app_context(app):
    """Every test runs inside an app context; the database is emptied afterwards."""
    from app.extensions import db

    with app.app_context():
        yield
        db.session.rollback()
        db.session.remove()
        _empty_database(db)


def _empty_database(db) -> None:
    from flask_appbuilder import Model

    tables = [t for t in reversed(Model.metadata.sorted_tables) if t.name not in KEEP_TABLES]
    # DELETE, not TRUNCATE: TRUNCATE syncs new files to disk for every table and is far slower here.
    with db.engine.begin() as conn:
        for table in tables:
            conn.execute(table.delete())
        conn.execute(text("UPDATE document_sequence SET value = 0"))


@pytest.fixture()
def db():
    from app.extensions import db as database

    return database


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def runner(app):
    return app.test_cli_runner()


PASSWORD = "test-password-1"


def login(client, username: str, password: str = PASSWORD):
    """Log in through FAB's real login form; returns the response."""
    return client.post("/login/", data={"username": username, "password": password}, follow_redirects=False)


@pytest.fixture()
def login_as(client):
    """``login_as(user)`` logs the test client in as that user (made by ``factories.make_user``)."""

    def _login(user):
        client.get("/logout/")
        response = login(client, user.username)
        assert response.status_code == 302, "login failed"
        return client

    return _login
