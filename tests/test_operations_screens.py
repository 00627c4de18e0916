"""A scheduler nobody has to watch: its heartbeat, and the screens that show a stale one or failed mail."""
from __future__ import annotations

import datetime as dt

from app.extensions import db as database
from app.models import OutboxEmail, SchedulerLease, utcnow
from app.scheduler import Lease
from app.services import mailer, notify
from tests.conftest import login
from tests.factories import make_user


def _manager_client(app, db):
    manager = make_user("Manager")
    db.session.commit()
    client = app.test_client()
    login(client, manager.username)
    return client


def test_the_lease_holder_writes_a_heartbeat(app, db):
    lease = Lease(database.engine, "host-a:1", 30)
    assert lease.acquire()
    first = db.session.get(SchedulerLease, "scheduler").heartbeat_at
    assert first is not None and abs((utcnow() - first).total_seconds()) < 5
    db.session.expire_all()
    row = db.session.get(SchedulerLease, "scheduler")
    row.heartbeat_at = first - dt.timedelta(minutes=1)
    db.session.commit()
    assert lease.renew()
    db.session.expire_all()
    assert db.session.get(SchedulerLease, "scheduler").heartbeat_at >= first


def test_dashboard_and_outbox_warn_of_a_stale_scheduler_and_failed_mail(app, db):
    now = utcnow()
    db.session.add(SchedulerLease(name="scheduler", holder="host-a:1", acquired_at=now - dt.timedelta(hours=1),
                                  heartbeat_at=now - dt.timedelta(minutes=10),
                                  expires_at=now - dt.timedelta(minutes=9)))
    failed = notify.queue_email("x@example.com", "Lost", "text")
    db.session.flush()
    failed.status = "failed"
    notify.queue_email("y@example.com", "Waiting", "text")
    db.session.commit()
    client = _manager_client(app, db)
    dashboard = client.get("/dashboard/").get_data(as_text=True)
    assert "The scheduler has not reported since" in dashboard and "10 minutes ago" in dashboard
    assert "1 e-mail(s) could not be sent for a day" in dashboard
    assert "not sent: no mail server configured" in dashboard
    outbox = client.get("/outboxview/list/").get_data(as_text=True)
    assert "The scheduler has not reported since" in outbox and "could not be sent" in outbox


def test_no_warning_while_the_scheduler_beats(app, db):
    now = utcnow()
    db.session.add(SchedulerLease(name="scheduler", holder="host-a:1", acquired_at=now, heartbeat_at=now,
                                  expires_at=now + dt.timedelta(seconds=60)))
    db.session.commit()
    client = _manager_client(app, db)
    page = client.get("/dashboard/").get_data(as_text=True)
    assert "operations-alert" not in page
    assert "scheduler has not reported" not in client.get("/outboxview/list/").get_data(as_text=True)


def test_outbox_list_says_why_mail_is_not_sent(app, db):
    notify.queue_email("z@example.com", "Kept", "text")
    db.session.commit()
    mailer.send_due()
    assert db.session.query(OutboxEmail).one().last_error == mailer.NOT_CONFIGURED
    page = _manager_client(app, db).get("/outboxview/list/").get_data(as_text=True)
    assert mailer.NOT_CONFIGURED in page
    assert "2036" not in page
