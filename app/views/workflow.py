"""State changes from the staff screens: buttons on the show page, one POST endpoint, the audit history.

A view that mixes in ``WorkflowMixin`` names its service module (``workflow_service = "estimates"``).
The show page offers one small form per action the service's state machine allows the logged-in user
now, plus a few non-transition actions (a payment, a message); each form posts to
``/<view>/transition/<pk>/<action>``, which calls ``service.perform`` and flashes the outcome. Status
never changes any other way: it is in no add or edit form.
"""
from __future__ import annotations

import datetime as dt
import importlib
import logging

from flask import flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..core.errors import ServiceError, ValidationFailed
from ..core.scope import current_actor
from ..core.settings import to_local, to_utc
from ..extensions import db
from ..models import Role, User
from ..services.audit import history
from .base import get_or_404
from .filters import status_label

log = logging.getLogger(__name__)

#: The form fields each action takes (SPEC §6's action bodies). Anything else posts no parameters.
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "propose": ("start", "note"),
    "decline": ("reason",),
    "cancel": ("reason",),
    "void": ("reason",),
    "payments": ("amount", "method", "reference"),
    "messages": ("text", "public"),
    "notes": ("text",),
    "clock_on": ("note",),
    "clock_off": ("note",),
    "ready": ("note",),
    "assign": ("technician_id", "scheduled_start", "scheduled_end"),
}
ACTION_LABELS = {
    "confirm": "Confirm", "propose": "Propose a time", "accept_time": "Accept time", "decline": "Decline",
    "cancel": "Cancel", "estimate": "Create estimate", "work_order": "Create work order",
    "submit": "Submit", "approve": "Approve", "acknowledge": "Acknowledge dispute", "revise": "Revise",
    "receive": "Receive", "clock_on": "Clock on", "clock_off": "Clock off", "ready": "Mark ready",
    "complete": "Complete", "invoice": "Create invoice", "authorize": "Authorize",
    "payments": "Record payment", "void": "Void", "messages": "Send message", "notes": "Add note",
    "assign": "Assign",
}
DANGER = {"cancel", "decline", "void"}
PAYMENT_METHODS = ("cash", "card", "transfer", "cheque", "online")
TEXT_FIELDS = ("reason", "text", "note", "method", "reference", "amount", "technician_id")
CHECKBOXES = ("estimate", "public")
UTC_FIELDS = ("scheduled_start", "scheduled_end")  # stored as given by the service: convert here


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action.replace("_", " ").capitalize())


def parse_local(value: str, field: str = "start") -> dt.datetime:
    """A ``datetime-local`` input (shop-local, naive)."""
    try:
        return dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed({field: ["Enter a date and time such as 2025-03-14 09:30."]}) from None


def technicians() -> list:
    """Active users with the Technician role, for the "Assign" form."""
    return list(
        db.session.scalars(
            select(User).where(User.active.is_(True), User.roles.any(Role.name == "Technician"))
            .order_by(User.first_name, User.last_name)
        )
    )


def describe(error: ServiceError) -> str:
    """The flash message: a validation error names the form field it is about."""
    if isinstance(error, ValidationFailed) and error.errors:
        fields = {f for names in ACTION_FIELDS.values() for f in names}
        parts = []
        for field, messages in error.errors.items():
            prefix = f"{field.replace('_', ' ').capitalize()}: " if field in fields else ""
            parts.append(prefix + " ".join(str(m) for m in messages))
        return " ".join(parts)
    return error.message


