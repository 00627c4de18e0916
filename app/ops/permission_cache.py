"""Each role set's permissions, kept across requests until a role or permission changes.

Flask-AppBuilder asks the database once per permission check — once per menu entry on every page. The
security manager (``app.security``) answers every check of a request from one set of ``(permission, view)``
pairs per combination of roles; this module keeps those sets between requests.

A set is reused while the **generation** it was read at is current. Any commit that adds, changes or removes
a role, a permission, a view name or a role's permission list (Security → Roles, ``flask sync-roles``, start-up
sync, tests) bumps the generation:

- in this process at once (a counter: the next request reads the roles again);
- in every other process through Redis (``INCR portico:security:generation``) when the app has a shared
  Redis (``PORTICO_REDIS_URL``, else ``RATELIMIT_STORAGE_URI`` when it is a Redis URL — several gunicorn
  workers or hosts always have one, see scripts/serve.sh). Each request then reads that key once (one Redis
  GET instead of a SQL join); if Redis does not answer, the request reads the roles from the database.

Without Redis (one process, the embedded SQLite default) a change made by another process — the CLI while
the server runs — is seen after ``PORTICO_PERMISSION_CACHE_SECONDS`` (default 60) at the latest: no set is
kept longer than that in any case.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from flask import current_app, g
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

REDIS_KEY = "portico:security:generation"
DEFAULT_SECONDS = 60
_SECURITY_TABLES = frozenset({"ab_role", "ab_permission", "ab_view_menu", "ab_permission_view",
                              "ab_permission_view_role"})

_lock = threading.Lock()
_local_generation = 0  # bumped by every commit in this process that touched the security tables
_clients: dict[str, object] = {}


class PermissionCache:
    """``pairs(role_ids, load)``: the role set's pairs, from memory when still current, else ``load(role_ids)``."""

    def __init__(self):
        self._sets: dict[tuple[int, ...], tuple[object, float, frozenset]] = {}

    def pairs(self, role_ids: Iterable[int | str], load: Callable[[tuple], Iterable]) -> frozenset:
        """``role_ids``: the ids of a user's roles, or a name such as ``("public",)`` for a fixed role."""
        key = tuple(sorted(role_ids, key=str))
        memo = g.setdefault("_portico_permissions", {})  # one answer per request, whatever happens between
        if key in memo:
            return memo[key]
        stamp = current_generation()
        now = time.monotonic()
        kept = self._sets.get(key)
        if stamp is not None and kept is not None and kept[0] == stamp and now - kept[1] < _seconds():
            found = kept[2]
        else:
            found = frozenset(load(key))
            if stamp is not None:
                self._sets[key] = (stamp, now, found)
        memo[key] = found
        return found

    def clear(self) -> None:
        self._sets.clear()


def _seconds() -> float:
    return float(current_app.config.get("PORTICO_PERMISSION_CACHE_SECONDS", DEFAULT_SECONDS))


def redis_url() -> str | None:
    url = current_app.config.get("PORTICO_REDIS_URL") or current_app.config.get("RATELIMIT_STORAGE_URI") or ""
    return url if url.startswith(("redis://", "rediss://", "redis+unix://")) else None


def _client(url: str):
    client = _clients.get(url)
    if client is None:
        import redis

        client = redis.Redis.from_url(url.replace("redis+unix://", "unix://"), socket_timeout=0.5,
                                      socket_connect_timeout=0.5)
        _clients[url] = client
    return client


def current_generation():
    """This process's generation, with the shared one when there is Redis; ``None``: do not cache now."""
    url = redis_url()
    if url is None:
        return _local_generation
    try:
        shared = _client(url).get(REDIS_KEY)
    except Exception as exc:  # noqa: BLE001 - any Redis failure: read the roles from the database
        log.warning("Permission cache: Redis not reachable (%s); reading permissions from the database",
                    type(exc).__name__)
        return None
    return (_local_generation, shared)


def bump(app=None) -> None:
    """The roles changed: every process reads them again on its next request."""
    global _local_generation
    with _lock:
        _local_generation += 1
    config = (app or current_app).config
    url = config.get("PORTICO_REDIS_URL") or config.get("RATELIMIT_STORAGE_URI") or ""
    if url.startswith(("redis://", "rediss://", "redis+unix://")):
        try:
            _client(url).incr(REDIS_KEY)
        except Exception as exc:  # noqa: BLE001 - the other processes catch up within the cache's lifetime
            log.warning("Permission cache: could not tell other processes (%s); they see the change within "
                        "PORTICO_PERMISSION_CACHE_SECONDS", type(exc).__name__)


def _touches_security(session: Session) -> bool:
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(getattr(type(obj), "__table__", None), "name", None)
        if table in _SECURITY_TABLES:
            return True
    return False


def _after_flush(session: Session, _context) -> None:
    if _touches_security(session):
        session.info["portico_security_changed"] = True


def _after_commit(session: Session) -> None:
    if session.info.pop("portico_security_changed", False):
        try:
            bump()
        except RuntimeError:  # no app context (a script's own session): this process's counter only
            global _local_generation
            with _lock:
                _local_generation += 1


def _after_rollback(session: Session, _previous) -> None:
    session.info.pop("portico_security_changed", None)


def listen() -> None:
    """Watch every ORM session of the process for role and permission changes (idempotent)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)
