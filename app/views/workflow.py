"""State changes from the staff screens: buttons on the show page, one POST endpoint, the audit history.

A view that mixes in ``WorkflowMixin`` names its service module (``workflow_service = estimates``).
The show page offers one small form per action of the service's table that the logged-in user may take
now (transitions, notes, payments, messages, assignments); each form posts to
``/<view>/transition/<pk>/<action>``, which hands the posted fields to ``perform`` and flashes the
outcome. The edit form saves through the table's ``edit`` action. Status never changes any other way:
it is in no add or edit form.
"""
from __future__ import annotations

import logging

from flask import flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.urltools import get_order_args, get_page_args, get_page_size_args
from flask_babel import get_locale, lazy_pgettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import fields
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..core.errors import ServiceError, ValidationFailed
from ..core.numbers import NumberNotUnderstood, typed_number
from ..core.scope import current_actor
from ..core.settings import to_local
from ..extensions import db
from ..models import Role, User
from ..services.audit import history
from ..services.params import Amount
from ..services.workflow import TABLES, perform
from .base import get_or_404

log = logging.getLogger(__name__)

ACTION_LABELS = {
    "confirm": _l("Confirm"), "propose": _l("Propose a time"), "accept_time": _l("Accept time"),
    "decline": _l("Decline"), "cancel": _l("Cancel"), "estimate": _l("Create estimate"),
    "work_order": _l("Create work order"), "submit": _l("Submit"), "approve": _l("Approve"),
    "acknowledge": _l("Acknowledge dispute"), "revise": _l("Revise"), "receive": _l("Receive"),
    "clock_on": _l("Clock on"), "clock_off": _l("Clock off"), "ready": _l("Mark ready"), "complete": _l("Complete"),
    "invoice": _l("Create invoice"), "authorize": _l("Authorize"), "payments": _l("Record payment"),
    "void": lazy_pgettext("action", "Void"),  # the button ("Stornieren"), not the state ("Storniert")
    "messages": _l("Send message"), "notes": _l("Add note"), "assign": _l("Assign"),
    "run": _l("Run now"), "credit": _l("Issue credit note"), "reschedule": _l("Move the booking"),
    "tracking": _l("Set tracking number"), "answer": _l("Answer the query (keep the invoice)"),
    "reissue": _l("Void and re-issue"), "offer_again": _l("Offer the declined lines again"),
    "rotate_feed": _l("New feed URL"),
    # rows with a screen of their own, named in the audit trail
    "archive": _l("Archive"), "attach": _l("Attach a file"), "book": _l("Book"), "create": _l("Create"),
    "delete": _l("Delete"), "dispute": _l("Dispute"), "dry_run": _l("Check (dry run)"), "edit": _l("Edit"),
    "erase": _l("Erase personal data"), "estimate_approved": _l("Estimate approved"),
    "interrupt": _l("Interrupt"), "invite": _l("Invite to the portal"), "item": _l("Work item"),
    "lines": _l("Edit lines"), "edit lines": _l("Edit lines"), "lock": _l("Lock"), "lock_user": _l("Lock login"),
    "login_link": _l("Copy login link"), "map": _l("Map columns"), "pay": _l("Pay"), "pay_online": _l("Pay online"),
    "privacy_export": _l("Export personal data"), "query": _l("Query"), "remind": _l("Send reminder"),
    "restore": _l("Restore"), "retry": _l("Retry"), "save_template": _l("Save mapping"),
    "send_login_link": _l("Send login link"), "send_password_reset": _l("Send password reset"),
    "undo": _l("Undo import"), "unlock": _l("Unlock"), "unlock_user": _l("Unlock login"), "upload": _l("Upload"),
    # lines of the audit trail only
    "payment": _l("Payment"), "item_done": _l("Work item done"), "item_not_done": _l("Work item not done"),
    "closed_days": _l("Closed days"), "opening_hours": _l("Opening hours"),
}
DANGER = {"cancel", "decline", "void", "credit", "reissue"}
#: Rows of a table that have a screen of their own rather than a button on the show page.
NOT_BUTTONS = {"edit", "lines", "item", "pay_online", "attach"}
PAYMENT_METHODS = ("cash", "card", "transfer", "cheque", "online")
UTC_FIELDS = ("scheduled_start", "scheduled_end")


