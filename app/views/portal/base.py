"""The customer portal's base: one ``PortalView`` class, the login guard, the page context.

Portal pages are Flask-AppBuilder ``BaseView``s under ``/portal/`` with their own templates
(``app/templates/portal/``). A page decorated with ``@customer_required`` is open only to a logged-in
portal user (roles Customer / Reseller, linked to a customer account); everyone else is sent to
``/portal/login``, and staff get 403 (they use the staff screens). Every row a page shows or changes is
fetched through ``app.core.scope`` with ``self.actor``, so another customer's id answers 404.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView
from flask_babel import get_locale
from flask_babel import gettext as _

from ...core.scope import actor_for, current_user_obj

PORTAL_PERMISSION = "can_access"


def portal_actor():
    """The Actor of the logged-in portal user, or None."""
    user = current_user_obj()
    if user is None:
        return None
    actor = actor_for(user)
    return actor if actor.is_customer else None


def customer_required(view_method):
    """Only logged-in portal users of an unlocked customer account; sets ``g.portal_actor``.

    Anonymous visitors go to ``/portal/login?next=<this page>``; staff get 403. A locked account is logged
    out and sent to the login page with the reason. A portal user who came in through FAB's login form gets
    a session row here, so every browser shows up on ``/portal/sessions``.
    """

    @wraps(view_method)
    def wrapper(self, *args, **kwargs):
        from ...services import portal_auth

        user = current_user_obj()
        if user is None:
            return redirect(url_for("PortalAuthView.login", next=request.full_path.rstrip("?")))
        actor = portal_actor()
        if actor is None or not self.appbuilder.sm.has_access(PORTAL_PERMISSION, self.class_permission_name):
            abort(403)
        if portal_auth.is_locked(user):
            portal_auth.end_browser_session()
            flash(_("Your account is locked. Please contact us."), "danger")
            return redirect(url_for("PortalAuthView.login"))
        portal_auth.adopt_session(user)
        g.portal_actor = actor
        return view_method(self, *args, **kwargs)

    wrapper._permission_name = "access"  # so FAB creates can_access on the view's permission name
    return wrapper


def check_portal_session():
    """Before every request, for every cookie login (staff and customers): a browser whose session row was
    ended — logged out elsewhere, a password reset, an archived or locked login — is logged out, and a
    login cookie with no row behind it is not honoured (server-side sessions for a client-side cookie)."""
    from flask import session

    from ...services import portal_auth

    if request.endpoint == "static":
        return None
    if not session.get(portal_auth.SESSION_KEY):
        if not session.get("_user_id"):
            return None  # no cookie login (anonymous, or a JWT / API key request)
        state = "ended"  # a login cookie that no session row stands for: copied, forged or from before rows
    else:
        user = current_user_obj()
        if user is None:
            return None
        state = portal_auth.session_state(user.id)
    if state == "foreign":
        session.pop(portal_auth.SESSION_KEY, None)
    elif state == "ended":
        portal_auth.end_browser_session()
        from flask_login import current_user

        g.user = current_user._get_current_object()
        if request.path.startswith("/portal/"):
            flash(_("Your session was ended. Please log in again."), "info")
            return redirect(url_for("PortalAuthView.login"))
        if request.path.startswith("/api/"):
            abort(401)
        flash(_("Your session was ended. Please log in again."), "info")
        return redirect(url_for(current_app.appbuilder.sm.auth_view.endpoint + ".login"))
    return None


def too_large(_error):
    """A request over ``MAX_CONTENT_LENGTH`` in the portal: back to the page with the reason, not a bare 413."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    flash(_("The files you sent are too large together (at most %(mb)s MB at once, %(each)s MB each). "
            "Send fewer or smaller files.", mb=limit // (1024 * 1024),
            each=current_app.config.get("PORTICO_UPLOAD_MAX_BYTES", 10 * 1024 * 1024) // (1024 * 1024)),
          "danger")
    return redirect(request.path if request.method == "GET" else _same_site_referrer() or request.path, code=303)


def _same_site_referrer() -> str | None:
    from ...services.portal_auth import safe_next

    referrer = request.referrer or ""
    host = request.host_url.rstrip("/")
    if referrer.startswith(host + "/"):
        return safe_next(referrer[len(host):], "") or None
    return None


class PortalView(BaseView):
    """Base of every portal page. ``self.actor`` is the logged-in customer's Actor."""

    class_permission_name = "Portal"
    route_base = "/portal"
    template_folder = None

    @property
    def actor(self):
        return g.get("portal_actor")

    def create_blueprint(self, appbuilder, endpoint=None, static_folder=None):
        blueprint = super().create_blueprint(appbuilder, endpoint=endpoint, static_folder=static_folder)
        blueprint.register_error_handler(413, too_large)
        return blueprint

    def render(self, template: str, **context):
        """Render a portal template with the shop settings and the customer in the context."""
        from ...core.settings import get_settings
        from ...models import Customer

        actor = g.get("portal_actor")
        customer = None
        if actor is not None:
            from ...extensions import db

            customer = db.session.get(Customer, actor.customer_id)
        return self.render_template(template, shop=get_settings(), portal_customer=customer, actor=actor,
                                    portal_locale=str(get_locale() or "en"), **context)
