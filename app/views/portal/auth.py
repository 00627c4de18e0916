"""The portal's doors: login by e-mailed link or password, password reset, logout, sessions, language.

``/portal/login``                 asks for an e-mail address and sends a login link (same answer for any address)
``/portal/login/<token>``         GET shows a "Continue" button; only its POST logs in (mail scanners open links)
``/portal/login/password``        password login for accounts staff created with a password
``/portal/password/reset``        asks for the address and e-mails a one-time link to ``.../reset/<token>``
``/portal/logout``                POST: ends this browser's session
``/portal/sessions``              the customer's signed-in browsers; end one or all others
``/portal/language``              POST: the visitor's language (saved in the profile when logged in)
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, session, url_for
from flask_appbuilder import expose
from flask_babel import gettext as _
from flask_login import current_user

from ...core.scope import current_user_obj
from ...core.settings import get_settings
from ...extensions import db
from ...models import PortalUser
from ...services import portal_auth
from ...services.portal_auth import LoginRefused, normalise_email, over_limit, safe_next
from .base import PortalView, customer_required, portal_actor
from .locale import SESSION_KEY as LOCALE_KEY
from .locale import languages

MIN_PASSWORD = 10


def _next() -> str:
    return safe_next(request.values.get("next"), "")


def _locked_message() -> str:
    return _("This account is locked. Please contact us to unlock it.")


def _looks_like_email(value: str) -> bool:
    local, _at, domain = value.partition("@")
    return bool(local) and "." in domain and " " not in value and len(value) <= 255


class PortalAuthView(PortalView):
    route_base = "/portal"

    def _logged_in_redirect(self):
        if portal_actor() is not None and not portal_auth.is_locked(current_user_obj()):
            return redirect(safe_next(_next()))
        return None

    def _too_many(self, template: str, **context):
        message = _("Too many attempts. Please wait a while and try again.")
        return self.render(template, error=message, **context), 429

    # --- login by e-mail link ----------------------------------------------------------------------------

    @expose("/login", methods=["GET", "POST"])
    def login(self):
        if request.method == "GET":
            return self._logged_in_redirect() or self.render("portal/login.html", next=_next(), email="")
        email = normalise_email(request.form.get("email"))
        if not _looks_like_email(email):
            return self.render("portal/login.html", next=_next(), email=request.form.get("email", ""),
                               errors={"email": _("Enter your e-mail address, such as name@example.com.")}), 422
        if over_limit("PORTICO_PORTAL_IP_RATE_LIMIT", request.remote_addr) or \
                over_limit("PORTICO_LOGIN_LINK_RATE_LIMIT", email):
            return self._too_many("portal/login.html", next=_next(), email=email)
        with portal_auth.equal_time():
            portal_auth.send_login_link(email, _next() or None)
        session["portal_login_email"] = email
        return redirect(url_for("PortalAuthView.login_sent"), code=303)

    @expose("/login/sent")
    def login_sent(self):
        return self.render("portal/login_sent.html", email=session.get("portal_login_email", ""),
                           hours=get_settings().magic_link_hours, kind="login")

    @expose("/login/<token>", methods=["GET", "POST"])
    def login_link(self, token):
        if request.method == "GET":
            valid = portal_auth.find_token(token, portal_auth.LOGIN) is not None
            return self.render("portal/login_continue.html", token=token, valid=valid, next=_next()), \
                (200 if valid else 410)
        if over_limit("PORTICO_PORTAL_IP_RATE_LIMIT", request.remote_addr):
            return self._too_many("portal/login_continue.html", token=token, valid=True, next=_next())
        try:
            user, login_token = portal_auth.use_login_link(token)
        except LoginRefused as refused:
            db.session.rollback()
            if refused.reason == "locked":
                return self.render("portal/login_continue.html", token=token, valid=False, locked=True,
                                   error=_locked_message(), next=""), 403
            return self.render("portal/login_continue.html", token=token, valid=False, next=""), 410
        portal_auth.start_session(user, "link", login_token)
        return redirect(safe_next(_next()), code=303)

    # --- password ----------------------------------------------------------------------------------------

    @expose("/login/password", methods=["GET", "POST"])
    def login_password(self):
        if request.method == "GET":
            return self._logged_in_redirect() or self.render("portal/login_password.html", next=_next(),
                                                              username="")
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        context = {"next": _next(), "username": username}
        if not username or not password:
            errors = {}
            if not username:
                errors["username"] = _("Enter your e-mail address or username.")
            if not password:
                errors["password"] = _("Enter your password.")
            return self.render("portal/login_password.html", errors=errors, **context), 422
        if over_limit("PORTICO_PORTAL_IP_RATE_LIMIT", request.remote_addr):
            return self._too_many("portal/login_password.html", **context)
        g.pop("portico_login_refused", None)
        user = self.appbuilder.sm.auth_user_db(username, password)
        if g.pop("portico_login_refused", None) == "locked":
            return self.render("portal/login_password.html", error=_locked_message(), **context), 403
        if user is None:
            if over_limit("PORTICO_PORTAL_PASSWORD_RATE_LIMIT", normalise_email(username)):
                return self._too_many("portal/login_password.html", **context)
            return self.render("portal/login_password.html",
                               error=_("The e-mail address or the password is not right."), **context), 401
        if portal_auth.customer_of(user) is None:
            return self.render("portal/login_password.html",
                               error=_("This login is for customers. Staff log in at %(url)s.", url="/login/"),
                               **context), 403
        portal_auth.start_session(user, "password")
        return redirect(safe_next(_next()), code=303)

    @expose("/password/reset", methods=["GET", "POST"])
    def password_reset(self):
        if request.method == "GET":
            return self.render("portal/password_reset.html", email="")
        email = normalise_email(request.form.get("email"))
        if not _looks_like_email(email):
            return self.render("portal/password_reset.html", email=request.form.get("email", ""),
                               errors={"email": _("Enter your e-mail address, such as name@example.com.")}), 422
        if over_limit("PORTICO_PORTAL_IP_RATE_LIMIT", request.remote_addr) or \
                over_limit("PORTICO_LOGIN_LINK_RATE_LIMIT", email):
            return self._too_many("portal/password_reset.html", email=email)
        with portal_auth.equal_time():
            portal_auth.send_password_reset(email)
        session["portal_login_email"] = email
        return redirect(url_for("PortalAuthView.password_reset_sent"), code=303)

    @expose("/password/reset/sent")
    def password_reset_sent(self):
        return self.render("portal/login_sent.html", email=session.get("portal_login_email", ""),
                           hours=portal_auth.RESET_HOURS, kind="reset")

    @expose("/password/reset/<token>", methods=["GET", "POST"])
    def password_reset_form(self, token):
        token_row = portal_auth.find_token(token, portal_auth.PASSWORD_RESET)
        if token_row is None:
            return self.render("portal/password_new.html", token=token, valid=False), 410
        if request.method == "GET":
            return self.render("portal/password_new.html", token=token, valid=True)
        password = request.form.get("password") or ""
        errors = {}
        if len(password) < MIN_PASSWORD:
            errors["password"] = _("Use at least %(n)s characters.", n=MIN_PASSWORD)
        elif password != (request.form.get("confirm") or ""):
            errors["confirm"] = _("The two passwords are not the same.")
        if errors:
            return self.render("portal/password_new.html", token=token, valid=True, errors=errors), 422
        try:
            user = portal_auth.reset_password(token, password)
        except LoginRefused as refused:
            db.session.rollback()
            locked = refused.reason == "locked"
            return self.render("portal/password_new.html", token=token, valid=False,
                               error=_locked_message() if locked else None), 403 if locked else 410
        portal_auth.start_session(user, "reset")
        flash(_("Your new password is set."), "success")
        return redirect(url_for("PortalHomeView.index"), code=303)

    # --- logout, sessions --------------------------------------------------------------------------------

    @expose("/logout", methods=["POST"])
    def logout(self):
        if current_user.is_authenticated:
            portal_auth.end_browser_session()
        flash(_("You are logged out."), "info")
        return redirect(url_for("PortalAuthView.login"), code=303)

    @expose("/sessions")
    @customer_required
    def sessions(self):
        user = current_user_obj()
        current = portal_auth.current_session()
        return self.render("portal/sessions.html", sessions=portal_auth.sessions_of(user),
                           current_id=current.id if current else None)

    @expose("/sessions/end", methods=["POST"])
    @customer_required
    def end_sessions(self):
        user = current_user_obj()
        current = portal_auth.current_session()
        if request.form.get("session_id"):
            try:
                session_id = int(request.form["session_id"])
            except ValueError:
                abort(404)
            if current is not None and session_id == current.id:
                return self.logout()
            if not portal_auth.end_sessions(user, [session_id]):
                abort(404)  # not one of this user's open sessions
            flash(_("The session was ended."), "success")
        else:
            count = portal_auth.end_sessions(user, keep_id=current.id if current else None)
            flash(_("%(n)s other sessions were ended.", n=count), "success")
        return redirect(url_for("PortalAuthView.sessions"), code=303)

    # --- language ----------------------------------------------------------------------------------------

    @expose("/language", methods=["POST"])
    def language(self):
        code = request.form.get("language")
        if code not in languages():
            abort(400)
        session[LOCALE_KEY] = code
        user = current_user_obj()
        if user is not None:
            link = db.session.query(PortalUser).filter_by(user_id=user.id).one_or_none()
            if link is not None:
                link.language = code
                db.session.commit()
        return redirect(safe_next(request.form.get("next"), url_for("PortalHomeView.index")), code=303)


def install_session_check(app) -> None:
    """Check the browser's portal session before each request; end its row on any logout."""
    from flask_login import user_logged_in, user_logged_out

    from .base import check_portal_session

    app = app._get_current_object() if hasattr(app, "_get_current_object") else app  # the signal's sender
    if check_portal_session not in app.before_request_funcs.get(None, []):
        app.before_request(check_portal_session)
        user_logged_out.connect(portal_auth.on_logout, app)
        user_logged_in.connect(portal_auth.on_login, app)


VIEWS = [PortalAuthView]
