"""Setup: the catalog staff pick from (``Catalog``) and the shop's settings (``ShopSettings``).
Scheduled reports live in ``views.reports``."""
from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface

from ..models import ServiceLocation, ServiceType, Settings, ShippingMethod
from .archive import ArchiveMixin
from .base import StaffModelView, choice_field, local_time, money_formatters, yes_no
from .workflow import ServiceEditMixin

CATALOG = "Catalog"


class ServiceTypeView(ArchiveMixin, ServiceEditMixin, StaffModelView):
    datamodel = SQLAInterface(ServiceType)
    class_permission_name = CATALOG
    list_title = "Service types"
    show_title = add_title = edit_title = "Service type"
    list_columns = ["name", "duration_minutes", "active"]
    show_columns = ["name", "description", "duration_minutes", "active"]
    search_columns = ["name", "active"]
    order_columns = ["name", "duration_minutes", "active"]
    add_columns = edit_columns = show_columns
    label_columns = {"duration_minutes": "Duration (minutes)", "active": "Offered"}
    description_columns = {"active": "Inactive service types are not offered on new requests."}
    formatters_columns = {"active": yes_no}
    base_order = ("name", "asc")


class ServiceLocationView(ArchiveMixin, ServiceEditMixin, StaffModelView):
    datamodel = SQLAInterface(ServiceLocation)
    class_permission_name = CATALOG
    list_title = "Service locations"
    show_title = add_title = edit_title = "Service location"
    list_columns = ["name", "city", "phone", "slot_capacity", "active"]
    show_columns = ["name", "line1", "postal_code", "city", "state", "country", "phone", "email", "slot_capacity",
                    "active"]
    search_columns = ["name", "city", "postal_code", "active"]
    order_columns = ["name", "city", "active"]
    add_columns = edit_columns = show_columns
    label_columns = {"line1": "Street", "postal_code": "Postal code", "slot_capacity": "Bookings per slot",
                     "active": "In use"}
    description_columns = {"slot_capacity": "Empty: the shop-wide setting."}
    formatters_columns = {"active": yes_no}
    base_order = ("name", "asc")


class ShippingMethodView(ArchiveMixin, ServiceEditMixin, StaffModelView):
    datamodel = SQLAInterface(ShippingMethod)
    class_permission_name = CATALOG
    list_title = "Shipping methods"
    show_title = add_title = edit_title = "Shipping method"
    list_columns = ["name", "carrier", "active"]
    show_columns = list_columns
    search_columns = ["name", "carrier", "active"]
    order_columns = ["name", "carrier", "active"]
    add_columns = edit_columns = list_columns
    label_columns = {"active": "In use"}
    formatters_columns = {"active": yes_no}
    base_order = ("name", "asc")


class SettingsView(ServiceEditMixin, StaffModelView):
    """The one settings row: shown and edited, never added or deleted."""

    datamodel = SQLAInterface(Settings)
    class_permission_name = "ShopSettings"
    base_permissions = ["can_list", "can_show", "can_edit"]
    list_title = show_title = edit_title = "Shop settings"
    list_columns = ["shop_name", "currency", "tax_rate", "time_zone", "labour_rate", "updated_at"]
    search_columns = ["shop_name"]
    _fields = ["shop_name", "address", "phone", "currency", "tax_rate", "labour_rate", "time_zone", "base_url",
               "mail_sender", "staff_email", "magic_link_hours", "photo_limit", "slot_capacity", "request_stale_hours",
               "invoice_labour_source", "invoice_due_days", "paper_size", "export_retention_days"]
    show_columns = [*_fields, "updated_at"]
    edit_columns = _fields
    label_columns = {"shop_name": "Shop name", "tax_rate": "Tax rate (%)", "labour_rate": "Labour rate per hour",
                     "time_zone": "Time zone", "base_url": "Address in e-mailed links",
                     "mail_sender": "Mail sender", "staff_email": "Staff e-mail",
                     "magic_link_hours": "Login link lifetime (hours)", "photo_limit": "Photos per request",
                     "slot_capacity": "Bookings per slot", "request_stale_hours": "Request is stale after (hours)",
                     "invoice_labour_source": "Invoice labour from", "invoice_due_days": "Invoice due after (days)",
                     "paper_size": "Paper size", "export_retention_days": "Keep exports (days)"}
    edit_form_extra_fields = {
        "invoice_labour_source": choice_field("Invoice labour from", ("time_entries", "approved_lines")),
        "paper_size": choice_field("Paper size", ("A4", "Letter")),
    }
    formatters_columns = {"updated_at": local_time, **money_formatters("labour_rate")}


def register(appbuilder, add) -> None:
    add(appbuilder, ServiceTypeView, "Service types", category="Setup", icon="fa-list", category_icon="fa-sliders")
    add(appbuilder, ServiceLocationView, "Service locations", category="Setup", icon="fa-building")
    add(appbuilder, ShippingMethodView, "Shipping methods", category="Setup", icon="fa-truck")
    add(appbuilder, SettingsView, "Shop settings", category="Setup", icon="fa-cog")
