"""The landing page: customers go to their portal, technicians to their day, office staff to the booking board."""
from flask import current_app, g, redirect, url_for
from flask_appbuilder import IndexView, expose

from ..core.scope import actor_for

#: Where each side lands after logging in: (endpoint, permission view name it needs).
LANDING = {
    "technician": ("TechnicianTodayView.today", "TechnicianBoard"),
    "staff": ("BookingBoardView.index", "BookingBoard"),
}


class PorticoIndexView(IndexView):
    index_template = "portico/index.html"

    @expose("/")
    def index(self):
        user = g.get("user")
        if user is not None and getattr(user, "is_authenticated", False):
            actor = actor_for(user)
            app = current_app
            if actor.is_customer and "/portal/" in [r.rule for r in app.url_map.iter_rules()]:
                return redirect("/portal/")
            endpoint, permission = LANDING.get(actor.side, (None, None))
            if endpoint in app.view_functions and self.appbuilder.sm.has_access("can_list", permission):
                return redirect(url_for(endpoint))
        return self.render_template(self.index_template, appbuilder=self.appbuilder)
