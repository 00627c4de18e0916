"""What every staff screen shares: list defaults, cell formatters, row filters and small guards.

``StaffModelView`` is the base of every staff ModelView: 25 rows a page, explicit ``search_columns``
(FAB's default would offer every column, internal ones included) and the shop's formatting of money,
states and times. The workflow screens add ``views.workflow.WorkflowMixin`` on top.
"""
from __future__ import annotations

import datetime as dt

from flask import abort, g, request
from flask_appbuilder import ModelView
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.widgets import ListWidget
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, DecimalField, SelectField
from wtforms.fields.choices import SelectChoice

from ..core.datamodel import PorticoInterface
from ..core.numbers import NumberNotUnderstood, shown_number, typed_number
from ..core.scope import archived_clause, current_actor, scoped
from ..core.settings import to_local, to_utc
from ..extensions import db
from ..models import Role, User, WorkOrder
from ..services import audit
from ..services.workflow import table_of
from .filters import VALUE_WORDS, format_local, format_money, status_label

READ_ONLY = ["can_list", "can_show"]
NO_DELETE = ["can_list", "can_show", "can_add", "can_edit"]


# --- cell formatters ---------------------------------------------------------------------------------

def money_cell(value) -> Markup:
    if value is None or value == "":
        return Markup("")
    return Markup('<span class="money">{}</span>').format(format_money(value))


def status_badge(value) -> Markup:
    if not value:
        return Markup("")
    return Markup('<span class="status-badge status-{0}">{1}</span>').format(value, status_label(value))


def local_time(value) -> str:
    return format_local(value) if value else ""


def yes_no(value) -> str:
    return str(_("Yes") if value else _("No"))


def label(value) -> str:
    """``in_progress`` → ``In progress`` for kinds, slots and other fixed values."""
    return status_label(value) if value else ""


def money_formatters(*columns: str) -> dict:
    return {column: money_cell for column in columns}


def time_formatters(*columns: str) -> dict:
    return {column: local_time for column in columns}


BLANK = "—"


def dash_for_empty_choices() -> None:
    """FAB's relation pickers offer "no choice" as ``("__None", "")``; WTForms 3.3 shows an empty label as
    its value, so every optional picker read ``__None``. Show ``—`` instead (the value stays ``__None``)."""
    from flask_appbuilder.fields import QuerySelectField
    from wtforms.fields.choices import Choice

    if getattr(QuerySelectField.iter_choices, "_portico", False):
        return
    original = QuerySelectField.iter_choices

    def iter_choices(self):
        for value, label, selected, *rest in original(self):
            render_kw = rest[0] if rest else {}
            yield Choice(value, BLANK if value == "__None" and not label else label, selected, render_kw)

    iter_choices._portico = True
    QuerySelectField.iter_choices = iter_choices


def choice_field(label: str, choices, *, required: bool = True, labels: dict | None = None) -> SelectField:
    """A select box for a string column with a fixed set of values (kind, slot, status…)."""
    # the lazy words, not str(): the label is chosen when the form is drawn, in the reader's language
    options = [SelectChoice(value, (labels or {}).get(value) or VALUE_WORDS.get(value) or status_label(value))
               for value in choices]
    if not required:
        options = [SelectChoice("", BLANK), *options]
    return SelectField(label, choices=options, widget=Select2Widget())


def status_search(choices) -> dict:
    """``search_form_extra_fields`` for a status column: pick a state instead of typing it."""
    return {"status": choice_field("Status", choices)}


# --- row filters -------------------------------------------------------------------------------------

class FilterTechnicianScope(BaseFilter):
    """Rows of the work orders the actor may work on (``scope.scoped``): a technician sees the orders
    assigned to them and the unassigned ones, staff see all. ``column_name`` is the work order id
    (``id`` on work orders, ``work_order_id`` on their children)."""

    name = "Work orders of the technician"
    arg_name = None

    def apply(self, query, value):
        allowed = scoped(select(WorkOrder.id), WorkOrder, current_actor())
        return query.filter(getattr(self.model, self.column_name).in_(allowed.scalar_subquery()))


class FilterUserHasRole(BaseFilter):
    """Pickers of FAB users: only users holding one of the given roles (e.g. technicians), active ones."""

    name = "User has role"
    arg_name = None

    def apply(self, query, value):
        return query.filter(User.active.is_(True), User.roles.any(Role.name.in_(value)))


