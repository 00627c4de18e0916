"""Portal sign-in: e-mailed login links, password resets, login sessions, locked accounts.

A **login link** carries 32 random bytes (``secrets.token_urlsafe(32)``); only their SHA-256 is stored
(``LoginToken``, purpose ``login``). It is valid for ``Settings.magic_link_hours`` and every use before it
expires pushes the expiry out again by that much; after that the customer asks for a new one. Opening the
link only shows a "Continue" button: the POST behind it logs in, so mail scanners that fetch links
cannot use them up. A **password-reset link** is the same kind of token (purpose ``password_reset``),
used once.

Each login (link, password, reset, or FAB's own login form) is a ``PortalSession`` row; the browser's
session cookie holds its random key. ``check_session`` (run before every request) logs out a browser
whose session was ended elsewhere, or whose customer account was locked.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

from flask import current_app, has_request_context, render_template, request, session
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user
from sqlalchemy import func, select, update

from ..core.actors import Actor
from ..core.settings import absolute, get_settings
from ..extensions import db
from ..models import CredentialRevocation, Customer, LoginToken, PortalSession, PortalUser, User, utcnow
from . import audit, notify

LOGIN = "login"
PASSWORD_RESET = "password_reset"
RESET_HOURS = 1
SESSION_KEY = "portal_sid"
TOUCH_EVERY = dt.timedelta(minutes=1)


class LoginRefused(Exception):
    """The link or account cannot log in; ``reason`` is ``invalid`` (unknown, expired, revoked) or ``locked``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def token_hash(raw: str) -> str:
    return hashlib.sha256((raw or "").encode()).hexdigest()


def normalise_email(value: str | None) -> str:
    return (value or "").strip().lower()


def client_ip() -> str | None:
    if not has_request_context():
        return None
    return (request.remote_addr or "")[:45] or None


def client_agent() -> str | None:
    if not has_request_context():
        return None
    return (request.user_agent.string or "")[:255] or None