#: The parameters of an action's form that have no input of their own (a text input named by its label).
FIELD_LABELS = {
    "tracking_number": _l("Tracking number"), "scheduled_start": _l("Scheduled start"),
    "scheduled_end": _l("Scheduled end"), "lines": _l("Lines"), "email": _l("Email"), "name": _l("Name"),
    "portal_user": _l("Portal user"), "template": _l("Template"), "mapping": _l("Mapping"), "confirm": _l("Confirm"),
}


def action_label(action: str) -> str:
    """An action (or a line of the audit trail such as ``failed``) as a person reads it."""
    from .filters import status_label  # the states' words: "failed", "imported"…

    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else status_label(action)


def field_label(name: str) -> str:
    """An action parameter as its form names it (``tracking_number`` → "Tracking number")."""
    return str(FIELD_LABELS.get(name, name.replace("_", " ").capitalize()))


def in_sentence(label: str) -> str:
    """An action label inside a sentence: lower case in English ("Reason for void"); German keeps its nouns
    capitalised, so the label stays as it is."""
    locale = get_locale()
    return label.lower() if locale is None or locale.language == "en" else label


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
        parts = []
        for field, messages in error.errors.items():
            prefix = f"{field_label(field)}: " if field != "_schema" else ""
            parts.append(prefix + " ".join(messages))
        return " ".join(parts)
    return error.message


def form_params(schema) -> dict:
    """The posted fields an action's schema names, as text (``perform`` parses them); checkboxes that are
    not ticked are not posted, so a boolean field that is absent is false."""
    params: dict = {}
    for name, field in schema().load_fields.items():
        if name == "version":
            continue
        if isinstance(field, fields.Boolean):
            params[name] = request.form.get(name) in ("1", "y", "on", "true")
        elif isinstance(field, fields.List):
            if request.form.getlist(name):
                params[name] = request.form.getlist(name)
        elif name in request.form:
            params[name] = request.form[name]
            if isinstance(field, (fields.Decimal, fields.Float, Amount)):
                params[name] = _machine_number(name, params[name])
    params["expected_version"] = request.form.get("expected_version")
    return params


def _machine_number(name: str, typed: str) -> str:
    """A decimal typed in the reader's language (``1.234,50`` on a German page) in machine form; what reads two
    ways, or is no number, is refused at the field with the sentence saying how to write it."""
    try:
        return typed_number(typed)
    except NumberNotUnderstood as problem:
        raise ValidationFailed({name: [str(problem)]}) from None


class ServiceEditMixin:
    """A staff screen whose edit form saves through the entity's ``edit`` action (states, validation, audit).

    The form is FAB's; what it posts is handed to ``perform(item, "edit", …)``. A refusal comes back as the
    form, filled in, with the errors at the fields (or as a flash naming the state the record is in)."""

    def edit_table(self):
        return TABLES.get(self.datamodel.obj)

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        if request.method != "POST" or self.edit_table() is None:
            return super().edit(pk)
        item = get_or_404(self, pk)
        exclude = self._filters.get_relation_cols()
        form = self.edit_form.refresh(request.form)
        self._fill_form_exclude_cols(exclude, form)
        form._id = item.id
        status = 422
        if form.validate():
            self.process_form(form, False)
            changes = {name: form[name].data for name in self.edit_columns if name in form}
            try:
                perform(item, "edit", current_actor(), self.edit_params(item, changes))
            except ServiceError as error:
                for field, messages in getattr(error, "errors", {}).items():
                    if field in form:
                        form[field].errors = list(messages)
                flash(describe(error), "danger")
                status = error.status_code
            else:
                flash(_("%(item)s: saved.", item=item), "success")
                return redirect(url_for(f"{self.endpoint}.show", pk=item.id))
        widgets = self._get_related_views_widgets(
            item, filters={}, orders=get_order_args(), pages=get_page_args(), page_sizes=get_page_size_args(),
            widgets=self._get_edit_widget(form=form, exclude_cols=exclude))
        return self.render_template(self.edit_template, title=self.edit_title, widgets=widgets,
                                    related_views=self._related_views), status

    def edit_params(self, item, changes: dict) -> dict:
        """What the form's values mean to the ``edit`` action (a screen may turn text into values)."""
        return changes


