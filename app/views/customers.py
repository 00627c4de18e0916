"""Customer accounts and what hangs off them: addresses, units and portal users (permission ``Customers``)."""
from __future__ import annotations

from flask import abort, flash, make_response, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.actions import action
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from wtforms import BooleanField, SelectField

from ..core import addresses
from ..core.errors import ServiceError, ValidationFailed
from ..core.scope import current_actor
from ..core.settings import get_settings
from ..models import CUSTOMER_KINDS, NOTIFICATION_GROUPS, UNIT_KINDS, Address, Customer, PortalUser, Unit
from ..services import accounts, customers, privacy
from ..services.workflow import perform
from .archive import ArchiveMixin, take_on_each
from .base import (
    NO_DELETE,
    StaffModelView,
    choice_field,
    get_or_404,
    label,
    local_time,
    time_formatters,
    yes_no,
)
from .filters import status_label
from .privacy import send_export
from .workflow import ServiceEditMixin, describe

PERMISSION = "Customers"


class FilterAddressOfEditedCustomer(BaseFilter):
    """A customer's default-address pickers offer only that customer's own addresses."""

    name = "Addresses of the customer being edited"
    arg_name = None

    def apply(self, query, value):
        pk = (request.view_args or {}).get("pk")
        try:
            customer_id = int(pk)
        except (TypeError, ValueError):
            customer_id = -1
        return query.filter(Address.customer_id == customer_id)


def _preference_fields() -> dict:
    return {
        f"email_{group}": BooleanField(f"E-mail about {group.replace('_', ' ')}", default=True)
        for group in NOTIFICATION_GROUPS
    }


def format_preferences(value) -> str:
    value = value or {}
    off = [g.replace("_", " ") for g in NOTIFICATION_GROUPS if not value.get(g, True)]
    return "E-mail about everything" if not off else "No e-mail about " + ", ".join(off)


class AddressView(ArchiveMixin, ServiceEditMixin, StaffModelView):
    datamodel = SQLAInterface(Address)
    class_permission_name = PERMISSION
    list_title = "Addresses"
    show_title = add_title = edit_title = "Address"
    list_columns = ["customer", "label", "line1", "postal_code", "city", "country"]
    search_columns = ["label", "line1", "city", "postal_code", "country"]
    order_columns = ["label", "line1", "postal_code", "city", "country"]
    show_columns = ["customer", "label", "line1", "line2", "postal_code", "city", "state", "country", "created_at"]
    add_columns = ["customer", "label", "line1", "line2", "postal_code", "city", "state", "country"]
    edit_columns = add_columns[1:]  # an address stays with its customer (its history does)
    label_columns = {"line1": "Street", "line2": "Street (2)", "postal_code": "Postal code"}
    # the country by its name in the reader's language; a new address is in the shop's country
    add_form_extra_fields = edit_form_extra_fields = {
        "country": SelectField("Country", choices=lambda: list(addresses.country_names().items()),
                               default=addresses.shop_country, widget=Select2Widget())}
    formatters_columns = {"country": lambda code: addresses.country_name(code), **time_formatters("created_at")}
    base_order = ("id", "desc")

    def pre_add(self, item):
        """A new address is checked by its country like every edit (``perform`` checks those)."""
        super().pre_add(item)
        try:
            values = customers.check_address(current_actor(), **{name: getattr(item, name)
                                                                 for name in customers.ADDRESS_FIELDS})
        except ValidationFailed as error:
            raise ValueError(describe(error)) from error
        for name, value in values.items():
            setattr(item, name, value)


class UnitView(ArchiveMixin, ServiceEditMixin, StaffModelView):
    datamodel = SQLAInterface(Unit)
    class_permission_name = PERMISSION
    list_title = "Units"
    show_title = add_title = edit_title = "Unit"
    list_columns = ["unit_number", "kind", "make", "model", "serial_number", "customer"]
    search_columns = ["unit_number", "kind", "make", "model", "serial_number", "imei", "vin"]
    order_columns = ["unit_number", "kind", "make", "model", "serial_number"]
    show_columns = ["customer", "kind", "unit_number", "make", "model", "year", "serial_number", "imei", "vin",
                    "notes", "created_at"]
    add_columns = ["customer", "kind", "unit_number", "make", "model", "year", "serial_number", "imei", "vin",
                   "notes"]
    edit_columns = add_columns[1:]  # a unit stays with its customer (its history does)
    label_columns = {"unit_number": "Unit number", "serial_number": "Serial number", "imei": "IMEI",
                     "vin": "VIN", "notes": "Internal notes"}
    add_form_extra_fields = edit_form_extra_fields = {"kind": choice_field("Kind", UNIT_KINDS)}
    search_form_extra_fields = {"kind": choice_field("Kind", UNIT_KINDS)}
    formatters_columns = {"kind": label, **time_formatters("created_at")}
    base_order = ("id", "desc")