def safe_next(target: str | None, default: str = "/portal/") -> str:
    """``target`` if it is a path on this site (``/portal/orders/3``), else ``default``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return default
    return target


# --- accounts --------------------------------------------------------------------------------------------

def customer_of(user) -> Customer | None:
    if user is None:
        return None
    return db.session.scalar(
        select(Customer).join(PortalUser, PortalUser.customer_id == Customer.id).where(PortalUser.user_id == user.id)
    )


def is_locked(user) -> bool:
    customer = customer_of(user)
    return bool(customer is not None and customer.shut_out)


def portal_user_by_email(email: str) -> User | None:
    """The active portal user (linked to a customer account) with this e-mail address."""
    email = normalise_email(email)
    if not email:
        return None
    return db.session.scalar(
        select(User).join(PortalUser, PortalUser.user_id == User.id)
        .where(func.lower(User.email) == email, User.active.is_(True))
    )


def free_username(email: str) -> str:
    """A login name for a new portal user: the e-mail address, made unique when a login already has it."""
    username = email[:128]
    while db.session.scalar(select(User.id).where(User.username == username)) is not None:
        username = f"{email[:110]}-{secrets.token_hex(3)}"
    return username


def end_access(customer: Customer) -> None:
    """End the sessions, login links, JWTs and API keys of every portal user of ``customer`` (locked or
    archived)."""
    for user in db.session.scalars(select(User).join(PortalUser, PortalUser.user_id == User.id)
                                   .where(PortalUser.customer_id == customer.id)):
        revoke_credentials(user)


def lock_customer(customer: Customer, actor: Actor, locked: bool = True) -> bool:
    """Lock or unlock an account (audited); locking ends its sessions and login links. False if unchanged."""
    if bool(customer.locked) == locked:
        return False
    customer.locked = locked
    if locked:
        end_access(customer)
    audit.record(customer, "lock" if locked else "unlock", None, None, actor)
    return True


# --- tokens ----------------------------------------------------------------------------------------------

#: The stand-in a mail body holds for a link token until the mail leaves (``unseal``).
SEALED = re.compile(r"portico-link-(\d+)-sealed")


def issue_token(user, purpose: str = LOGIN, hours: int | None = None) -> str:
    """A new link token for ``user``, **sealed**: the returned stand-in goes into the mail body, and the
    token itself is minted only when the mail is handed to the SMTP server (``unseal``). The outbox, its
    screen, the log and every backup hold the stand-in, never a link that logs anyone in; the database
    holds only hashes. The caller commits."""
    hours = hours if hours is not None else get_settings().magic_link_hours
    now = utcnow()
    token = LoginToken(token_hash=token_hash(secrets.token_urlsafe(32)),  # nobody holds this one
                       user_id=user.id, purpose=purpose, created_at=now, expires_at=now + dt.timedelta(hours=hours),
                       created_ip=client_ip(), user_agent=client_agent())
    db.session.add(token)
    db.session.flush()
    return f"portico-link-{token.id}-sealed"


def unseal(*bodies: str | None) -> tuple[str | None, ...]:
    """The bodies as they leave for the recipient: each sealed stand-in becomes a freshly minted token
    (its hash stored, its lifetime counted from now). A token revoked or expired meanwhile becomes a link
    to ask for a new one. The caller commits (the mailer, with the delivery)."""
    minted: dict[str, str] = {}
    for body in bodies:
        for ident in SEALED.findall(body or ""):
            if ident in minted:
                continue
            token = db.session.get(LoginToken, int(ident))
            now = utcnow()
            if token is None or token.revoked_at is not None or token.expires_at <= now:
                minted[ident] = None
                continue
            raw = secrets.token_urlsafe(32)
            lifetime = token.expires_at - token.created_at
            token.token_hash, token.created_at, token.expires_at = token_hash(raw), now, now + lifetime
            minted[ident] = raw
    if not minted:
        return bodies

    def fill(body: str | None) -> str | None:
        if not body:
            return body
        body = re.sub(r"/portal/(?:login|password/reset)/portico-link-(\d+)-sealed(?:\?[^\s\"<]*)?",
                      lambda m: m.group(0) if minted.get(m.group(1)) else "/portal/login", body)
        return SEALED.sub(lambda m: minted.get(m.group(1)) or "expired", body)

    return tuple(fill(body) for body in bodies)


def find_token(raw: str, purpose: str = LOGIN) -> LoginToken | None:
    """The unexpired, unrevoked token of that purpose, or None."""
    if not raw or len(raw) > 128:
        return None
    token = db.session.scalar(select(LoginToken).where(LoginToken.token_hash == token_hash(raw)))
    if token is None or token.purpose != purpose or token.revoked_at is not None or token.expires_at <= utcnow():
        return None
    if token.user is None or not token.user.is_active:
        return None
    return token


def login_link(raw: str, next_path: str | None = None) -> str:
    path = f"/portal/login/{raw}"
    target = safe_next(next_path, "")
    if target and target != "/portal/":
        from urllib.parse import urlencode

        path += "?" + urlencode({"next": target}, safe="/")
    return absolute(path)


def _locale_for(user) -> str:
    from flask_babel import get_locale

    from ..core import languages as lang

    wanted = lang.profile_language(user)  # a portal user's (else their customer's), a staff user's
    if wanted:
        return wanted
    current = str(get_locale() or "") if has_request_context() else ""  # the page that asked for it
    return current if current in lang.known() else lang.shop_default()


def _mail(user, template: str, event: str, subject, **context) -> None:
    """Render ``portal/<template>.txt``/``.html`` in the user's language and queue it."""
    with force_locale(_locale_for(user)):
        shop = get_settings()
        text = render_template(f"portal/{template}.txt", shop=shop, user=user, **context)
        html = render_template(f"portal/{template}.html", shop=shop, user=user, **context)
        subject = f"{shop.shop_name}: {subject}"  # a lazy string: translated here, in the user's language
    notify.queue_email(user.email, subject, text, html, event=event)


