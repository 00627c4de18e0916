"""The landing page: customers go to their portal, technicians to their day, managers to their dashboard,
admins to the setup checklist, the other office staff to the booking board. Visitors see the shop's name and
logo and the ways in: the customer portal's login, the public service request form, the staff login. And
``/favicon.ico``."""
from flask import current_app, g, redirect, send_from_directory, url_for
from flask_appbuilder import IndexView, expose

from ..core.scope import actor_for
from ..core.settings import get_settings
from ..documents.codes import logo_url

#: Where each side lands after logging in: (endpoint, permission view name it needs); a role may have a
#: landing of its own (``ROLE_LANDING``), the first one its user may open wins.
LANDING = {
    "technician": ("TechnicianTodayView.today", "TechnicianBoard"),
    "staff": ("BookingBoardView.index", "BookingBoard"),
}
ROLE_LANDING = {"Manager": ("ManagerDashboardView.index", "ManagerDashboard"),
                "Admin": ("SetupChecklistView.index", "SetupChecklist")}


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
            choices = [ROLE_LANDING[role] for role in sorted(actor.roles) if role in ROLE_LANDING]
            for endpoint, permission in [*choices, LANDING.get(actor.side, (None, None))]:
                if endpoint in app.view_functions and self._may_open(endpoint, permission):
                    return redirect(url_for(endpoint))
        shop = get_settings()
        doors = {name: url_for(endpoint) for name, endpoint in (("portal", "PortalAuthView.login"),
                                                                ("request", "PublicRequestView.form"))
                 if endpoint in current_app.view_functions}
        return self.render_template(self.index_template, appbuilder=self.appbuilder, shop=shop, logo=logo_url(shop),
                                    doors=doors)

    @expose("/favicon.ico")
    def favicon(self):
        return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                                   max_age=7 * 24 * 3600)

    def _may_open(self, endpoint: str, permission: str) -> bool:
        method = endpoint.rsplit(".", 1)[1]
        return any(self.appbuilder.sm.has_access(f"can_{name}", permission) for name in ("list", method))
