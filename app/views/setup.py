"""Setup: the catalog staff pick from (``Catalog``) and the shop's settings (``ShopSettings``).
Scheduled reports live in ``views.reports``."""
from __future__ import annotations

from flask import current_app, request
from flask_appbuilder.fieldwidgets import BS3TextAreaFieldWidget, BS3TextFieldWidget, Select2Widget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, FileField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from ..core import addresses, formatting
from ..core.i18n import has_control_characters, other_languages
from ..models import BOOKING_MODES, WEEKDAYS, ServiceLocation, ServiceType, Settings, ShippingMethod, WorkItemTemplate
from ..services import availability, catalog
from .archive import ArchiveMixin
from .base import StaffModelView, choice_field, label, local_time, money_formatters, yes_no
from .workflow import ServiceEditMixin

#: Where invoice labour comes from (``Settings.invoice_labour_source``), in words.
LABOUR_SOURCES = {"time_entries": "Clocked time on the work order", "approved_lines": "The approved estimate's lines"}
ROUNDING_LABELS = {"exact": "Exact clocked time", "6": "Up to 6 minutes", "15": "Up to 15 minutes",
                   "30": "Up to 30 minutes"}
LABEL_FORMATS = {"a6": "A6 label (105 × 148 mm, thermal printer)", "4x6": "4 × 6 in label (thermal printer)",
                 "a4x4": "A4 sheet, the label in one quarter (cut out)"}
#: How a service type is booked (``ServiceType.booking_mode``), in words.
BOOKING_LABELS = {"instant": _l("Instant booking"), "request": _l("Request only")}


def language_names() -> dict[str, str]:
    """The languages a shop may default to (``LANGUAGES`` in config.py), named in their own language."""
    return {code: info.get("name", code) for code, info in (current_app.config.get("LANGUAGES") or {}).items()}


DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
HOURS_FIELDS = [f"hours_{day}" for day in WEEKDAYS]
CLOSED_HELP = ("One per line: 2026-12-24 Christmas Eve, or a range 2026-12-24..2026-12-26 Christmas. "
               "Past days stay as they were.")


def _text(label: str, description: str = "") -> StringField:
    return StringField(label, description=description, widget=BS3TextFieldWidget())


def _closed_field(description: str) -> TextAreaField:
    return TextAreaField("Closed days", description=description, widget=BS3TextAreaFieldWidget())

CATALOG = "Catalog"


def _no_control_characters(form, field) -> None:
    if field.data and has_control_characters(field.data):
        raise ValidationError(_l("A name cannot contain line breaks, tabs or other control characters."))


def _shown_names(names) -> str:
    """``names`` on the show page: "Deutsch: Inspektion" (each language of the shop, "—" where none)."""
    return " · ".join(f"{language}: {(names or {}).get(code) or '—'}"
                      for code, language in other_languages().items()) or "—"


