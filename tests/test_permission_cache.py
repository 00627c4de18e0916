"""Each role's permissions are read once and kept across requests until a role changes (issue 15, item 7)."""
from __future__ import annotations

import pytest
import redis
from sqlalchemy import event

from app.ops import permission_cache
from tests.factories import make_user

PAGE = "/workorderview/list/"


def _statements(app, client, url):
    """(status, the request's SQL statements), in an app context of its own as under a real server."""
    from app.extensions import db

    seen = []

    def listener(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        with app.app_context():
            response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return response.status_code, seen


def _permission_reads(statements):
    return [s for s in statements if "ab_permission_view_role" in s]


@pytest.fixture()
def advisor(db, client, login_as):
    user = make_user("Advisor")
    db.session.commit()
    login_as(user)
    return user


def _role_pair(sm, role_name, permission, view):
    role = sm.find_role(role_name)
    pair = next(p for p in role.permissions if p.permission.name == permission and p.view_menu.name == view)
    return role, pair


def test_a_second_page_reads_no_permissions(app, client, advisor):
    status, first = _statements(app, client, PAGE)
    assert status == 200
    status, second = _statements(app, client, PAGE)
    assert status == 200
    assert _permission_reads(second) == []
    # the first request of this role set read them in one statement, not one per menu entry
    assert len(_permission_reads(first)) <= 1
    assert len(second) < len(first)


def test_taking_a_permission_away_counts_on_the_next_request(app, db, client, advisor):
    sm = app.appbuilder.sm
    assert _statements(app, client, PAGE)[0] == 200
    role, pair = _role_pair(sm, "Advisor", "can_list", "WorkOrders")
    role.permissions.remove(pair)
    db.session.commit()
    try:
        status, statements = _statements(app, client, PAGE)
        assert status in (302, 403)  # refused: FAB redirects to the login page with a flash, or 403
        assert len(_permission_reads(statements)) == 1
    finally:
        role.permissions.append(pair)
        db.session.commit()
    assert _statements(app, client, PAGE)[0] == 200


def test_another_process_tells_through_redis(app, client, advisor, monkeypatch):
    """With a shared Redis, a role change in another worker (an INCR of the key) makes this one read again."""
    url = "redis://127.0.0.1:6379/15"
    shared = redis.Redis.from_url(url)
    shared.delete(permission_cache.REDIS_KEY)
    monkeypatch.setitem(app.config, "PORTICO_REDIS_URL", url)
    assert _statements(app, client, PAGE)[0] == 200
    assert _permission_reads(_statements(app, client, PAGE)[1]) == []
    shared.incr(permission_cache.REDIS_KEY)  # what bump() does in the process where the role changed
    assert len(_permission_reads(_statements(app, client, PAGE)[1])) == 1
    assert _permission_reads(_statements(app, client, PAGE)[1]) == []
    shared.delete(permission_cache.REDIS_KEY)


def test_redis_down_reads_from_the_database(app, client, advisor, monkeypatch):
    monkeypatch.setitem(app.config, "PORTICO_REDIS_URL", "redis://127.0.0.1:1/0")
    for _ in range(2):
        status, statements = _statements(app, client, PAGE)
        assert status == 200
        assert len(_permission_reads(statements)) == 1


def test_no_set_outlives_its_lifetime(app, client, advisor, monkeypatch):
    """Without Redis, a change made by another process (the CLI) is seen after the cache's lifetime."""
    assert _statements(app, client, PAGE)[0] == 200
    monkeypatch.setitem(app.config, "PORTICO_PERMISSION_CACHE_SECONDS", 0)
    assert len(_permission_reads(_statements(app, client, PAGE)[1])) == 1
