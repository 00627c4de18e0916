"""Logins (staff and portal users): archived, never deleted once history names them.

A user who acted (audit lines), is assigned, clocked time, wrote messages or recorded payments is named by
history with ``ON DELETE RESTRICT``. Archiving deactivates the login (FAB's ``active``): it cannot log in,
its portal sessions and login links end, and it leaves the technician and other user pickers; every
document and history line still names it. Restore activates it again. Delete stays for a login nothing
names (a mistyped invitation).
"""
from __future__ import annotations

from sqlalchemy import update

from ..core.actors import Actor
from ..extensions import db
from ..models import LoginToken, PortalSession, User, utcnow
from . import history
from .params import Unversioned
from .workflow import Action, ActionTable, perform, register  # noqa: F401 (perform: the one door)


def archive_user(user: User, actor: Actor, **_) -> User:
    history.archive(user, actor)
    now = utcnow()
    db.session.execute(update(PortalSession).where(PortalSession.user_id == user.id,
                                                   PortalSession.ended_at.is_(None)).values(ended_at=now))
    db.session.execute(update(LoginToken).where(LoginToken.user_id == user.id,
                                                LoginToken.revoked_at.is_(None)).values(revoked_at=now))
    return user


_archive, _restore, _delete = history.archive_rows(("staff",))
USER_TABLE = register(User, ActionTable("user", [
    Action(_archive.sources, "archive", _archive.by, None, archive_user, Unversioned),
    _restore, _delete,
], state=history.state, known_states=("active", "archived")))