class FilterRelatedStatus(BaseFilter):
    """Pickers of child rows whose parent (``column_name``, a relationship) is in one of the given states."""

    name = "Parent in state"
    arg_name = None

    def apply(self, query, value):
        relation = getattr(self.model, self.column_name)
        parent = relation.property.mapper.class_
        return query.filter(relation.has(parent.status.in_(value)))


class FilterIsNull(BaseFilter):
    name = "Is empty"
    arg_name = None

    def apply(self, query, value):
        return query.filter(getattr(self.model, self.column_name).is_(None))


class FilterIsSet(BaseFilter):
    name = "Is set"
    arg_name = None

    def apply(self, query, value):
        return query.filter(getattr(self.model, self.column_name).is_not(None))


ACTIVE_ONLY = [["active", FilterEqual, True]]
TECHNICIANS = [["id", FilterUserHasRole, ("Technician",)]]


# --- decimals typed in the reader's language ------------------------------------------------------------

class TypedDecimalField(DecimalField):
    """FAB's decimal field, read and shown in the reader's language (``core.numbers``, as the staff action
    forms do): ``19,5`` and ``1.234,50`` on a German page, ``1,234.50`` on an English one; what reads two
    ways (``1.234`` in German) is refused with a sentence at the field, what was typed stays in the form."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        try:
            machine = typed_number(valuelist[0])
        except NumberNotUnderstood as error:
            self.data = None
            raise ValueError(str(error)) from None
        super().process_formdata([machine])

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is not None and self.places is not None:
            return shown_number(self.data, self.places)
        return super()._value()


def typed_decimals(form) -> None:
    """Every decimal field FAB made for ``form`` (a form class) becomes a ``TypedDecimalField``."""
    if form is None:
        return
    for name in dir(form):
        unbound = getattr(form, name, None)
        if getattr(unbound, "field_class", None) is DecimalField:
            unbound.field_class = TypedDecimalField  # in place: the field keeps its place in the form


# --- the base view -----------------------------------------------------------------------------------

class EagerListInterface(PorticoInterface):
    """FAB's SQLAlchemy interface, plus: the list query loads the related rows its columns show.

    FAB loads a list's many-to-one relations (customer, unit, technician…) lazily, one query per row and
    column; here each is loaded with one ``selectinload`` query per page, so a page costs the same number
    of statements at 25 rows as at 100.
    """

    def __init__(self, obj, session=None, eager: tuple[str, ...] = ()):
        super().__init__(obj, session)
        self.eager = eager

    def apply_all(self, query, *args, **kwargs):
        query = super().apply_all(query, *args, **kwargs)
        return query.options(*(selectinload(getattr(self.obj, name)) for name in self.eager))


def eager_interface(datamodel, columns) -> SQLAInterface:
    """The view's datamodel, upgraded to load the to-one relations among ``columns`` eagerly."""
    if isinstance(datamodel, EagerListInterface):
        return datamodel
    relations = tuple(
        name for name in columns or [] if name in datamodel.list_properties
        and (datamodel.is_relation_many_to_one(name) or datamodel.is_relation_one_to_one(name))
    )
    return EagerListInterface(datamodel.obj, datamodel._session, relations)


#: Pickers that list one customer's rows (issue 15, item 4): narrowed to the form's customer.
CUSTOMER_PICKERS = ("unit", "address", "service_request", "work_order", "work_orders")


def form_customer_id(model) -> int | None:
    """The customer a form of ``model`` is about: the one posted with it, else the record's being edited; None
    on a new form before a customer is chosen. The picker endpoint (``pickers.py``) sets it on ``g``."""
    chosen = g.get("portico_picker_customer")
    if chosen is not None:
        return chosen
    posted = (request.form.get("customer") or "").strip() if request.method == "POST" else ""
    if posted.isdecimal():
        return int(posted) if 0 < int(posted) < 2**31 else -1  # no key is beyond 32 bits (PostgreSQL refuses)
    if posted:  # "__None" or rubbish: no customer, so nobody's rows
        return -1
    pk = (request.view_args or {}).get("pk")
    if pk is None or not (request.endpoint or "").endswith(".edit"):
        return None
    record = db.session.get(model, int(pk)) if str(pk).isdecimal() and 0 < int(pk) < 2**31 else None
    return getattr(record, "customer_id", None) if record is not None else -1


