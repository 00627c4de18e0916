"""Portico configuration: every setting comes from the environment with a safe default.

The secret key is never committed: when ``SECRET_KEY`` is unset, 32+ random bytes are generated once
into ``instance/secret_key`` (mode 0600) and reused on every start.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("PORTICO_INSTANCE_DIR", BASE_DIR / "instance"))


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _base_url() -> str:
    """The address in e-mailed and copied links: ``PORTICO_BASE_URL``, else the one ``make run`` serves
    (``scripts/serve.sh`` binds 127.0.0.1 at ``PORT``, default 5000). Never the request's Host header."""
    configured = (os.environ.get("PORTICO_BASE_URL") or "").strip()
    if configured:
        return configured.rstrip("/")
    port = (os.environ.get("PORT") or "").strip()
    return f"http://127.0.0.1:{port if port.isdecimal() and 0 < int(port) < 65536 else 5000}"


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(48))
    return path.read_text().strip()


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        # Heroku-style URLs and plain "postgresql://" both go through psycopg 3.
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{INSTANCE_DIR / 'portico.db'}"


class Config:
    APP_NAME = "Portico"
    APP_ICON = ""
    SECRET_KEY = _secret_key()

    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    # Flask-AppBuilder: migrations own the schema, Portico syncs roles and permissions itself.
    FAB_CREATE_DB = False
    FAB_UPDATE_PERMS = False
    AUTH_TYPE = 1  # AUTH_DB
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
    AUTH_USER_REGISTRATION = False
    FAB_ADD_SECURITY_API = True
    FAB_API_SWAGGER_UI = True
    FAB_API_MAX_PAGE_SIZE = 100
    FAB_PASSWORD_COMPLEXITY_ENABLED = False
    FAB_SAFE_REDIRECT_HOSTS = [
        h.strip() for h in os.environ.get("PORTICO_SAFE_REDIRECT_HOSTS", "127.0.0.1,localhost").split(",")
        if h.strip()
    ]
    FAB_API_KEY_ENABLED = True
    FAB_INDEX_VIEW = "app.views.home.PorticoIndexView"
    FAB_BASE_TEMPLATE = "portico/baselayout.html"
    LANGUAGES = {"en": {"flag": "gb", "name": "English"}, "de": {"flag": "de", "name": "Deutsch"}}
    BABEL_DEFAULT_LOCALE = "en"

    # Security baseline
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # token lives as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("PORTICO_SECURE_COOKIES", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    # Reverse proxies in front of Portico (0: none). Their X-Forwarded-For gives the client's address.
    PORTICO_TRUSTED_PROXIES = int(os.environ.get("PORTICO_TRUSTED_PROXIES", "0") or 0)
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 12
    MAX_CONTENT_LENGTH = int(os.environ.get("PORTICO_MAX_UPLOAD_BYTES", 25 * 1024 * 1024))  # one request
    PORTICO_UPLOAD_MAX_BYTES = int(os.environ.get("PORTICO_UPLOAD_MAX_BYTES", 10 * 1024 * 1024))  # one file
    PORTICO_IMPORT_MAX_BYTES = int(os.environ.get("PORTICO_IMPORT_MAX_BYTES", 20 * 1024 * 1024))  # one import file

    # Per account: after this many wrong passwords, no password is taken for that many minutes.
    PORTICO_ACCOUNT_LOCKOUT_FAILURES = int(os.environ.get("PORTICO_ACCOUNT_LOCKOUT_FAILURES", "10") or 10)
    PORTICO_ACCOUNT_LOCKOUT_MINUTES = int(os.environ.get("PORTICO_ACCOUNT_LOCKOUT_MINUTES", "15") or 15)
    AUTH_RATE_LIMITED = True
    AUTH_RATE_LIMIT = os.environ.get("PORTICO_LOGIN_RATE_LIMIT", "10 per minute")
    API_LOGIN_RATE_LIMIT = os.environ.get("PORTICO_API_LOGIN_RATE_LIMIT", "10 per minute")
    # The portal's sign-in forms and public request form (defaults in app/services/portal_auth.py RATE_LIMITS).
    PORTICO_LOGIN_LINK_RATE_LIMIT = os.environ.get("PORTICO_LOGIN_LINK_RATE_LIMIT")  # per e-mail address
    #: A link request answers no faster than this, known address or not (no timing oracle for accounts).
    PORTICO_EQUAL_ANSWER_SECONDS = float(os.environ.get("PORTICO_EQUAL_ANSWER_SECONDS", "0.4"))
    PORTICO_PORTAL_IP_RATE_LIMIT = os.environ.get("PORTICO_PORTAL_IP_RATE_LIMIT")  # per client address
    PORTICO_PUBLIC_REQUEST_RATE_LIMIT = os.environ.get("PORTICO_PUBLIC_REQUEST_RATE_LIMIT")
    RATELIMIT_ENABLED = _bool("PORTICO_RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    #: Redis shared by the processes for the permission cache's generation (app/ops/permission_cache.py);
    #: unset: the rate-limit storage when it is Redis. Without Redis a role change made in another process
    #: counts after PORTICO_PERMISSION_CACHE_SECONDS at the latest.
    PORTICO_REDIS_URL = os.environ.get("PORTICO_REDIS_URL", "")
    PORTICO_PERMISSION_CACHE_SECONDS = float(os.environ.get("PORTICO_PERMISSION_CACHE_SECONDS", "60"))

    # Mail (Flask-Mail's setting names). Without MAIL_SERVER mail stays in the outbox and the log.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Portico <portico@example.com>")

    PORTICO_BASE_URL = _base_url()  # the Settings screen's "Address in e-mailed links" wins over it
    PORTICO_DEMO_PASSWORD = os.environ.get("PORTICO_DEMO_PASSWORD", "portico-demo")
    PORTICO_UPLOAD_DIR = os.environ.get("PORTICO_UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    PORTICO_EXPORT_DIR = os.environ.get("PORTICO_EXPORT_DIR", str(BASE_DIR / "exports"))
    PORTICO_SYNC_SECURITY_ON_START = _bool("PORTICO_SYNC_SECURITY_ON_START", True)


class TestConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    MAIL_SERVER = ""
    PORTICO_EQUAL_ANSWER_SECONDS = 0.05  # the floor is tested on its own; the suite asks for many links
    # Thousands of test users and logins: scrypt's ~0.1 s per hash and per check cost the suite minutes.
    # Production keeps FAB's scrypt default (tests/test_security_config.py checks that it does).
    FAB_PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    PORTICO_SYNC_SECURITY_ON_START = True
