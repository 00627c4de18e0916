"""Portal home (placeholder until the dashboard lands) and the login page stub."""
from __future__ import annotations

from flask_appbuilder import expose

from .base import PortalView, customer_required


class PortalHomeView(PortalView):
    route_base = "/portal"
    default_view = "index"

    @expose("/")
    @customer_required
    def index(self):
        return self.render("portal/home.html")


class PortalAuthView(PortalView):
    """Login and logout for customers (the e-mail link login replaces this stub)."""

    route_base = "/portal"

    @expose("/login")
    def login(self):
        return self.render("portal/login.html")


VIEWS = [PortalHomeView, PortalAuthView]