class LocalizedNamesForm:
    """One optional "Name (<language>)" field per other language of ``LANGUAGES`` (config.py) on the add and
    edit forms, after the English name; saved as the row's ``names`` (through ``edit`` on Edit). The fields
    are made when the view is (at start-up, in the app context), so a third language needs no code here."""

    def __init__(self, **kwargs):
        length = self.datamodel.obj.__table__.c.name.type.length
        self.name_fields = {f"name_{code}": code for code in other_languages()}
        extra = {field: StringField(
                     _l("Name (%(language)s)", language=other_languages()[code]),
                     validators=[Optional(), Length(max=length), _no_control_characters],
                     description=_l("Optional: what readers of this language see. Empty: the English name."),
                     widget=BS3TextFieldWidget())
                 for field, code in self.name_fields.items()}
        self.add_form_extra_fields = {**(self.add_form_extra_fields or {}), **extra}
        self.edit_form_extra_fields = {**(self.edit_form_extra_fields or {}), **extra}
        self.add_columns = self._after_name(self.add_columns, list(extra))
        self.edit_columns = self._after_name(self.edit_columns, list(extra))
        self.show_columns = self._after_name(self.show_columns, ["names"])
        self.label_columns = {**self.label_columns, "names": _l("Other languages")}
        self.formatters_columns = {**self.formatters_columns, "names": _shown_names}
        super().__init__(**kwargs)

    @staticmethod
    def _after_name(columns, added: list[str]) -> list[str]:
        columns = [c for c in columns if c not in added]
        name = next((c for c in ("name", "local_name") if c in columns), None)
        at = columns.index(name) + 1 if name else len(columns)
        return [*columns[:at], *added, *columns[at:]]

    def _get_list_widget(self, *args, **kwargs):
        """The list shows ``local_name`` (the reader's name); sorting by it sorts by the English ``name``."""
        if kwargs.get("order_column") == "local_name":
            kwargs["order_column"] = "name"
        return super()._get_list_widget(*args, **kwargs)

    def _names_from(self, values: dict) -> dict:
        return {code: values.pop(field) for field, code in self.name_fields.items() if field in values}

    def prefill_form(self, form, pk):
        super().prefill_form(form, pk)
        item = self.datamodel.get(pk)
        if item is not None:
            for field, code in self.name_fields.items():
                form[field].data = (item.names or {}).get(code) or ""

    def edit_params(self, item, changes: dict) -> dict:
        changes = dict(super().edit_params(item, changes))
        names = self._names_from(changes)
        if names:
            changes["names"] = names
        return changes

    def pre_add(self, item):
        values = {field: item.__dict__.pop(field) for field in self.name_fields if field in item.__dict__}
        item.names = catalog.localized_names(item, self._names_from(values))
        super().pre_add(item)


class ServiceTypeView(LocalizedNamesForm, ArchiveMixin, ServiceEditMixin, StaffModelView):
    datamodel = SQLAInterface(ServiceType)
    class_permission_name = CATALOG
    list_title = "Service types"
    show_title = add_title = edit_title = "Service type"
    # the reader's name in the list and on the show page (the forms edit the English name and the others)
    list_columns = ["local_name", "duration_minutes", "booking_mode", "active"]
    add_columns = edit_columns = ["name", "description", "duration_minutes", "booking_mode", "active"]
    show_columns = ["local_name", *add_columns[1:]]
    search_columns = ["name", "booking_mode", "active"]
    order_columns = ["local_name", "duration_minutes", "active"]
    label_columns = {"local_name": "Name", "duration_minutes": "Duration (minutes)", "booking_mode": "Booking",
                     "active": "Offered"}
    description_columns = {
        "active": "Inactive service types are not offered on new requests.",
        "duration_minutes": "Empty: one slot of the location. A booking takes a place in every slot it overlaps.",
        "booking_mode": "Instant booking: a customer who picks a free time is booked at once. "
                        "Request only: the chosen time is a wish the booking board confirms.",
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "booking_mode": choice_field("Booking", BOOKING_MODES, labels=BOOKING_LABELS)}
    formatters_columns = {"active": yes_no, "booking_mode": lambda value: str(BOOKING_LABELS.get(value, value))}
    base_order = ("name", "asc")


