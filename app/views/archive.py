"""Screens of rows that history names (customers, units, addresses, reference rows): archive, never lose.

``ArchiveMixin`` gives a generated screen:

- **Archive** and **Restore**, on the record's page and as bulk actions of the list, each through the
  entity's ``archive`` / ``restore`` row (audited);
- FAB's **Delete** (the list's trash button, a forged POST) through the ``delete`` row: refused with a 409
  message naming what holds the row ("Klara Fischer has 3 work orders and 1 invoice: archive instead.");
- a record page that says before anything happens whether the row can be deleted or only archived,
  with its history (every edit old → new, archive, restore);
- a list of the rows in use, with a switch to the archived ones.
"""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.actions import action
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _

from ..core.errors import ServiceError
from ..core.scope import archived_clause, current_actor
from ..services import history
from ..services.audit import history as audit_trail
from ..services.workflow import perform, table_of
from .base import get_or_404
from .workflow import describe


class FilterArchivedSwitch(BaseFilter):
    """The list shows the rows in use; ``?archived=1`` shows the archived ones. Pages of one record show it
    whatever it is (an archived customer's page still opens from its old work orders)."""

    name = "Archived"
    arg_name = None

    def apply(self, query, value):
        if not (request.endpoint or "").endswith(".list"):
            return query
        return query.filter(archived_clause(self.model, request.args.get("archived") == "1"))


def take_on_each(view, name: str, items, target=lambda item: item):
    """``archive`` / ``restore`` on each chosen row (or on what ``target`` names for it, e.g. a portal
    user's login), one flash for what was done and one per refusal; back to the row, or to the list."""
    items = [item for item in (items if isinstance(items, list) else [items]) if item is not None]
    actor, done = current_actor(), []
    for item in items:
        try:
            perform(target(item), name, actor)
        except ServiceError as error:
            flash(f"{target(item)}: {describe(error)}", "warning")
        else:
            done.append(str(target(item)))
    if done:
        flash((_("Archived: %(names)s.", names=", ".join(done)) if name == "archive"
               else _("Restored: %(names)s.", names=", ".join(done))), "success")
    if len(items) == 1:
        return redirect(url_for(f"{view.endpoint}.show", pk=items[0].id))
    return redirect(url_for(f"{view.endpoint}.list"))


class ArchiveMixin:
    list_template = "staff/list_archivable.html"
    show_template = "staff/show_archivable.html"
    base_filters = [["id", FilterArchivedSwitch, None]]

    @action("archive", "Archive",
            "Archive the chosen records? They leave pickers and lists; everything that names them stays.",
            "fa-archive", single=False)  # the record's page has its own buttons, shown when they apply
    def archive(self, items):
        return self._take("archive", items)

    @action("restore", "Restore", None, "fa-undo", single=False)
    def restore(self, items):
        return self._take("restore", items)

    def _take(self, name: str, items):
        return take_on_each(self, name, items)

    def _delete(self, pk):
        """FAB's delete (the list's trash button, any POST to /delete/<pk>): the ``delete`` row decides."""
        item = get_or_404(self, pk)
        name = str(item)
        try:
            perform(item, "delete", current_actor())
        except ServiceError as error:
            flash(describe(error), "danger")
        else:
            flash(_("%(name)s was deleted.", name=name), "success")

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        pk = self._deserialize_pk_if_composite(pk)
        widgets = self._show(pk)
        item = get_or_404(self, pk)
        found = history.holders(item)
        actor = current_actor()
        table = table_of(item)
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets, related_views=self._related_views,
            item=item, archived=history.is_archived(item), held_by=history.describe_holders(found) if found else None,
            may_archive=table.may(item, "archive", actor), may_restore=table.may(item, "restore", actor),
            may_delete=not found and table.may(item, "delete", actor) and "can_delete" in self.base_permissions,
            list_endpoint=f"{self.endpoint}.list", delete_endpoint=f"{self.endpoint}.delete",
            action_endpoint=f"{self.endpoint}.action_post", workflow={"history": audit_trail(item)},
            **self.show_context(item, actor))

    def show_context(self, item, actor) -> dict:
        """What a screen adds to its record's page (the customer's portal users)."""
        return {}
