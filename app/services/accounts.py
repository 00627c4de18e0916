"""Logins (staff and portal users): archived, never deleted once history names them.

A user who acted (audit lines), is assigned, clocked time, wrote messages or recorded payments is named by
history with ``ON DELETE RESTRICT``. Archiving deactivates the login (FAB's ``active``): it cannot log in,
its sessions, login links, JWTs and API keys end, and it leaves the technician and other user pickers; every
document and history line still names it. Restore activates it again. Delete stays for a login nothing
names (a mistyped invitation).
"""
from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import func, select

from ..core.actors import Actor
from ..core.errors import Conflict, ValidationFailed
from ..core.fields import Key
from ..extensions import db
from ..models import Customer, PortalUser, User
from . import feeds, history, portal_auth
from .audit import record
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


# --- portal access from the customer's page (rows of the customer's table, ``customers.TABLE``) -------------

class InviteParams(Unversioned):
    email = fields.String(required=True, validate=validate.Length(max=255),
                          metadata={"description": "The person's e-mail address: their login."})
    name = fields.String(allow_none=True, validate=validate.Length(max=128),
                         metadata={"description": "Their name (first and last); the address's name if absent."})


class PortalUserParams(Unversioned):
    portal_user = Key(required=True, attribute="portal_user_id",
                      metadata={"description": "One of this customer's portal users (its id)."})


@dataclass(frozen=True)
class Invitation:
    link: PortalUser
    created: bool  # False: the address was already this account's login (nothing new, no mail)

    @property
    def id(self) -> int:
        return self.link.id


def _address(raw) -> str:
    try:
        return validate_email((raw or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationFailed({"email": [_l("Enter a valid e-mail address such as name@example.com.")]}) from None


def _names(name: str | None, email: str) -> tuple[str, str]:
    parts = (name or "").split()
    if not parts:
        return email.split("@", 1)[0][:64], ""
    return parts[0][:64], " ".join(parts[1:])[:64]


def invite(customer: Customer, actor: Actor, email: str, name: str | None = None) -> Invitation:
    """A portal login for ``email`` acting for ``customer`` (role Customer, Reseller for a reseller account)
    and the invitation mail with a login link, through the outbox. The same address again is the same login
    (nothing new, no second mail); an address that is another account's login, or a staff login, is a 409
    that does not say whose."""
    email = _address(email)
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    if user is not None:
        link = db.session.scalar(select(PortalUser).where(PortalUser.user_id == user.id))
        if link is None or link.customer_id != customer.id:
            raise Conflict(_l("This e-mail address already belongs to another login."))
        return Invitation(link, False)
    sm = current_app.appbuilder.sm
    first, last = _names(name, email)
    role = sm.find_role("Reseller" if customer.is_reseller else "Customer")
    user = sm.add_user(username=portal_auth.free_username(email), first_name=first, last_name=last, email=email,
                       role=role, commit=False)  # no password: FAB stores the hash of a random secret
    if not user:
        raise ValidationFailed({"email": [_l("We could not create a login for this address.")]})
    link = PortalUser(user_id=user.id, customer_id=customer.id, language=customer.language)
    db.session.add(link)
    db.session.flush()
    portal_auth.queue_invitation(user, customer)
    record(customer, "invite", None, None, actor, email)
    return Invitation(link, True)


def portal_user_of(customer: Customer, portal_user_id: int) -> PortalUser:
    link = db.session.get(PortalUser, portal_user_id)
    if link is None or link.customer_id != customer.id:
        raise ValidationFailed({"portal_user": [_l("Choose one of this customer's portal users.")]})
    return link


def _active_login(customer: Customer, portal_user_id: int) -> User:
    user = portal_user_of(customer, portal_user_id).user
    if not user.active:
        raise Conflict(_l("This login is locked: unlock it first."))
    return user


def send_login_link(customer: Customer, actor: Actor, portal_user_id: int) -> User:
    user = _active_login(customer, portal_user_id)
    portal_auth.queue_login_link(user)
    record(customer, "send_login_link", None, None, actor, user.email)
    return user


def send_password_reset(customer: Customer, actor: Actor, portal_user_id: int) -> User:
    user = _active_login(customer, portal_user_id)
    portal_auth.queue_password_reset(user)
    record(customer, "send_password_reset", None, None, actor, user.email)
    return user


def copy_login_link(customer: Customer, actor: Actor, portal_user_id: int) -> str:
    """A fresh login link to show once on the staff screen (no mail needed); audited without the link."""
    user = _active_login(customer, portal_user_id)
    url = portal_auth.copy_login_link(user)
    record(customer, "login_link", None, None, actor, user.email)
    return url


def lock_user(customer: Customer, actor: Actor, portal_user_id: int) -> User:
    """One portal user cannot log in any more (the account's other users still can): its login is
    deactivated and its sessions, links, JWTs and API keys end."""
    user = portal_user_of(customer, portal_user_id).user
    if user.active:
        archive_user(user, actor)
        record(customer, "lock_user", None, None, actor, user.email)
    return user


def unlock_user(customer: Customer, actor: Actor, portal_user_id: int) -> User:
    user = portal_user_of(customer, portal_user_id).user
    if not user.active:
        history.restore(user, actor)
        record(customer, "unlock_user", None, None, actor, user.email)
    return user


def portal_users(customer: Customer) -> list[PortalUser]:
    """The account's portal users, for its page: active first, then by name."""
    return sorted(customer.portal_users, key=lambda link: (not link.user.active, (link.user.first_name or "").lower(),
                                                           link.user.email or ""))


#: The rows ``customers.TABLE`` takes from here (staff only: advisors and up; technicians are refused).
PORTAL_ACCESS_ACTIONS = ("invite", "send_login_link", "send_password_reset", "login_link", "lock_user",
                         "unlock_user")


def portal_access_rows() -> list[Action]:
    staff = ("staff",)
    return [
        Action(("active",), "invite", staff, None, invite, InviteParams, audited=False),
        Action(("active",), "send_login_link", staff, None, send_login_link, PortalUserParams, audited=False),
        Action(("active",), "send_password_reset", staff, None, send_password_reset, PortalUserParams,
               audited=False),
        Action(("active",), "login_link", staff, None, copy_login_link, PortalUserParams, audited=False),
        # a locked account's logins cannot log in anyway: unlock the account first
        Action(("active",), "lock_user", staff, None, lock_user, PortalUserParams, audited=False),
        Action(("active",), "unlock_user", staff, None, unlock_user, PortalUserParams, audited=False),
    ]