class ServiceLocationView(LocalizedNamesForm, ArchiveMixin, ServiceEditMixin, StaffModelView):
    datamodel = SQLAInterface(ServiceLocation)
    class_permission_name = CATALOG
    list_title = "Service locations"
    show_title = add_title = edit_title = "Service location"
    list_columns = ["local_name", "city", "phone", "slot_minutes", "slot_capacity", "active"]
    _details = ["name", "line1", "postal_code", "city", "state", "country", "phone", "email", "slot_minutes",
                "slot_capacity", "active"]
    show_columns = ["local_name", *_details[1:], "opening_hours", "upcoming_closed_days"]
    search_columns = ["name", "city", "postal_code", "active"]
    order_columns = ["local_name", "city", "active"]
    add_columns = _details
    edit_columns = [*_details, *HOURS_FIELDS, "closed_days"]
    label_columns = {"local_name": "Name", "line1": "Street", "postal_code": "Postal code",
                     "slot_capacity": "Bookings per slot",
                     "slot_minutes": "Slot length (minutes)", "active": "In use", "opening_hours": "Opening hours",
                     "upcoming_closed_days": "Closed days",
                     **{field: name for field, name in zip(HOURS_FIELDS, DAY_NAMES, strict=True)}}
    description_columns = {
        "slot_capacity": "Empty: the shop-wide setting.",
        "slot_minutes": "Slots start at midnight and every so many minutes (it divides the day: 15, 30, 60…). "
                        "Opening hours lie on this grid. Set the hours on Edit.",
        **{field: str(availability.HOURS_HELP) for field in HOURS_FIELDS},
    }
    edit_form_extra_fields = {
        **{field: _text(name, str(availability.HOURS_HELP))
           for field, name in zip(HOURS_FIELDS, DAY_NAMES, strict=True)},
        "closed_days": _closed_field(CLOSED_HELP + " The shop's own closed days (Shop settings) apply too."),
    }
    formatters_columns = {"active": yes_no}
    base_order = ("name", "asc")

    def prefill_form(self, form, pk):
        super().prefill_form(form, pk)
        item = self.datamodel.get(pk)
        if item is not None:
            for weekday, field in enumerate(HOURS_FIELDS):
                form[field].data = availability.hours_text(item, weekday)
            form.closed_days.data = availability.closed_text(item)


class ShippingMethodView(LocalizedNamesForm, ArchiveMixin, ServiceEditMixin, StaffModelView):
    datamodel = SQLAInterface(ShippingMethod)
    class_permission_name = CATALOG
    list_title = "Shipping methods"
    show_title = add_title = edit_title = "Shipping method"
    list_columns = show_columns = ["local_name", "carrier", "active"]
    search_columns = ["name", "carrier", "active"]
    order_columns = ["local_name", "carrier", "active"]
    add_columns = edit_columns = ["name", "carrier", "active"]
    label_columns = {"local_name": "Name", "active": "In use"}
    formatters_columns = {"active": yes_no}
    base_order = ("name", "asc")


class WorkItemTemplateView(LocalizedNamesForm, ArchiveMixin, ServiceEditMixin, StaffModelView):
    """Standard jobs and parts, offered by the estimate builder by the customer's language (issue 16, item 3)."""

    datamodel = SQLAInterface(WorkItemTemplate)
    class_permission_name = CATALOG
    list_title = "Work item templates"
    show_title = add_title = edit_title = "Work item template"
    list_columns = ["local_name", "kind", "part_number", "quantity", "unit_price", "active"]
    show_columns = ["local_name", "kind", "part_number", "quantity", "unit_price", "active"]
    add_columns = edit_columns = ["kind", "name", "part_number", "quantity", "unit_price", "active"]
    search_columns = ["name", "kind", "part_number", "active"]
    order_columns = ["local_name", "kind", "active"]
    label_columns = {"local_name": "Name", "name": "Name", "part_number": "Part number",
                     "quantity": "Hours or quantity", "unit_price": "Unit price", "active": "Offered"}
    description_columns = {
        "name": "What the line says, in English (the other languages below; empty: the English one).",
        "quantity": "Hours for a labour line, pieces for a part: where a line made from it starts.",
        "unit_price": "Empty: the shop's labour rate for labour; to be filled in for a part.",
        "active": "Templates no longer offered stay on the estimates that used them.",
    }
    add_form_extra_fields = edit_form_extra_fields = {"kind": choice_field("Kind", ("labour", "part"))}
    formatters_columns = {"active": yes_no, "kind": label, "quantity": lambda value: formatting.number(value, 2),
                          **money_formatters("unit_price")}
    base_order = ("name", "asc")


