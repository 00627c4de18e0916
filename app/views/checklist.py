"""The admin's landing (issue 15, item 6): the setup checklist (``services.checklist``), each step linked to
the screen that does it; admins land here after logging in (``home.ROLE_LANDING``)."""
from __future__ import annotations

from flask import url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from ..core.settings import get_settings
from ..services import checklist

PERMISSION = "SetupChecklist"

#: Where each step is done: (endpoint, permission view name it needs).
SCREENS = {
    "shop": ("SettingsView.edit", "ShopSettings"),
    "logo": ("SettingsView.edit", "ShopSettings"),
    "locations": ("ServiceLocationView.list", "Catalog"),
    "service_types": ("ServiceTypeView.list", "Catalog"),
    "mail": ("OutboxView.list", "Outbox"),
    "legal": ("SettingsView.edit", "ShopSettings"),
    "team": ("PorticoUserView.list", "PorticoUserView"),
}


class SetupChecklistView(BaseView):
    route_base = "/setup"
    default_view = "index"
    class_permission_name = PERMISSION
    method_permission_name = {"index": "list"}

    @expose("/")
    @has_access
    def index(self):
        settings = get_settings()
        rows = []
        for step in checklist.steps():
            endpoint, _permission = SCREENS[step.key]
            kwargs = {"pk": settings.id} if endpoint.endswith(".edit") else {}
            try:
                link = url_for(endpoint, **kwargs)
            except Exception:  # a screen this install does not have
                link = None
            rows.append({"step": step, "link": link})
        return self.render_template("staff/setup_checklist.html", rows=rows,
                                    done=sum(1 for r in rows if r["step"].done), total=len(rows))


def register(appbuilder, add) -> None:
    add(appbuilder, SetupChecklistView, "Setup checklist", category="Setup", icon="fa-check-square-o")
