"""Per-account throttling: after N wrong passwords no password is taken for a while, the right one
neither, on the staff login, the API login and the portal alike; the holder is told once by e-mail."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.models import OutboxEmail, User
from tests.conftest import PASSWORD, login
from tests.factories import make_user


def _wrong(client, username, times):
    for _ in range(times):
        login(client, username, "not-the-password")


def test_the_right_password_is_refused_after_too_many_wrong_ones(app, client, db):
    app.config.update(PORTICO_ACCOUNT_LOCKOUT_FAILURES=3, RATELIMIT_ENABLED=False)
    staff = make_user("Advisor")
    db.session.commit()
    _wrong(client, staff.username, 3)
    refused = login(client, staff.username)  # the right password
    assert refused.status_code != 302 or "/login" in refused.location
    api = client.post("/api/v1/security/login", json={"username": staff.username, "password": PASSWORD,
                                                       "provider": "db"})
    assert api.status_code == 401
    mails = db.session.scalars(select(OutboxEmail).where(OutboxEmail.event == "security.throttled")).all()
    assert len(mails) == 1 and mails[0].to_address == staff.email
    # The window passes without attempts: the right password works again and the count starts afresh.
    db.session.execute(User.__table__.update().where(User.id == staff.id)
                       .values(changed_on=dt.datetime.now() - dt.timedelta(minutes=16)))
    db.session.commit()
    response = login(client, staff.username)
    assert response.status_code == 302 and "/login" not in response.location
    assert db.session.scalar(select(func.count(OutboxEmail.id)).where(OutboxEmail.event == "security.throttled")) == 1


def test_a_few_wrong_passwords_do_not_lock_anyone_out(app, client, db):
    app.config.update(PORTICO_ACCOUNT_LOCKOUT_FAILURES=3, RATELIMIT_ENABLED=False)
    staff = make_user("Advisor")
    db.session.commit()
    _wrong(client, staff.username, 2)
    response = login(client, staff.username)
    assert response.status_code == 302 and "/login" not in response.location
