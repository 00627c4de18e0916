"""System screens, all read-only: the audit trail (``Audit``), the e-mail outbox (``Outbox``), login links
(``LoginTokens``, Admin only) and the staff notification feed (``Notifications``)."""
from __future__ import annotations

from flask import flash, redirect
from flask_appbuilder import expose
from flask_appbuilder.actions import action
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from ..core.scope import current_actor, staff_feed
from ..extensions import db
from ..models import AuditEvent, LoginToken, Notification, OutboxEmail, utcnow
from .base import READ_ONLY, StaffModelView, choice_field, status_badge, time_formatters
from .filters import RECORD_TYPES, history_reason, record_label
from .workflow import action_label


def sees_notification(note: Notification, actor) -> bool:
    """Staff see the shop-wide feed and what is addressed to them; technicians only what is theirs."""
    found = db.session.scalar(select(Notification.id).where(Notification.id == note.id, staff_feed(actor)))
    return found is not None


class FilterStaffFeed(BaseFilter):
    name = "Staff feed of the current user"
    arg_name = None

    def apply(self, query, value):
        return query.filter(staff_feed(current_actor()))


def internal_link(value) -> Markup | str:
    if value and value.startswith("/") and not value.startswith("//"):
        return Markup('<a href="{0}">{1}</a>').format(value, _("Open"))
    return ""


class AuditEventView(StaffModelView):
    datamodel = SQLAInterface(AuditEvent)
    class_permission_name = "Audit"
    base_permissions = READ_ONLY
    list_title = show_title = "Audit trail"
    list_columns = ["created_at", "entity_type", "entity_number", "action", "from_status", "to_status",
                    "actor_label", "reason"]
    show_columns = ["created_at", "entity_type", "entity_id", "entity_number", "action", "from_status", "to_status",
                    "actor_label", "actor", "customer", "reason"]
    search_columns = ["entity_type", "entity_number", "actor_label", "action", "to_status", "created_at"]
    order_columns = ["created_at", "entity_type", "entity_number", "action", "actor_label"]
    label_columns = {"entity_type": "Record type", "entity_id": "Record id", "entity_number": "Number",
                     "from_status": "From", "to_status": "To", "actor_label": "Who", "actor": "User",
                     "created_at": "When", "reason": "Why"}
    search_form_extra_fields = {
        "entity_type": choice_field("Record type", ("service_request", "estimate", "work_order", "invoice",
                                                     "shipment", "customer", "unit"), labels=RECORD_TYPES),
    }
    formatters_columns = {"from_status": status_badge, "to_status": status_badge, "entity_type": record_label,
                          "action": action_label, "reason": history_reason, **time_formatters("created_at")}
    base_order = ("created_at", "desc")


class OutboxView(StaffModelView):
    datamodel = SQLAInterface(OutboxEmail)
    class_permission_name = "Outbox"
    base_permissions = READ_ONLY
    list_title = "Outbox"
    show_title = "E-mail"
    list_columns = ["created_at", "to_address", "subject", "event", "status", "attempts", "next_attempt_at",
                    "sent_at", "last_error"]
    show_columns = ["created_at", "to_address", "subject", "event", "status", "attempts", "next_attempt_at",
                    "sent_at", "last_error", "request_id", "body_text"]
    search_columns = ["to_address", "subject", "event", "status", "created_at"]
    order_columns = ["created_at", "to_address", "status", "attempts", "next_attempt_at", "sent_at"]
    label_columns = {"to_address": "To", "next_attempt_at": "Next attempt", "sent_at": "Sent",
                     "last_error": "Last error", "body_text": "Text", "request_id": "Request id"}
    search_form_extra_fields = {"status": choice_field("Status", ("pending", "sent", "failed"))}
    formatters_columns = {"status": status_badge, "event": record_label,
                          **time_formatters("created_at", "next_attempt_at", "sent_at")}
    base_order = ("created_at", "desc")

    @expose("/list/")
    @has_access
    def list(self):
        """The list, under warnings about a stale scheduler, failed mail or no mail server."""
        from .operations import alerts

        for category, text in alerts():
            flash(text, category)
        return super().list()


class LoginTokenView(StaffModelView):
    """Login links that were sent: when, to whom, used or revoked. The token itself is never shown."""

    datamodel = SQLAInterface(LoginToken)
    class_permission_name = "LoginTokens"
    base_permissions = READ_ONLY
    list_title = "Login links"
    show_title = "Login link"
    list_columns = ["user", "created_at", "expires_at", "last_used_at", "revoked_at", "created_ip"]
    show_columns = [*list_columns, "user_agent"]
    search_columns = ["created_ip", "created_at", "expires_at", "revoked_at"]
    order_columns = ["created_at", "expires_at", "last_used_at", "revoked_at"]
    label_columns = {"user": "User", "expires_at": "Expires", "last_used_at": "Last used", "revoked_at": "Revoked",
                     "created_ip": "Requested from", "user_agent": "Browser"}
    formatters_columns = time_formatters("created_at", "expires_at", "last_used_at", "revoked_at")
    base_order = ("created_at", "desc")


class NotificationView(StaffModelView):
    datamodel = SQLAInterface(Notification)
    class_permission_name = "Notifications"
    base_permissions = [*READ_ONLY, "can_mark_read"]
    base_filters = [["id", FilterStaffFeed, None]]
    list_title = "Notifications"
    show_title = "Notification"
    list_columns = ["created_at", "title", "customer", "link", "read_at"]
    show_columns = ["created_at", "event", "title", "body", "customer", "link", "read_at"]
    search_columns = ["title", "event", "created_at", "read_at"]
    order_columns = ["created_at", "title", "read_at"]
    label_columns = {"read_at": "Read", "link": "Link", "event": "Event"}
    formatters_columns = {"link": internal_link, **time_formatters("created_at", "read_at")}
    base_order = ("created_at", "desc")

    @action("mark_read", "Mark read", "", "fa-check", single=False)
    def mark_read(self, items):
        # FAB actions skip base_filters: check each row again.
        actor = current_actor()
        items = items if isinstance(items, list) else [items]
        for note in items:
            if sees_notification(note, actor) and note.read_at is None:
                note.read_at = utcnow()
        db.session.commit()
        self.update_redirect()
        return redirect(self.get_redirect())


def register(appbuilder, add) -> None:
    add(appbuilder, NotificationView, "Notifications", icon="fa-bell")
    add(appbuilder, AuditEventView, "Audit trail", category="System", icon="fa-history", category_icon="fa-server")
    add(appbuilder, OutboxView, "Outbox", category="System", icon="fa-envelope")
    add(appbuilder, LoginTokenView, "Login links", category="System", icon="fa-key")
