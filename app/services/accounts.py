"""Logins (staff and portal users): archived, never deleted once history names them.

A user who acted (audit lines), is assigned, clocked time, wrote messages or recorded payments is named by
history with ``ON DELETE RESTRICT``. Archiving deactivates the login (FAB's ``active``): it cannot log in,
its sessions, login links, JWTs and API keys end, and it leaves the technician and other user pickers; every
document and history line still names it. Restore activates it again. Delete stays for a login nothing
names (a mistyped invitation).
"""
from __future__ import annotations

from ..core.actors import Actor
from ..models import User
from . import feeds, history, portal_auth
from .params import Unversioned
from .workflow import Action, ActionTable, perform, register  # noqa: F401 (perform: the one door)


def archive_user(user: User, actor: Actor, **_) -> User:
    history.archive(user, actor)
    portal_auth.revoke_credentials(user)  # its sessions, links, JWTs and API keys end now
    return user


_archive, _restore, _delete = history.archive_rows(("staff",))
USER_TABLE = register(User, ActionTable("user", [
    Action(_archive.sources, "archive", _archive.by, None, archive_user, Unversioned),
    _restore, _delete,
    # the private calendar feed's URL: staff for anyone, a technician for their own login (the effect checks)
    Action(("active",), "rotate_feed", ("staff",), None, feeds.rotate_user_feed, Unversioned),
    Action(("active",), "rotate_feed", ("technician",), None, feeds.rotate_user_feed, Unversioned,
           guard=feeds.is_technician_login),
], state=history.state, known_states=("active", "archived")))