@contextmanager
def equal_time():
    """The answer to "send me a link" takes the same time whether the address belongs to an account or
    not (no timing oracle for who is a customer): at least ``PORTICO_EQUAL_ANSWER_SECONDS``."""
    floor = float(current_app.config.get("PORTICO_EQUAL_ANSWER_SECONDS", 0.4))
    started = time.monotonic()
    try:
        yield
    finally:
        remaining = floor - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)


def send_login_link(email: str, next_path: str | None = None) -> bool:
    """E-mail a login link if the address belongs to an unlocked portal user. The answer to the visitor
    must not depend on the result (it says whether a mail was queued, for tests and logs only)."""
    user = portal_user_by_email(email)
    if user is None or is_locked(user):
        return False
    queue_login_link(user, next_path)
    db.session.commit()
    return True


def queue_login_link(user, next_path: str | None = None) -> None:
    """Queue a login-link mail to ``user`` (sealed until it leaves); the caller commits."""
    raw = issue_token(user, LOGIN)
    _mail(user, "login_email", "portal.login_link", _l("Your login link"), link=login_link(raw, next_path),
          hours=get_settings().magic_link_hours)


#: How long an invitation's link works (it is a login link: each use extends it by ``magic_link_hours``).
INVITE_HOURS = 7 * 24


def queue_invitation(user, customer: Customer) -> None:
    """Queue the portal invitation to a new portal user of ``customer``; the caller commits."""
    raw = issue_token(user, LOGIN, hours=max(INVITE_HOURS, get_settings().magic_link_hours))
    _mail(user, "invite_email", "portal.invitation", _l("Your access to the customer portal"),
          link=login_link(raw), customer=customer, days=INVITE_HOURS // 24)


def copy_login_link(user) -> str:
    """A fresh login link for staff to hand over in person (shown once, never stored readable: only its
    hash is kept, like an e-mailed one's). The caller audits and commits."""
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(LoginToken(token_hash=token_hash(raw), user_id=user.id, purpose=LOGIN, created_at=now,
                              expires_at=now + dt.timedelta(hours=get_settings().magic_link_hours),
                              created_ip=client_ip(), user_agent=client_agent()))
    db.session.flush()
    return login_link(raw)


def use_login_link(raw: str) -> tuple[User, LoginToken]:
    """Check a login link for the POST that logs in, and extend its expiry; ``LoginRefused`` otherwise."""
    token = find_token(raw, LOGIN)
    if token is None:
        raise LoginRefused("invalid")
    if is_locked(token.user):
        raise LoginRefused("locked")
    now = utcnow()
    token.last_used_at = now
    token.expires_at = now + dt.timedelta(hours=get_settings().magic_link_hours)
    db.session.flush()
    return token.user, token


def send_password_reset(email: str) -> bool:
    user = portal_user_by_email(email)
    if user is None or is_locked(user):
        return False
    queue_password_reset(user)
    db.session.commit()
    return True


def queue_password_reset(user) -> None:
    """Queue a password-reset mail to ``user`` (a one-use link, sealed until it leaves); the caller commits."""
    raw = issue_token(user, PASSWORD_RESET, hours=RESET_HOURS)
    _mail(user, "password_reset_email", "portal.password_reset", _l("Set a new password"),
          link=absolute(f"/portal/password/reset/{raw}"), hours=RESET_HOURS)


def reset_password(raw: str, password: str) -> User:
    """Set a new password with a reset link (used once); ends every session and link of the user."""
    token = find_token(raw, PASSWORD_RESET)
    if token is None:
        raise LoginRefused("invalid")
    user = token.user
    if is_locked(user):
        raise LoginRefused("locked")
    sm = current_app.appbuilder.sm
    from werkzeug.security import generate_password_hash

    user.password = generate_password_hash(
        password, method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"),
        salt_length=current_app.config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16))
    revoke_credentials(user)
    sm.update_user_auth_stat(user, True)  # commits
    return user


