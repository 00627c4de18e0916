"""The customer's notifications: the list, open one (marks it read), mark read, mark all read."""
from __future__ import annotations

from flask import flash, redirect, url_for
from flask_appbuilder import expose
from flask_babel import gettext as _

from ...models import Notification
from ...services import customers
from .base import PortalView, customer_required
from .page_helpers import get_or_404, paginate


def safe_link(link: str | None) -> str | None:
    """Notification links are our own portal paths; anything else is not followed."""
    if link and link.startswith("/portal/") and not link.startswith("//") and "\\" not in link:
        return link
    return None


class PortalNotificationsView(PortalView):
    route_base = "/portal"
    default_view = "list"

    @expose("/notifications")
    @customer_required
    def list(self):
        page = paginate(customers.notifications(self.actor))
        return self.render("portal/notifications.html", page=page, unread=customers.unread_count(self.actor),
                           safe_link=safe_link)

    @expose("/notifications/<int:notification_id>/open")
    @customer_required
    def open(self, notification_id):
        note = get_or_404(Notification, notification_id)
        customers.mark_read(self.actor, note.id)
        return redirect(safe_link(note.link) or url_for("PortalNotificationsView.list"))

    @expose("/notifications/<int:notification_id>/read", methods=["POST"])
    @customer_required
    def read(self, notification_id):
        note = get_or_404(Notification, notification_id)
        customers.mark_read(self.actor, note.id)
        return redirect(url_for("PortalNotificationsView.list"))

    @expose("/notifications/read-all", methods=["POST"])
    @customer_required
    def read_all(self):
        count = customers.mark_all_read(self.actor)
        flash(_("%(count)s notifications marked read.", count=count), "success")
        return redirect(url_for("PortalNotificationsView.list"))


VIEWS = [PortalNotificationsView]
