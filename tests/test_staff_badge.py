"""The staff navbar's unread badge (issue 15, item 6): the count of the user's unread staff notifications,
from the same rule as the notification list (``scope.staff_feed``), in one indexed query."""
from __future__ import annotations

import re

from sqlalchemy import event

from app.core.scope import unread_staff_notifications
from app.models import Notification, utcnow
from app.services import notify
from tests.factories import actor, make_user

COUNT = re.compile(r'id="portico-unread" hidden data-count="(\d+)"')


def badge(client, url="/notificationview/list/") -> int:
    html = client.get(url).get_data(as_text=True)
    found = COUNT.search(html)
    assert found, "no badge source on the page"
    assert "staff-badge.js" in html
    return int(found.group(1))


def test_the_badge_counts_the_user_s_unread_notifications(db, login_as):
    advisor, tech, other_tech = make_user("Advisor"), make_user("Technician"), make_user("Technician")
    db.session.commit()
    notify.to_staff("request.new", "REQ-000001 is new")  # the shop's feed: staff, not technicians
    notify.to_staff("request.new", "REQ-000002 is new")
    mine = notify.to_staff("work_order.assigned", "WO-000001 is assigned to you", user_id=tech.id)
    notify.to_staff("work_order.assigned", "WO-000002 is assigned to you", user_id=other_tech.id)
    db.session.commit()
    assert unread_staff_notifications(actor(advisor)) == 2
    assert unread_staff_notifications(actor(tech)) == 1
    client = login_as(advisor)
    assert badge(client) == 2
    assert 'ungelesene' not in client.get("/notificationview/list/").get_data(as_text=True)
    listed = client.get("/notificationview/list/").get_data(as_text=True)
    assert "2 unread notifications" in listed and "REQ-000001 is new" in listed and "WO-000001" not in listed
    # reading one lowers the count
    first = db.session.scalar(db.select(Notification).where(Notification.title == "REQ-000001 is new"))
    first.read_at = utcnow()
    db.session.commit()
    assert badge(client, "/bookingboard/") == 1
    tech_client = login_as(tech)
    assert badge(tech_client, "/technician/today") == 1
    mine.read_at = utcnow()
    db.session.commit()
    assert badge(tech_client, "/technician/today") == 0


def test_the_count_is_one_statement(db, app):
    advisor = make_user("Advisor")
    db.session.commit()
    for n in range(30):
        notify.to_staff("request.new", f"REQ-{n:06d} is new")
    db.session.commit()
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    who = actor(advisor)
    engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert unread_staff_notifications(who) == 30
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(statements) == 1 and "count(" in statements[0].lower()
