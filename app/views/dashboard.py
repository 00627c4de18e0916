"""The manager dashboard (``ManagerDashboard``, menu Reports → Dashboard): the week at a glance.

Key figures of the report catalogue for this week so far against last week, each with a small bar chart
drawn here as inline SVG (no chart library, no CDN, nothing fetched by the browser).
"""
from __future__ import annotations

from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from markupsafe import Markup

from ..core.settings import shop_zone
from ..extensions import db
from ..models import utcnow
from ..reports.dashboard import Figure, build, day_name
from .operations import alerts as operations_alerts

WIDTH, HEIGHT, BOTTOM = 280, 92, 14
LAST_COLOUR, THIS_COLOUR = "#c9d3de", "#2f6f9f"


def week_bars(figure: Figure, today_index: int) -> Markup:
    """Seven pairs of bars (last week light, this week dark); days still to come are left empty."""
    values = figure.last_days + figure.this_days[: today_index + 1]
    top = max(values) if values and max(values) > 0 else 1
    slot = WIDTH / 7
    days = [day_name(day) for day in range(7)]
    last_week, this_week = _("last week"), _("this week")
    bar = slot * 0.36
    parts = [Markup('<svg class="week-bars" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{label}">')
             .format(w=WIDTH, h=HEIGHT, label=_("%(figure)s: this week and last week by day", figure=figure.label))]
    for day in range(7):
        x = day * slot + slot * 0.12
        pairs = [(figure.last_days[day], LAST_COLOUR, last_week)]
        if day <= today_index:
            pairs.append((figure.this_days[day], THIS_COLOUR, this_week))
        for index, (value, colour, which) in enumerate(pairs):
            height = (HEIGHT - BOTTOM - 4) * value / top
            parts.append(Markup('<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{c}">'
                                '<title>{day} {which}: {value}</title></rect>').format(
                x=x + index * (bar + 1), y=HEIGHT - BOTTOM - height, w=bar, h=max(height, 0.5 if value else 0),
                c=colour, day=days[day], which=which, value=figure.show(value)))
        parts.append(Markup('<text x="{x:.1f}" y="{y}" font-size="9" text-anchor="middle" fill="#666">{d}</text>')
                     .format(x=day * slot + slot / 2, y=HEIGHT - 3, d=days[day]))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


class ManagerDashboardView(BaseView):
    route_base = "/dashboard"
    default_view = "index"
    class_permission_name = "ManagerDashboard"
    method_permission_name = {"index": "list"}

    @expose("/")
    @has_access
    def index(self):
        dashboard = build(db.session, shop_zone(), utcnow())
        charts = {f.key: week_bars(f, dashboard.today_index) for f in dashboard.figures}
        return self.render_template("staff/dashboard.html", dashboard=dashboard, charts=charts,
                                    operations_alerts=operations_alerts(),
                                    last_colour=LAST_COLOUR, this_colour=THIS_COLOUR)


def register(appbuilder, add) -> None:
    add(appbuilder, ManagerDashboardView, "Dashboard", category="Reports", icon="fa-tachometer",
        category_icon="fa-bar-chart")
