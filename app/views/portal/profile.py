"""The customer's profile: the person (name, e-mail, phone, language), e-mail preferences, addresses with
the default service and billing address, and the account's units. Every change goes through
``app.services.customers``."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_babel import gettext as _
from flask_babel import refresh

from ...core.errors import ServiceError, ValidationFailed
from ...core.scope import in_use
from ...extensions import db
from ...models import NOTIFICATION_GROUPS, UNIT_KINDS, Address, Customer, Unit
from ...services import customers
from ...services.workflow import perform
from ..privacy import send_export
from .base import PortalView, customer_required
from .page_helpers import form_value, get_or_404, mine


def group_labels() -> dict:
    labels = {"requests": _("Service requests and bookings"), "estimates": _("Estimates"),
              "work_orders": _("Work orders"), "invoices": _("Invoices"), "shipments": _("Shipments"),
              "messages": _("Messages from the technicians")}
    return {group: labels.get(group, group) for group in NOTIFICATION_GROUPS}


class PortalProfileView(PortalView):
    route_base = "/portal"
    default_view = "show"

    def _page(self, section: str | None = None, errors=None, status=200):
        link = customers.portal_user_of(self.actor)
        customer = db.session.get(Customer, self.actor.customer_id)
        posted = request.form if request.method == "POST" else {}
        user = link.user
        person = {"first_name": user.first_name, "last_name": user.last_name, "email": user.email,
                  "phone": link.phone or "", "language": link.language or ""}
        return self.render(
            "portal/profile.html", link=link, customer=customer, person=person,
            addresses=list(db.session.scalars(in_use(mine(Address), Address).order_by(Address.id))),
            units=list(db.session.scalars(in_use(mine(Unit), Unit).order_by(Unit.unit_number, Unit.id))),
            groups=group_labels(), unit_kinds=UNIT_KINDS, languages=customers.languages(),
            section=section, errors=errors or {}, posted=posted,
        ), status

    @expose("/profile")
    @customer_required
    def show(self):
        return self._page()

    @expose("/profile", methods=["POST"])
    @customer_required
    def update(self):
        fields = {name: form_value(name) for name in ("first_name", "last_name", "email", "phone", "language")}
        try:
            customers.update_profile(self.actor, **fields)
        except ValidationFailed as exc:
            db.session.rollback()
            return self._page("person", exc.errors, 422)
        refresh()  # a new language applies at once, to the confirmation below too
        flash(_("Your profile was saved."), "success")
        return redirect(url_for("PortalProfileView.show"))

    @expose("/profile/preferences", methods=["POST"])
    @customer_required
    def preferences(self):
        try:
            customers.set_preferences(self.actor, request.form.getlist("groups"))
        except ValidationFailed as exc:
            db.session.rollback()
            return self._page("preferences", exc.errors, 422)
        flash(_("Your e-mail preferences were saved."), "success")
        return redirect(url_for("PortalProfileView.show") + "#preferences")

    @expose("/profile/defaults", methods=["POST"])
    @customer_required
    def defaults(self):
        try:
            customers.set_default_addresses(self.actor, form_value("default_service_address") or None,
                                            form_value("default_billing_address") or None)
        except ValidationFailed as exc:
            db.session.rollback()
            return self._page("defaults", exc.errors, 422)
        flash(_("Your default addresses were saved."), "success")
        return redirect(url_for("PortalProfileView.show") + "#addresses")

    # ------------------------------------------------------------ addresses
    @expose("/profile/addresses", methods=["POST"])
    @customer_required
    def add_address(self):
        try:
            customers.save_address(self.actor, **{name: form_value(name) for name in customers.ADDRESS_FIELDS})
        except ValidationFailed as exc:
            db.session.rollback()
            return self._page("address", exc.errors, 422)
        flash(_("The address was added."), "success")
        return redirect(url_for("PortalProfileView.show") + "#addresses")

    @expose("/profile/addresses/<int:address_id>", methods=["GET", "POST"])
    @customer_required
    def edit_address(self, address_id):
        address = get_or_404(Address, address_id)
        errors = {}
        if request.method == "POST":
            try:
                customers.save_address(self.actor, address.id,
                                       **{name: form_value(name) for name in customers.ADDRESS_FIELDS})
            except ValidationFailed as exc:
                db.session.rollback()
                errors = exc.errors
            else:
                flash(_("The address was saved."), "success")
                return redirect(url_for("PortalProfileView.show") + "#addresses")
        form = request.form if request.method == "POST" else {
            name: getattr(address, name) or "" for name in customers.ADDRESS_FIELDS}
        return self.render("portal/profile_address.html", address=address, form=form, errors=errors), \
            (422 if errors else 200)

    @expose("/profile/addresses/<int:address_id>/delete", methods=["POST"])
    @customer_required
    def delete_address(self, address_id):
        address = get_or_404(Address, address_id)
        try:
            done = customers.delete_address(self.actor, address.id)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            flash(_("The address was deleted.") if done == "deleted" else
                  _("The address was removed from your list; your earlier requests still show it."), "success")
        return redirect(url_for("PortalProfileView.show") + "#addresses")

    # ------------------------------------------------------------ units
    @expose("/profile/units", methods=["POST"])
    @customer_required
    def add_unit(self):
        try:
            customers.save_unit(self.actor, **{name: form_value(name) for name in customers.UNIT_FIELDS})
        except ValidationFailed as exc:
            db.session.rollback()
            return self._page("unit", exc.errors, 422)
        flash(_("The unit was added."), "success")
        return redirect(url_for("PortalProfileView.show") + "#units")

    @expose("/profile/units/<int:unit_id>", methods=["GET", "POST"])
    @customer_required
    def edit_unit(self, unit_id):
        unit = get_or_404(Unit, unit_id)
        errors = {}
        if request.method == "POST":
            try:
                customers.save_unit(self.actor, unit.id, **{name: form_value(name) for name in customers.UNIT_FIELDS})
            except ValidationFailed as exc:
                db.session.rollback()
                errors = exc.errors
            else:
                flash(_("The unit was saved."), "success")
                return redirect(url_for("PortalProfileView.show") + "#units")
        form = request.form if request.method == "POST" else {
            name: "" if getattr(unit, name) is None else getattr(unit, name) for name in customers.UNIT_FIELDS}
        return self.render("portal/profile_unit.html", unit=unit, form=form, errors=errors,
                           unit_kinds=UNIT_KINDS), (422 if errors else 200)

    # ------------------------------------------------------------ privacy: the customer's own copy
    @expose("/profile/data", methods=["POST"])
    @customer_required
    def my_data(self):
        """"Download my data": the ZIP of what the portal shows this account (scoped), audited, staff told."""
        try:
            export = perform(customers.customer_of(self.actor), "privacy_export", self.actor)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return redirect(url_for("PortalProfileView.show") + "#my-data")
        return send_export(export)


VIEWS = [PortalProfileView]
