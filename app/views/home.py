"""The landing page: customers go to their portal, staff to their screens."""
from flask import g, redirect
from flask_appbuilder import IndexView, expose

from ..services.scope import actor_for


class PorticoIndexView(IndexView):
    index_template = "portico/index.html"

    @expose("/")
    def index(self):
        user = g.get("user")
        if user is not None and getattr(user, "is_authenticated", False):
            actor = actor_for(user)
            if actor.is_customer and "/portal/" in [r.rule for r in self.appbuilder.get_app.url_map.iter_rules()]:
                return redirect("/portal/")
        return self.render_template(self.index_template, appbuilder=self.appbuilder)