class FilterOfFormCustomer(BaseFilter):
    """A picker of units, addresses, requests or work orders offers the form's customer's rows only, at render
    and when the posted form is validated (another customer's unit is "Not a valid choice"). Its value is the
    model of the form. On a new form before a customer is chosen, staff-pickers.js narrows it in the browser."""

    name = "Of the form's customer"
    arg_name = None

    def apply(self, query, value):
        customer_id = form_customer_id(value)
        return query if customer_id is None else query.filter(self.model.customer_id == customer_id)


class FilterInUse(BaseFilter):
    """Pickers of new records offer no archived rows (customers, units, addresses, reference rows, users)."""

    name = "In use"
    arg_name = None

    def apply(self, query, value):
        clause = archived_clause(self.model)
        return query.filter(clause) if clause is not None else query


class StaffListWidget(ListWidget):
    """FAB's list table, its rows drawn with the page's links made once (staff/widgets/list.html)."""

    template = "staff/widgets/list.html"


class StaffModelView(ModelView):
    """Defaults for every staff screen. Subclasses name their ``search_columns`` explicitly."""

    page_size = 25
    base_order = None
    list_widget = StaffListWidget

    label_columns = {
        "number": "Number", "display_number": "Number", "status": "Status", "customer": "Customer",
        "created_at": "Created", "updated_at": "Updated", "unit": "Unit", "kind": "Kind",
        "service_type": "Service type", "service_location": "Service location",
        "shipping_method": "Shipping method", "technician": "Technician", "work_order": "Work order",
        "service_request": "Service request", "estimate": "Estimate", "invoice": "Invoice",
        "subtotal": "Subtotal", "tax": "Tax", "total": "Total", "amount_paid": "Paid", "balance": "Balance",
        "unit_price": "Unit price", "amount": "Amount", "tax_rate": "Tax rate (%)",
    }

    #: Datetime columns typed in shop time on the forms and stored in UTC.
    local_time_columns: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        if not self.search_columns:
            raise TypeError(f"{type(self).__name__} must name its search_columns explicitly")
        # Merge the shared labels under the view's own.
        self.label_columns = {**StaffModelView.label_columns, **(type(self).label_columns or {})}
        self.datamodel = eager_interface(self.datamodel, self.list_columns)
        self.add_form_query_rel_fields = self._customer_pickers(
            self.add_columns, self._in_use_pickers(self.add_columns, self.add_form_query_rel_fields))
        self.edit_form_query_rel_fields = self._customer_pickers(self.edit_columns, self.edit_form_query_rel_fields)
        self.add_form_extra_fields = self._checkboxes(self.add_columns, self.add_form_extra_fields)
        self.edit_form_extra_fields = self._checkboxes(self.edit_columns, self.edit_form_extra_fields)
        super().__init__(*args, **kwargs)
        typed_decimals(self.add_form)
        typed_decimals(self.edit_form)

    def _in_use_pickers(self, columns, rel_fields) -> dict:
        """Every relation picker of the add form leaves archived rows out (an edit form keeps offering the
        row the record already names)."""
        rel_fields = {name: list(filters) for name, filters in (rel_fields or {}).items()}
        for column in columns or []:
            if self.datamodel.is_relation(column):
                related = self.datamodel.get_related_model(column)
                if archived_clause(related) is not None:
                    rel_fields.setdefault(column, []).append(["id", FilterInUse, None])
        return rel_fields

    def _customer_pickers(self, columns, rel_fields) -> dict:
        """Pickers of one customer's rows follow the form's customer (``FilterOfFormCustomer``)."""
        rel_fields = {name: list(filters) for name, filters in (rel_fields or {}).items()}
        model = self.datamodel.obj
        if not hasattr(model, "customer_id"):  # a customer's own form has its own filters
            return rel_fields
        for column in columns or []:
            if column in CUSTOMER_PICKERS and self.datamodel.is_relation(column) and \
                    hasattr(self.datamodel.get_related_model(column), "customer_id"):
                rel_fields.setdefault(column, []).append(["customer_id", FilterOfFormCustomer, model])
        return rel_fields

    def _checkboxes(self, columns, extra_fields) -> dict:
        """FAB makes a NOT NULL boolean ``InputRequired``, so an unticked box never validates: give each
        boolean column a plain checkbox (with the column's default) unless the view has its own field."""
        fields = dict(extra_fields or {})
        for column in columns or []:
            if column not in fields and self.datamodel.is_boolean(column):
                label = self.label_columns.get(column) or column.replace("_", " ").capitalize()
                fields[column] = BooleanField(label, default=bool(self.datamodel.get_col_default(column)),
                                              description=(self.description_columns or {}).get(column, ""))
        return fields

    # --- empty cells are empty, not "None" ---------------------------------------------------------------

    def _blank(self, column, value):
        return "" if value is None and column not in self.formatters_columns else value

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        widgets = super()._get_show_widget(pk, item, widgets=widgets, actions=actions, show_fieldsets=show_fieldsets)
        args = widgets["show"].template_args
        columns = zip(args["include_columns"], args["value_columns"], strict=True)
        args["value_columns"] = [self._blank(column, value) for column, value in columns]
        return widgets

    def _get_list_widget(self, *args, **kwargs):
        widgets = super()._get_list_widget(*args, **kwargs)
        rows = widgets["list"].template_args["value_columns"]
        widgets["list"].template_args["value_columns"] = [
            {column: self._blank(column, value) for column, value in row.items()} for row in rows
        ]
        return widgets

    # --- shop-local times on forms -----------------------------------------------------------------------

    def prefill_form(self, form, pk):
        item = self.datamodel.get(pk)
        for column in self.local_time_columns:
            field = getattr(form, column, None)
            if field is not None and item is not None and getattr(item, column) is not None:
                field.data = to_local(getattr(item, column)).replace(tzinfo=None)

    def times_to_utc(self, item) -> None:
        for column in self.local_time_columns:
            value = getattr(item, column, None)
            if value is not None and isinstance(value, dt.datetime):
                setattr(item, column, to_utc(value))

    def pre_add(self, item):
        self.times_to_utc(item)

    def pre_update(self, item):
        self.times_to_utc(item)
        audit.record_edit(item, current_actor())


