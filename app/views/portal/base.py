"""The customer portal's base: one ``PortalView`` class, the login guard, the page context.

Portal pages are Flask-AppBuilder ``BaseView``s under ``/portal/`` with their own templates
(``app/templates/portal/``). A page decorated with ``@customer_required`` is open only to a logged-in
portal user (roles Customer / Reseller, linked to a customer account); everyone else is sent to
``/portal/login``, and staff get 403 (they use the staff screens). Every row a page shows or changes is
fetched through ``app.services.scope`` with ``self.actor``, so another customer's id answers 404.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, g, redirect, request, url_for
from flask_appbuilder import BaseView

from ...services.scope import actor_for, current_user_obj

PORTAL_PERMISSION = "can_access"


def portal_actor():
    """The Actor of the logged-in portal user, or None."""
    user = current_user_obj()
    if user is None:
        return None
    actor = actor_for(user)
    return actor if actor.is_customer else None


def customer_required(view_method):
    """Only logged-in portal users of an unlocked customer account; sets ``g.portal_actor``."""

    @wraps(view_method)
    def wrapper(self, *args, **kwargs):
        user = current_user_obj()
        if user is None:
            return redirect(url_for("PortalAuthView.login", next=request.full_path.rstrip("?")))
        actor = portal_actor()
        if actor is None or not self.appbuilder.sm.has_access(PORTAL_PERMISSION, self.class_permission_name):
            abort(403)
        g.portal_actor = actor
        return view_method(self, *args, **kwargs)

    wrapper._permission_name = "access"  # so FAB creates can_access on the view's permission name
    return wrapper


class PortalView(BaseView):
    """Base of every portal page. ``self.actor`` is the logged-in customer's Actor."""

    class_permission_name = "Portal"
    route_base = "/portal"
    template_folder = None

    @property
    def actor(self):
        return g.get("portal_actor")

    def render(self, template: str, **context):
        """Render a portal template with the shop settings and the customer in the context."""
        from ...models import Customer
        from ...services.settings import get_settings

        actor = g.get("portal_actor")
        customer = None
        if actor is not None:
            from ...extensions import db

            customer = db.session.get(Customer, actor.customer_id)
        return self.render_template(template, shop=get_settings(), portal_customer=customer, actor=actor,
                                    **context)