# --- sessions --------------------------------------------------------------------------------------------

def start_session(user, method: str, login_token: LoginToken | None = None) -> PortalSession:
    """Log ``user`` in in this browser and record the session; commits."""
    keep = {k: session[k] for k in ("portal_locale",) if k in session}
    session.clear()
    session.update(keep)
    key = secrets.token_urlsafe(32)
    row = PortalSession(user_id=user.id, key_hash=token_hash(key), method=method,
                        login_token_id=login_token.id if login_token is not None else None,
                        ip=client_ip(), user_agent=client_agent())
    db.session.add(row)
    session[SESSION_KEY] = key  # before login_user: its signal then finds the browser's row
    login_user(user, remember=False)
    current_app.appbuilder.sm.update_user_auth_stat(user, True)  # last login, count; commits
    return row


def current_session() -> PortalSession | None:
    key = session.get(SESSION_KEY)
    if not key:
        return None
    return db.session.scalar(select(PortalSession).where(PortalSession.key_hash == token_hash(key)))


def adopt_session(user) -> PortalSession:
    """A portal user logged in some other way (FAB's login form): give the browser a session row."""
    row = current_session()
    if row is not None and row.user_id == user.id and row.ended_at is None:
        return row
    key = secrets.token_urlsafe(32)
    row = PortalSession(user_id=user.id, key_hash=token_hash(key), method="form", ip=client_ip(),
                        user_agent=client_agent())
    db.session.add(row)
    db.session.commit()
    session[SESSION_KEY] = key
    return row


def session_state(user_id) -> str:
    """Run before each request: ``ok``; ``ended`` (ended elsewhere: log this browser out); or ``foreign``
    (the key belongs to no session of this user, e.g. left over from another login: drop it)."""
    row = current_session()
    if row is None or str(row.user_id) != str(user_id):
        return "foreign"
    if row.ended_at is not None:
        return "ended"
    now = utcnow()
    if now - row.last_used_at > TOUCH_EVERY:
        row.last_used_at = now
        db.session.commit()
    return "ok"


def end_current_row() -> None:
    """End this browser's session row and revoke the login link that opened it (a link found in the
    browser's history cannot log in again after logging out)."""
    row = current_session()
    if row is not None and row.ended_at is None:
        now = utcnow()
        row.ended_at = now
        if row.login_token_id is not None:
            db.session.execute(update(LoginToken).where(LoginToken.id == row.login_token_id)
                               .values(revoked_at=now))
        db.session.commit()


def end_browser_session() -> None:
    """Log this browser out (its session row ends through ``on_logout``)."""
    logout_user()
    keep = {k: session[k] for k in ("portal_locale",) if k in session}
    session.clear()
    session.update(keep)


def on_login(_app, user=None) -> None:
    """Flask-Login's ``user_logged_in``: every login in a browser (FAB's staff form too) is a session row,
    so a copied cookie dies with a logout, a password reset or a lock (``check_portal_session``)."""
    if has_request_context() and user is not None:
        adopt_session(user)  # this browser's row when it is this user's and open, else a new one


def revoke_credentials(user, reason: str = "") -> None:
    """End every session and login link of ``user``, void the JWTs issued so far and revoke the API keys
    (a password reset or change, an archived or locked login). The caller commits."""
    from flask_appbuilder.security.sqla.models import ApiKey

    now = utcnow()
    db.session.execute(update(PortalSession).where(PortalSession.user_id == user.id,
                                                   PortalSession.ended_at.is_(None)).values(ended_at=now))
    db.session.execute(update(LoginToken).where(LoginToken.user_id == user.id, LoginToken.revoked_at.is_(None))
                       .values(revoked_at=now))
    db.session.execute(update(ApiKey).where(ApiKey.user_id == user.id, ApiKey.revoked_on.is_(None))
                       .values(revoked_on=now, active=False))
    row = db.session.get(CredentialRevocation, user.id)
    if row is None:
        db.session.add(CredentialRevocation(user_id=user.id, revoked_at=now))
    else:
        row.revoked_at = now


