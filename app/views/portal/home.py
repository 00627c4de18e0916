"""Portal home: the customer's dashboard (what needs them now, each with a link to act)."""
from __future__ import annotations

from flask_appbuilder import expose

from .base import PortalView, customer_required


class PortalHomeView(PortalView):
    route_base = "/portal"
    default_view = "index"

    @expose("/")
    @customer_required
    def index(self):
        from .dashboard import dashboard_context

        return self.render("portal/dashboard.html", **dashboard_context(self.actor))


VIEWS = [PortalHomeView]