class ChildRowsListWidget(StaffListWidget):
    template = "staff/widgets/child_rows_list.html"


class ChildRowsOfParent:
    """Plain child-row screens (invoice lines, work items) change their parent: the parent's ``lines``
    action says in which states and by whom (its action table), audits it and brings totals up to date.

    ``guard_parent`` names the relationship to the parent. Before FAB saves the row, the parent's ``lines``
    row is taken without a commit (a refusal is flashed and nothing is saved); FAB's own commit then saves
    the row, the parent's totals and the audit line together.
    """

    guard_parent = ""
    list_widget = ChildRowsListWidget

    def _parent_of(self, item):
        return getattr(item, self.guard_parent, None)

    def _get_list_widget(self, *args, **kwargs):
        """No Add, Edit or Delete control on the lines of a closed document (one query for the parents)."""
        widgets = super()._get_list_widget(*args, **kwargs)
        args = widgets["list"].template_args
        model = self.datamodel.obj
        relation = getattr(model, self.guard_parent)
        rows = db.session.scalars(select(model).where(model.id.in_(args.get("pks") or []))
                                  .options(selectinload(relation))).all()
        parents = {id(parent): parent for parent in map(self._parent_of, rows) if parent is not None}.values()
        actor = current_actor()
        args["lines_open"] = all(table_of(parent).may(parent, "lines", actor) for parent in parents)
        return widgets

    def _take_lines(self, parent) -> None:
        """The parent's ``lines`` row — its states, its side, its effect (totals) and audit — inside FAB's
        own unit of work: the row and its parent are saved by FAB's one commit, or neither is."""
        if parent is not None:
            table_of(parent).perform(parent, "lines", current_actor(), commit=False)

    def _collection(self, parent):
        relation = getattr(self.datamodel.obj, self.guard_parent).property
        return getattr(parent, relation.back_populates)

    def pre_add(self, item):
        super().pre_add(item)
        parent = self._parent_of(item)
        if parent is not None and item not in self._collection(parent):
            self._collection(parent).append(item)  # the totals are taken with it
        self._take_lines(parent)

    def pre_update(self, item):
        super().pre_update(item)
        self._take_lines(self._parent_of(item))

    def pre_delete(self, item):
        super().pre_delete(item)
        parent = self._parent_of(item)
        if parent is not None:
            table_of(parent).find(parent.status, "lines", current_actor(), parent)  # refused before it goes
            self._collection(parent).remove(item)  # the totals are taken without it
        self._take_lines(parent)


def get_or_404(view, pk):
    """The row ``pk`` through ``view``'s base filters, or 404."""
    item = view.datamodel.get(pk, view._base_filters)
    if item is None:
        abort(404)
    return item