def issued_before_revocation(user_id, issued_at: dt.datetime | None) -> bool:
    """Was a credential issued at ``issued_at`` (naive UTC) voided since (``revoke_credentials``)?"""
    try:
        ident = int(user_id)
    except (TypeError, ValueError):
        return True
    revoked = db.session.scalar(select(CredentialRevocation.revoked_at).where(CredentialRevocation.user_id == ident))
    # JWTs carry whole seconds: a token of the revocation's own second stays valid (a login right after)
    return revoked is not None and (issued_at is None or issued_at < revoked.replace(microsecond=0))


def on_logout(_app, user=None) -> None:
    """Flask-Login's ``user_logged_out``: any logout (the portal's or FAB's ``/logout/``) ends the row."""
    if has_request_context() and session.get(SESSION_KEY):
        end_current_row()
        session.pop(SESSION_KEY, None)


def sessions_of(user) -> list[PortalSession]:
    return list(db.session.scalars(
        select(PortalSession).where(PortalSession.user_id == user.id, PortalSession.ended_at.is_(None))
        .order_by(PortalSession.last_used_at.desc(), PortalSession.id.desc())
    ))


def end_sessions(user, session_ids: list[int] | None = None, keep_id: int | None = None) -> int:
    """End the user's sessions (the given ones, or all but ``keep_id``) and revoke their login links."""
    stmt = select(PortalSession).where(PortalSession.user_id == user.id, PortalSession.ended_at.is_(None))
    if session_ids is not None:
        stmt = stmt.where(PortalSession.id.in_(session_ids))
    if keep_id is not None:
        stmt = stmt.where(PortalSession.id != keep_id)
    now = utcnow()
    ended = 0
    for row in db.session.scalars(stmt):
        row.ended_at = now
        if row.login_token_id is not None:
            db.session.execute(update(LoginToken).where(LoginToken.id == row.login_token_id)
                               .values(revoked_at=now))
        ended += 1
    db.session.commit()
    return ended


# --- rate limits -----------------------------------------------------------------------------------------

#: Default limits; each can be changed in the app config under the same name.
RATE_LIMITS = {
    "PORTICO_LOGIN_LINK_RATE_LIMIT": "5 per hour",  # per e-mail address (login links and password resets)
    "PORTICO_PORTAL_IP_RATE_LIMIT": "30 per hour",  # per client address, all portal sign-in forms together
    "PORTICO_PORTAL_PASSWORD_RATE_LIMIT": "10 per hour",  # failed password logins per username
    "PORTICO_PUBLIC_REQUEST_RATE_LIMIT": "20 per hour",  # public service requests per client address
    "PORTICO_PUBLIC_FORM_RATE_LIMIT": "120 per hour",  # checks of the public form (with uploads) per address
}


def over_limit(setting: str, *key: str) -> bool:
    """Count one hit against the limit named ``setting`` for ``key``; True when it is exceeded.

    Uses the security manager's Flask-Limiter storage (``RATELIMIT_STORAGE_URI``: memory, or Redis with
    several processes); nothing is limited while ``RATELIMIT_ENABLED`` is off.
    """
    from limits import parse_many

    limiter = current_app.appbuilder.sm.limiter
    if not (limiter.enabled and limiter.initialized):
        return False
    limits = parse_many(current_app.config.get(setting) or RATE_LIMITS[setting])
    identifiers = ("portico", setting, *(k or "-" for k in key))
    return not all([limiter.limiter.hit(item, *identifiers) for item in limits])