class PortalUserView(StaffModelView):
    """A login's link to the account it acts for. The link is not deleted (the login's history names it):
    the login is archived (it cannot log in, its sessions, links, JWTs and API keys end) and restored."""

    datamodel = SQLAInterface(PortalUser)
    class_permission_name = PERMISSION
    #: No add form: a portal user is invited from the customer's page ("Invite to the portal"), which makes
    #: the login with the right role and e-mails the link (the old form picked from existing logins only).
    base_permissions = [p for p in NO_DELETE if p != "can_add"] + ["can_archive", "can_restore"]
    list_title = "Portal users"
    show_title = add_title = edit_title = "Portal user"
    list_columns = ["user", "customer", "login_state", "phone", "language", "created_at"]
    search_columns = ["phone", "language"]  # not "user": its select box would list every login on each page
    order_columns = ["phone", "language", "created_at"]
    show_columns = ["user", "customer", "phone", "language", "created_at"]
    edit_columns = ["phone", "language"]
    label_columns = {"user": "Login", "login_state": "Login state"}
    # the model says the state in English ("Active", "Archived"): the words of the reader's language
    formatters_columns = {**time_formatters("created_at"), "login_state": lambda value: status_label(
        (value or "").lower())}
    base_order = ("created_at", "desc")

    @action("archive", "Archive login", "Archive these logins? They cannot log in any more; their history "
            "stays.", "fa-archive")
    def archive(self, items):
        return self._take("archive", items)

    @action("restore", "Restore login", None, "fa-undo")
    def restore(self, items):
        return self._take("restore", items)

    def _take(self, name: str, items):
        return take_on_each(self, name, items, target=lambda link: link.user)