class WorkflowMixin:
    """Transition buttons, the transition endpoint and the history table for a document's screen.

    ``workflow_service``: the module under ``app.services`` (``requests``, ``estimates``…).
    ``workflow_actions``: if set, only these machine actions are offered and accepted here.
    ``workflow_extra_actions``: non-transition actions ``{action: states or None for any}``.
    ``workflow_fields``: per-view additions to ``ACTION_FIELDS``.
    ``workflow_summary_template``: an optional include shown above the details (lines, totals).
    """

    workflow_service = ""
    workflow_actions: tuple[str, ...] | None = None
    workflow_extra_actions: dict[str, tuple[str, ...] | None] = {}
    workflow_fields: dict[str, tuple[str, ...]] = {}
    workflow_summary_template = ""
    show_template = "staff/show_workflow.html"
    method_permission_name = {"transition": "transition"}

    # --- the service ---------------------------------------------------------------------------------

    def service(self):
        return importlib.import_module(f"app.services.{self.workflow_service}")

    def fields_for(self, action: str) -> tuple[str, ...]:
        return self.workflow_fields.get(action, ACTION_FIELDS.get(action, ()))

    def available_actions(self, item, actor) -> list[str]:
        service = self.service()
        actions = list(service.MACHINE.allowed_actions(item.status, actor, item))
        performable = getattr(service, "ACTIONS", None)
        if performable is not None:  # internal transitions (e.g. "pay") have no button
            actions = [a for a in actions if a in performable]
        if self.workflow_actions is not None:
            actions = [a for a in actions if a in self.workflow_actions]
        for action, states in self.workflow_extra_actions.items():
            if action not in actions and (states is None or item.status in states):
                actions.append(action)
        return actions

    def reason_required(self, item, action: str) -> bool:
        machine = self.service().MACHINE
        return any(
            getattr(t, "reason_required", False)
            for t in getattr(machine, "transitions", ())
            if t.action == action and item.status in t.sources
        )

    def accepts(self, action: str) -> bool:
        return (self.workflow_actions is None or action in self.workflow_actions
                or action in self.workflow_extra_actions)

    def workflow_context(self, item) -> dict:
        actor = current_actor()
        actions = [
            {
                "name": action,
                "label": action_label(action),
                "style": "danger" if action in DANGER else "primary",
                "fields": self.fields_for(action),
                "reason_required": self.reason_required(item, action),
            }
            for action in self.available_actions(item, actor)
        ]
        return {
            "status": item.status,
            "actions": actions,
            "version": getattr(item, "version", None),
            "history": history(item),
            "endpoint": f"{self.endpoint}.transition",
            "payment_methods": PAYMENT_METHODS,
            "summary_template": self.workflow_summary_template,
            "item": item,
            "technicians": technicians() if any(a["name"] == "assign" for a in actions) else [],
            "edit_endpoint": f"{self.endpoint}.edit" if self.may("can_edit") else None,
            "local": {c: to_local(getattr(item, c, None)) for c in UTC_FIELDS},
            **self.summary_context(item),
        }

    def may(self, permission: str) -> bool:
        return permission in self.base_permissions and self.appbuilder.sm.has_access(
            permission, self.class_permission_name)

    def summary_context(self, item) -> dict:
        """Extra values for ``workflow_summary_template``."""
        return {}

    # --- creating: through the service, then to the new record's page --------------------------------

    def pre_add(self, item):
        super().pre_add(item)
        try:
            # In the session before the service numbers and audits it (the audit row needs its id), without
            # an autoflush inserting it half-made.
            with db.session.no_autoflush:
                db.session.add(item)
                self.service().prepare_new(item, current_actor())
        except ServiceError as error:
            db.session.rollback()
            g.portico_add_error = error
            raise ValueError(describe(error)) from error

    def process_form(self, form, is_created):
        super().process_form(form, is_created)
        if is_created:
            g.portico_add_form = form

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        """FAB's add, except that a form the service refused comes back filled in, errors at the fields."""
        widget = self._add()
        error, form = g.pop("portico_add_error", None), g.pop("portico_add_form", None)
        if widget is None and error is not None and form is not None:
            for field, messages in getattr(error, "errors", {}).items():
                if field in form:
                    form[field].errors = [str(m) for m in messages]
            widget = self._get_add_widget(form=form, exclude_cols=self._filters.get_relation_cols())
        if not widget:
            return self.post_add_redirect()
        return self.render_template(self.add_template, title=self.add_title, widgets=widget)

    def post_add(self, item):
        super().post_add(item)
        g.portico_created_id = item.id

    def post_add_redirect(self):
        created = g.pop("portico_created_id", None)
        if created is not None:
            return redirect(url_for(f"{self.endpoint}.show", pk=created))
        return super().post_add_redirect()

    # --- endpoints -----------------------------------------------------------------------------------

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        pk = self._deserialize_pk_if_composite(pk)
        widgets = self._show(pk)
        item = get_or_404(self, pk)
        return self.render_template(
            self.show_template,
            pk=pk,
            title=self.show_title,
            widgets=widgets,
            related_views=self._related_views,
            workflow=self.workflow_context(item),
        )

    @expose("/transition/<pk>/<action>", methods=["POST"])
    @has_access
    def transition(self, pk, action):
        item = get_or_404(self, pk)
        back = redirect(url_for(f"{self.endpoint}.show", pk=item.id))
        if not self.accepts(action):
            flash(f"{action_label(action)} is not available on this screen.", "danger")
            return back
        number = str(item)
        try:
            params = self.read_params(action)
            result = self.service().perform(item, action, current_actor(), **params)
        except ServiceError as error:
            db.session.rollback()
            flash(describe(error), "danger")
            return back
        except SQLAlchemyError:  # e.g. a constraint another request won first: no 500 for the user
            db.session.rollback()
            log.exception("%s %s on %s failed", type(self).__name__, action, number)
            flash(f"{number}: {action_label(action).lower()} could not be saved. Reload the page and try again.",
                  "danger")
            return back
        return self.after_transition(item, number, action, result, back)

    # --- helpers -------------------------------------------------------------------------------------

    def read_params(self, action: str) -> dict:
        form = request.form
        params: dict = {}
        for field in self.fields_for(action):
            if field == "start" or field in UTC_FIELDS:
                raw = form.get(field, "").strip()
                value = parse_local(raw, field) if raw else None
                if value is not None and field in UTC_FIELDS:
                    value = to_utc(value)
                if value is not None or field in UTC_FIELDS:
                    params[field] = value
            elif field in CHECKBOXES:
                params[field] = form.get(field) in ("1", "y", "on", "true")
            elif field in TEXT_FIELDS:
                params[field] = form.get(field, "").strip() or None
        version = form.get("expected_version", "").strip()
        if version:
            try:
                params["expected_version"] = int(version)
            except ValueError:
                raise ValidationFailed({"version": ["Not a version number."]}) from None
        return params

    def after_transition(self, item, number: str, action: str, result, back):
        """Created another document (an estimate, a work order…): go there. Otherwise stay."""
        created = result is not None and (type(result) is not type(item) or result.id != item.id)
        endpoint = self.show_endpoint_for(type(result)) if created else None
        if endpoint:
            flash(f"{number}: {action_label(action).lower()} done, created {result}.", "success")
            return redirect(url_for(endpoint, pk=result.id))
        status = getattr(item, "status", None)
        flash(f"{number}: {action_label(action).lower()} done; it is now {status_label(status).lower()}.",
              "success")
        if self.datamodel.get(item.id, self._base_filters) is None:  # e.g. left the technician's board
            return redirect(url_for(f"{self.endpoint}.list"))
        return back

    def show_endpoint_for(self, model) -> str | None:
        """The show page of the main staff screen for ``model`` (views with a workflow service)."""
        for view in self.appbuilder.baseviews:
            datamodel = getattr(view, "datamodel", None)
            if getattr(view, "workflow_service", "") and datamodel is not None and datamodel.obj is model:
                if self.appbuilder.sm.has_access("can_show", view.class_permission_name):
                    return f"{view.endpoint}.show"
        return None