class SettingsView(ServiceEditMixin, StaffModelView):
    """The one settings row: shown and edited, never added or deleted."""

    datamodel = SQLAInterface(Settings)
    class_permission_name = "ShopSettings"
    base_permissions = ["can_list", "can_show", "can_edit"]
    list_title = show_title = edit_title = "Shop settings"
    list_columns = ["shop_name", "currency", "tax_rate", "time_zone", "labour_rate", "updated_at"]
    search_columns = ["shop_name"]
    _fields = ["shop_name", "address", "country", "phone", "currency", "tax_rate", "labour_rate", "time_zone",
               "base_url", "mail_sender", "staff_email", "magic_link_hours", "photo_limit", "slot_capacity",
               "request_stale_hours", "invoice_labour_source", "time_rounding", "minimum_charge_minutes",
               "invoice_due_days", "paper_size", "label_format", "export_retention_days", "privacy_retention_years",
               "reminder_time", "default_language"]
    _legal = ["legal_name", "vat_id", "tax_number", "registered_office", "register_court", "register_number",
              "managing_directors", "bank_name", "iban", "bic", "payment_terms", "small_business",
              "small_business_text", "document_footer"]
    _fields = [*_fields, *_legal]
    show_columns = [*_fields, "has_logo", "upcoming_closed_days", "updated_at"]
    add_columns = [field for field in _fields if field != "reminder_time"]  # FAB has no form field for a Time
    edit_columns = [*_fields, "closed_days", "logo_upload", "remove_logo"]
    label_columns = {"default_language": _l("Default language"), "country": _l("Country"),
                     "shop_name": "Shop name", "tax_rate": "Tax rate (%)", "labour_rate": "Labour rate per hour",
                     "time_zone": "Time zone", "base_url": "Address in e-mailed links",
                     "mail_sender": "Mail sender", "staff_email": "Staff e-mail",
                     "magic_link_hours": "Login link lifetime (hours)", "photo_limit": "Photos per request",
                     "slot_capacity": "Bookings per slot", "request_stale_hours": "Request is stale after (hours)",
                     "invoice_labour_source": "Invoice labour from", "invoice_due_days": "Invoice due after (days)",
                     "paper_size": "Paper size", "label_format": "Shipping labels",
                     "export_retention_days": "Keep exports (days)",
                     "privacy_retention_years": "Keep invoices of erased customers (years)",
                     "reminder_time": "Booking reminders at", "upcoming_closed_days": "Closed days (every location)",
                     "time_rounding": "Billable time", "minimum_charge_minutes": "Minimum charge (minutes)",
                     "legal_name": _l("Legal name"), "vat_id": _l("VAT ID"), "tax_number": _l("Tax number"),
                     "registered_office": _l("Registered office"), "register_court": _l("Register court"),
                     "register_number": _l("Register number"), "managing_directors": _l("Managing director(s)"),
                     "bank_name": _l("Bank"), "iban": "IBAN", "bic": "BIC", "payment_terms": _l("Payment terms"),
                     "small_business": _l("Small-business exemption"),
                     "small_business_text": _l("Exemption text"), "document_footer": _l("Document footer"),
                     "has_logo": _l("Logo")}
    description_columns = {"default_language": _l("For people who chose no language and whose browser asks for "
                                                  "none the shop speaks. Empty: English."),
                           "reminder_time": "The time of day (HH:MM, shop time) the reminders for the next "
                                            "day's bookings go out. Empty: no reminders.",
                           "legal_name": _l("As registered, printed on invoices. Empty: the shop name."),
                           "vat_id": _l("With its country prefix, e.g. DE123456788."),
                           "small_business": _l("No tax is charged (the tax rate must be 0 %) and the exemption "
                                                "text is printed on invoices and credit notes."),
                           "small_business_text": _l("Empty: the § 19 UStG sentence in the document's language.")}
    edit_form_extra_fields = {
        # the shop's country by its name in the reader's language (the service refuses an unknown code too)
        "country": SelectField(_l("Country"), choices=lambda: list(addresses.country_names().items()),
                               default=addresses.shop_country, widget=Select2Widget()),
        "invoice_labour_source": choice_field("Invoice labour from", tuple(LABOUR_SOURCES), labels=LABOUR_SOURCES),
        "paper_size": choice_field("Paper size", ("A4", "Letter")),
        # unchecked here (a form without it keeps working); the service refuses an unknown code
        "default_language": SelectField(_l("Default language"), choices=lambda: [("", "—"), *language_names().items()],
                                        validate_choice=False, widget=Select2Widget()),
        "label_format": choice_field("Shipping labels", tuple(LABEL_FORMATS), labels=LABEL_FORMATS),
        "reminder_time": _text("Booking reminders at", "HH:MM, e.g. 10:00. Empty: no reminders."),
        "time_rounding": choice_field("Billable time", ("exact", "6", "15", "30"), labels=ROUNDING_LABELS),
        "closed_days": _closed_field(CLOSED_HELP + " These apply to every location."),
        "payment_terms": TextAreaField(_l("Payment terms"), widget=BS3TextAreaFieldWidget()),
        "small_business_text": TextAreaField(_l("Exemption text"), widget=BS3TextAreaFieldWidget()),
        "document_footer": TextAreaField(_l("Document footer"), widget=BS3TextAreaFieldWidget()),
        "logo_upload": FileField(_l("Logo"), description=_l(
            "A PNG or JPEG picture, at most 2 MB and 4000 pixels a side; shown on every document.")),
        "remove_logo": BooleanField(_l("Remove the logo")),
        "privacy_retention_years": IntegerField(
            "Keep invoices of erased customers (years)", validators=[Optional()], widget=BS3TextFieldWidget(),
            description="When a customer is erased, issued invoices keep their name and address this long."),
    }
    formatters_columns = {"updated_at": local_time, **money_formatters("labour_rate"),
                          "time_rounding": lambda value: ROUNDING_LABELS.get(value, value),
                          "invoice_labour_source": lambda value: LABOUR_SOURCES.get(value, value),
                          "label_format": lambda value: LABEL_FORMATS.get(value, value),
                          "reminder_time": lambda value: value.strftime("%H:%M") if value else "—",
                          "small_business": yes_no,
                          "default_language": lambda value: language_names().get(value, "—"),
                          "country": lambda code: addresses.country_name(code) if code else "—"}

    def prefill_form(self, form, pk):
        super().prefill_form(form, pk)
        item = self.datamodel.get(pk)
        if item is not None:
            form.reminder_time.data = item.reminder_time.strftime("%H:%M") if item.reminder_time else ""
            form.closed_days.data = availability.closed_text(None)

    def edit_params(self, item, changes: dict) -> dict:
        changes = dict(changes)
        if changes.get("privacy_retention_years") is None:  # left empty: unchanged
            changes.pop("privacy_retention_years", None)
        upload = request.files.get("logo_upload")
        changes["logo_upload"] = upload if upload is not None and upload.filename else None
        if "reminder_time" in changes:  # text to the service's HH:MM (empty: off)
            changes["reminder_time"] = (changes["reminder_time"] or "").strip() or None
        return changes


def register(appbuilder, add) -> None:
    add(appbuilder, ServiceTypeView, "Service types", category="Setup", icon="fa-list", category_icon="fa-sliders")
    add(appbuilder, ServiceLocationView, "Service locations", category="Setup", icon="fa-building")
    add(appbuilder, ShippingMethodView, "Shipping methods", category="Setup", icon="fa-truck")
    add(appbuilder, WorkItemTemplateView, "Work item templates", category="Setup", icon="fa-clipboard")
    add(appbuilder, SettingsView, "Shop settings", category="Setup", icon="fa-cog")