class CustomerView(ArchiveMixin, ServiceEditMixin, StaffModelView):
    datamodel = SQLAInterface(Customer)
    class_permission_name = PERMISSION
    list_title = "Customers"
    show_title = add_title = edit_title = "Customer"
    list_columns = ["name", "kind", "email", "phone", "requires_invoice_authorization", "locked", "created_at"]
    search_columns = ["name", "kind", "email", "phone", "tax_id", "locked", "requires_invoice_authorization"]
    order_columns = ["name", "kind", "email", "created_at"]
    show_columns = ["name", "kind", "email", "phone", "tax_id", "language", "requires_invoice_authorization",
                    "locked", "preferences", "default_service_address", "default_billing_address", "notes",
                    "created_at"]
    _form = ["name", "kind", "email", "phone", "tax_id", "language", "requires_invoice_authorization", "locked",
             "notes", *(f"email_{g}" for g in NOTIFICATION_GROUPS)]
    add_columns = _form
    edit_columns = [*_form[:9], "default_service_address", "default_billing_address", *_form[9:]]
    label_columns = {"requires_invoice_authorization": "Invoices need authorization", "locked": "Locked",
                     "tax_id": "Tax id", "preferences": "Communication", "notes": "Internal notes",
                     "default_service_address": "Default service address",
                     "default_billing_address": "Default billing address"}
    description_columns = {"locked": "A locked account cannot log in to the portal or submit requests.",
                           "requires_invoice_authorization": "Invoices wait for the customer's authorization."}
    add_form_extra_fields = {"kind": choice_field("Kind", CUSTOMER_KINDS), **_preference_fields()}
    edit_form_extra_fields = add_form_extra_fields
    search_form_extra_fields = {"kind": choice_field("Kind", CUSTOMER_KINDS)}
    edit_form_query_rel_fields = {
        "default_service_address": [["id", FilterAddressOfEditedCustomer, None]],
        "default_billing_address": [["id", FilterAddressOfEditedCustomer, None]],
    }
    formatters_columns = {"created_at": local_time, "preferences": format_preferences, "kind": label,
                          "requires_invoice_authorization": yes_no, "locked": yes_no}
    base_order = ("name", "asc")

    def prefill_form(self, form, pk):
        item = self.datamodel.get(pk)
        for group in NOTIFICATION_GROUPS:
            getattr(form, f"email_{group}").data = bool(item.wants_email(group))

    def _store_preferences(self, item) -> None:
        item.preferences = {group: bool(getattr(item, f"email_{group}", True)) for group in NOTIFICATION_GROUPS}

    def pre_add(self, item):
        self._store_preferences(item)

    def edit_params(self, item, changes: dict) -> dict:
        """The form's e-mail checkboxes are the ``preferences`` of the customer's ``edit`` action."""
        changes["preferences"] = {group: bool(changes.pop(f"email_{group}", True)) for group in NOTIFICATION_GROUPS}
        return changes

    # --- portal access: invite, send a login link or a password reset, copy a login link, lock a login ------

    show_template = "staff/customer_show.html"
    PORTAL_BUTTONS = (("login_link", "Copy login link", True), ("send_login_link", "Send login link", True),
                      ("send_password_reset", "Send password reset", True), ("lock_user", "Lock", True),
                      ("unlock_user", "Unlock", False))

    def show_context(self, item, actor) -> dict:
        table = customers.TABLE
        users = accounts.portal_users(item)
        taken = {link.user.email.lower() for link in users if link.user.email}
        return {"portal": {
            "users": users, "endpoint": f"{self.endpoint}.portal_access",
            "may": {name: table.may(item, name, actor) for name in accounts.PORTAL_ACCESS_ACTIONS},
            "buttons": [(name, _(label), active) for name, label, active in self.PORTAL_BUTTONS],
            "suggested_email": item.email if item.email and item.email.lower() not in taken else "",
        }, "privacy": self._privacy_context(item, actor)}

    # --- privacy requests: the customer's data exported (advisors and up) or erased (managers and admins) ----

    def _privacy_context(self, item, actor) -> dict:
        may_erase = customers.TABLE.may(item, "erase", actor)
        return {"export_endpoint": f"{self.endpoint}.privacy_export", "erase_endpoint": f"{self.endpoint}.erase",
                "may_export": customers.TABLE.may(item, "privacy_export", actor), "may_erase": may_erase,
                "open_work": privacy.open_work(item) if may_erase else [], "erased_at": item.erased_at,
                "retention_years": get_settings().privacy_retention_years}

    @expose("/privacy/<pk>/export", methods=["POST"])
    @has_access
    def privacy_export(self, pk):
        item = get_or_404(self, pk)
        try:
            export = perform(item, "privacy_export", current_actor())
        except ServiceError as error:
            flash(describe(error), "danger")
            return redirect(url_for(".show", pk=item.id) + "#privacy")
        return send_export(export)

    @expose("/privacy/<pk>/erase", methods=["POST"])
    @has_access
    def erase(self, pk):
        item = get_or_404(self, pk)
        try:
            perform(item, "erase", current_actor(), {"confirm": request.form.get("confirm", "")})
        except ServiceError as error:
            flash(describe(error), "danger")
        else:
            flash(_("The customer's personal data was erased; issued invoices keep the recipient as issued."),
                  "success")
        return redirect(url_for(".show", pk=item.id) + "#privacy")

    @expose("/portal/<pk>/<name>", methods=["POST"])
    @has_access
    def portal_access(self, pk, name):
        """One of the portal-access rows of the customer's table, taken through ``perform``."""
        if name not in accounts.PORTAL_ACCESS_ACTIONS:
            abort(404)
        item = get_or_404(self, pk)
        params = {key: request.form[key] for key in ("email", "name", "portal_user") if key in request.form}
        back = url_for(".show", pk=item.id) + "#portal-access"
        try:
            result = perform(item, name, current_actor(), params)
        except ServiceError as error:
            flash(describe(error), "danger")
            return redirect(back)
        if name == "login_link":
            link = accounts.portal_user_of(item, int(params["portal_user"]))
            page = self.render_template("staff/customer_login_link.html", customer=item, user=link.user, link=result,
                                        back=back, hours=get_settings().magic_link_hours)
            response = make_response(page)
            response.headers["Cache-Control"] = "no-store"  # the link is shown once, never kept by the browser
            return response
        flash(self._portal_done(name, result), "success")
        return redirect(back)

    @staticmethod
    def _portal_done(name: str, result) -> str:
        if name == "invite":
            user = result.link.user
            if result.created:
                return _("Invited %(email)s: the login is made and the invitation is in the outbox.", email=user.email)
            return _("%(email)s already has a login for this account.", email=user.email)
        return {
            "send_login_link": _("A login link for %(email)s is in the outbox."),
            "send_password_reset": _("A password-reset link for %(email)s is in the outbox."),
            "lock_user": _("%(email)s is locked: it cannot log in any more."),
            "unlock_user": _("%(email)s is unlocked."),
        }[name] % {"email": result.email}

    # --- lock / unlock: a locked account cannot log in to the portal or send requests (audited) ------------

    @action("lock", "Lock portal access", "Lock these accounts? Their portal users are logged out at once.",
            "fa-lock")
    def lock(self, items):
        return self._set_locked(items, True)

    @action("unlock", "Unlock portal access", None, "fa-unlock")
    def unlock(self, items):
        return self._set_locked(items, False)

    def _set_locked(self, items, locked: bool):
        from ..core.scope import current_actor

        items = items if isinstance(items, list) else [items]
        actor, action = current_actor(), "lock" if locked else "unlock"
        changed = [item for item in items if item is not None and customers.TABLE.may(item, action, actor)]
        for item in changed:
            perform(item, action, actor)
        names = ", ".join(item.name for item in changed)
        if changed:
            flash(_("Locked: %(names)s", names=names) if locked else _("Unlocked: %(names)s", names=names), "success")
        else:
            flash(_("Nothing changed: already locked.") if locked else _("Nothing changed: not locked."), "info")
        if len(items) == 1 and items[0] is not None:
            return redirect(url_for(".show", pk=items[0].id))
        return redirect(url_for(".list"))


def register(appbuilder, add) -> None:
    add(appbuilder, CustomerView, "Customers", category="Customers", icon="fa-address-book",
        category_icon="fa-users")
    add(appbuilder, UnitView, "Units", category="Customers", icon="fa-cube")
    add(appbuilder, AddressView, "Addresses", category="Customers", icon="fa-map-marker")
    add(appbuilder, PortalUserView, "Portal users", category="Customers", icon="fa-user-circle")