class WorkflowMixin(ServiceEditMixin):
    """Action buttons, the action endpoint and the history table for a document's screen.

    ``workflow_service``: the service module (``app.services.requests``…): its ``TABLE`` says which
    actions the user may take now, with which parameters; its ``prepare_new`` checks a new record.
    ``workflow_actions``: if set, only these of the table's actions are offered here.
    ``workflow_summary_template``: an optional include shown above the details (lines, totals).
    """

    workflow_service = None
    workflow_actions: tuple[str, ...] | None = None
    workflow_summary_template = ""
    show_template = "staff/show_workflow.html"
    method_permission_name = {"transition": "transition"}

    # --- the service ---------------------------------------------------------------------------------

    @property
    def table(self):
        return self.workflow_service.TABLE

    def fields_for(self, action: str) -> tuple[str, ...]:
        return tuple(name for name in self.table.schema(action)().load_fields if name != "version")

    def available_actions(self, item, actor) -> list[str]:
        actions = [a for a in self.table.allowed_actions(item.status, actor, item) if a not in NOT_BUTTONS]
        if self.workflow_actions is not None:
            actions = [a for a in actions if a in self.workflow_actions]
        return actions

    def accepts(self, action: str) -> bool:
        return self.workflow_actions is None or action in self.workflow_actions

    def workflow_context(self, item) -> dict:
        actor = current_actor()
        actions = [
            {
                "name": action,
                "label": action_label(action),
                "phrase": in_sentence(action_label(action)),
                "style": "danger" if action in DANGER else "primary",
                "fields": self.fields_for(action),
                "reason_required": self.table.reason_required(item, action),
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
            "field_labels": {name: field_label(name) for a in actions for name in a["fields"]},
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
                self.workflow_service.prepare_new(item, current_actor())
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
            flash(_("%(action)s is not available on this screen.", action=action_label(action)), "danger")
            return back
        number, before = str(item), getattr(item, "status", None)
        try:
            result = perform(item, action, current_actor(), form_params(self.table.schema(action)))
        except ServiceError as error:
            flash(describe(error), "danger")
            return back
        except SQLAlchemyError:  # e.g. a constraint another request won first: no 500 for the user
            db.session.rollback()
            log.exception("%s %s on %s failed", type(self).__name__, action, number)
            flash(_("%(number)s: %(action)s could not be saved. Reload the page and try again.", number=number,
                    action=action_label(action).lower()), "danger")
            return back
        return self.after_transition(item, number, action, result, back, before)

    # --- helpers -------------------------------------------------------------------------------------

    def after_transition(self, item, number: str, action: str, result, back, before: str | None = None):
        """Created another document (an estimate, a work order…): go there. Otherwise stay."""
        from .sentences import done  # it reads this module's action labels

        created = result is not None and (type(result) is not type(item) or result.id != item.id)
        endpoint = self.show_endpoint_for(type(result)) if created else None
        flash(done(item, number, action, result, before), "success")
        if endpoint:
            return redirect(url_for(endpoint, pk=result.id))
        if self.datamodel.get(item.id, self._base_filters) is None:  # e.g. left the technician's board
            return redirect(url_for(f"{self.endpoint}.list"))
        return back

    def show_endpoint_for(self, model) -> str | None:
        """The show page of the main staff screen for ``model`` (views with a workflow service)."""
        for view in self.appbuilder.baseviews:
            datamodel = getattr(view, "datamodel", None)
            if getattr(view, "workflow_service", None) and datamodel is not None and datamodel.obj is model:
                if self.appbuilder.sm.has_access("can_show", view.class_permission_name):
                    return f"{view.endpoint}.show"
        return None
