"""Extensions that live at module level. Only objects without per-app state belong here.

The AppBuilder itself is created inside ``create_app`` (a module-level one would register no views in a
second app, e.g. every test's app); reach it through ``current_app.appbuilder``. Rate limiting uses the
security manager's own Flask-Limiter (``appbuilder.sm.limiter``), configured by ``RATELIMIT_*``.
"""
import os
import sqlite3

from flask_appbuilder.utils.legacy import get_sqla_class
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine

db = get_sqla_class()()

#: How long a SQLite writer waits for another before the request answers 503 (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = int(os.environ.get("PORTICO_SQLITE_BUSY_TIMEOUT_MS", "5000"))
csrf = CSRFProtect()
migrate = Migrate()


@event.listens_for(Engine, "connect")
def _sqlite_enforces_foreign_keys(dbapi_connection, _record) -> None:
    """SQLite checks foreign keys only when each connection asks: history's ``ON DELETE RESTRICT`` holds
    on the embedded default as on PostgreSQL (the migrations turn it off while they rebuild tables)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # Readers never wait for the writer (WAL); a writer waits up to 5 s for another, then the request
        # answers 503 "try again" (``views.errors``) instead of failing at once.
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_MS)}")
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] not in ("wal", "memory"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
