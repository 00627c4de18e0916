"""The customer's service requests: list, detail with progress and booking negotiation, new request."""
from __future__ import annotations

import datetime as dt

from flask import flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...core.clock import utcnow
from ...core.errors import ServiceError, ValidationFailed
from ...core.scope import in_use
from ...core.settings import shop_today
from ...extensions import db
from ...models import (
    SLOTS,
    Address,
    Attachment,
    Customer,
    Estimate,
    Invoice,
    ServiceLocation,
    ServiceRequest,
    ServiceType,
    Unit,
    WorkOrder,
)
from ...services import availability, customers, requests, uploads
from . import slots as slot_picker
from .base import PortalView, customer_required
from .page_helpers import (
    flash_service_error,
    form_value,
    get_or_404,
    mine,
    paginate,
)

CUSTOMER_ACTIONS = ("accept_time", "propose", "reschedule", "cancel")
STATUS_FILTERS = {"open": ("new", "time_proposed", "accepted"), "closed": ("rejected", "cancelled", "resolved")}
#: The service's field names → the form's.
FIELD_NAMES = {"service_type": "service_type_id", "address": "address_id", "unit": "unit_id",
               "service_location": "service_location_id"}
INLINE_ADDRESS = ("label", "line1", "line2", "city", "postal_code", "country")
NEW_FIELDS = ("service_type_id", "service_location_id", "address_id", "unit_id", "subject", "summary",
              "preferred_date", "preferred_slot", "preferred_time", "slot")


def visible_estimates(stmt):
    """Estimates the customer may see: sent at some point (drafts and unsent revisions are the shop's)."""
    return stmt.where(Estimate.sent_at.is_not(None))


def timeline(req: ServiceRequest) -> list[dict]:
    """request → booking → estimate → work order → invoice, each done / current / waiting / stopped."""
    est = db.session.scalar(visible_estimates(mine(Estimate)).where(Estimate.service_request_id == req.id)
                            .order_by(Estimate.revision.desc()))
    order = db.session.scalar(mine(WorkOrder).where(WorkOrder.service_request_id == req.id)
                              .order_by(WorkOrder.id.desc()))
    invoice = None
    if order is not None:
        invoice = db.session.scalar(mine(Invoice).where(Invoice.work_order_id == order.id,
                                                        Invoice.status != "draft").order_by(Invoice.id.desc()))
    stopped = req.status in ("rejected", "cancelled")
    steps = [{"key": "request", "label": _("Request"), "state": "done", "text": req.number,
              "href": None, "status": req.status}]
    if req.scheduled_start and req.status in ("accepted", "resolved"):
        # A booking ahead is booked, not done: "Termin erledigt" only once its time has passed.
        upcoming = req.status == "accepted" and req.scheduled_start > utcnow()
        booking = {"state": "booked" if upcoming else "done", "when": req.scheduled_start}
    else:
        booking = {"state": "stopped" if stopped else "current", "when": None}
    steps.append(dict(booking, key="booking", label=_("Booking"), text=None, href="#booking", status=None))
    for key, label, doc, href, done in (
        ("estimate", _("Estimate"), est, est and url_for("PortalEstimatesView.show", estimate_id=est.id),
         ("approved",)),
        ("work_order", _("Work order"), order, order and url_for("PortalOrdersView.show", order_id=order.id),
         ("completed",)),
        ("invoice", _("Invoice"), invoice, invoice and url_for("PortalInvoicesView.show", invoice_id=invoice.id),
         ("paid",)),
    ):
        if doc is None:
            state = "stopped" if stopped else "waiting"
            if key == "estimate" and order is not None:
                state = "skipped"
            steps.append({"key": key, "label": label, "state": state, "text": None, "href": None, "status": None})
            continue
        state = "done" if doc.status in done else "stopped" if doc.status in ("cancelled", "void", "declined") \
            else "current"
        text = getattr(doc, "display_number", None) or doc.number
        steps.append({"key": key, "label": label, "state": state, "text": text, "href": href, "status": doc.status})
    return steps


class PortalRequestsView(PortalView):
    route_base = "/portal"
    default_view = "list"

    # ------------------------------------------------------------ list
    @expose("/requests")
    @customer_required
    def list(self):
        which = request.args.get("status", "")
        stmt = mine(ServiceRequest).options(selectinload(ServiceRequest.service_type),
                                            selectinload(ServiceRequest.service_location),
                                            selectinload(ServiceRequest.address))
        if which in STATUS_FILTERS:
            stmt = stmt.where(ServiceRequest.status.in_(STATUS_FILTERS[which]))
        else:
            which = ""
        page = paginate(stmt.order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc()))
        return self.render("portal/requests.html", page=page, which=which)

    # ------------------------------------------------------------ detail and the customer's actions
    @expose("/requests/<int:request_id>")
    @customer_required
    def show(self, request_id):
        return self._show(get_or_404(ServiceRequest, request_id))

    def _show(self, req, errors=None, status=200):
        actions = [a for a in requests.TABLE.allowed_actions(req.status, self.actor, req) if a in CUSTOMER_ACTIONS]
        attachments = list(db.session.scalars(mine(Attachment).where(Attachment.service_request_id == req.id)
                                              .order_by(Attachment.created_at)))
        picker = {"offered": False}
        if "reschedule" in actions:
            picker = slot_picker.picker(req.service_type_id, req.service_location_id,
                                        request.form.get("week") or request.form.get("shown_week"),
                                        request.form.get("slot"))
        return self.render("portal/requests_show.html", req=req, actions=actions, steps=timeline(req),
                           proposal=requests.latest_proposal(req), attachments=attachments, picker=picker,
                           errors=errors or {}, form=request.form), status

    @expose("/requests/<int:request_id>/<action>", methods=["POST"])
    @customer_required
    def act(self, request_id, action):
        req = get_or_404(ServiceRequest, request_id)
        if action not in CUSTOMER_ACTIONS:
            return self._show(req, status=404)
        params = {"expected_version": form_value("version") or None}
        if action == "reschedule" and request.form.get("week"):  # another week of the picker, nothing saved
            return self._show(req)
        if action == "propose":
            params.update(start=form_value("start"), note=form_value("note") or None)
        elif action == "reschedule":
            params.update(start=form_value("slot") or form_value("start"))
        elif action == "cancel":
            params.update(reason=form_value("reason") or None)
        try:
            requests.perform(req, action, self.actor, **params)
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
            if action == "reschedule" and "start" not in request.form:  # the picker's radio buttons
                errors = {("slot" if key == "start" else key): value for key, value in errors.items()}
            return self._show(db.session.get(ServiceRequest, req.id), errors=errors, status=422)
        except ServiceError as exc:
            flash_service_error(exc)
        else:
            flash({"accept_time": _("Thank you: your booking is confirmed."),
                   "propose": _("Your proposal was sent to the shop."),
                   "reschedule": _("Your booking was moved. The updated invitation is on its way by e-mail."),
                   "cancel": _("The request was cancelled.")}[action], "success")
        return redirect(url_for("PortalRequestsView.show", request_id=req.id))

    # ------------------------------------------------------------ new request
    def _choices(self) -> dict:
        return {
            "service_types": list(db.session.scalars(select(ServiceType).where(ServiceType.active.is_(True))
                                                     .order_by(ServiceType.name))),
            "locations": list(db.session.scalars(select(ServiceLocation).where(ServiceLocation.active.is_(True))
                                                 .order_by(ServiceLocation.name))),
            "addresses": list(db.session.scalars(in_use(mine(Address), Address).order_by(Address.id))),
            "units": list(db.session.scalars(in_use(mine(Unit), Unit).order_by(Unit.unit_number, Unit.id))),
        }

    def _render_new(self, form, errors, status=200):
        picker = slot_picker.picker(form.get("service_type_id"), form.get("service_location_id"),
                                    form.get("week") or form.get("shown_week"), form.get("slot"))
        return self.render("portal/requests_new.html", form=form, errors=errors, slots=SLOTS, picker=picker,
                           photos=True, **self._choices()), status

    @expose("/requests/new", methods=["GET", "POST"])
    @customer_required
    def new(self):
        if request.method == "GET":
            customer = db.session.get(Customer, self.actor.customer_id)
            tomorrow = shop_today() + dt.timedelta(days=1)
            form = {"preferred_date": tomorrow.isoformat(), "preferred_slot": "morning",
                    "address_id": customer.default_service_address_id or ("new" if not customer.addresses else ""),
                    "unit_id": request.args.get("unit_id", "")}
            return self._render_new(form, {})
        if request.form.get("week"):  # "Earlier" / "Later" in the slot picker: another week, nothing saved
            return self._render_new(request.form, {})
        fields, errors = self._parse_new()
        try:
            requests.check_new(self.actor, **fields)
        except ValidationFailed as exc:
            errors.update({FIELD_NAMES.get(key, key): value for key, value in exc.errors.items()})
        if form_value("address_id") == "new":
            try:
                customers.check_address(self.actor, **{name: form_value(f"new_{name}") for name in INLINE_ADDRESS})
            except ValidationFailed as exc:
                errors.update({f"new_{key}": value for key, value in exc.errors.items()})
        photos = self._checked_photos(errors)
        if errors:
            return self._render_new(request.form, errors, 422)
        try:
            if form_value("address_id") == "new":
                inline = {name: form_value(f"new_{name}") for name in INLINE_ADDRESS}
                try:
                    fields["address_id"] = customers.new_address(self.actor, **inline).id
                except ValidationFailed as exc:
                    raise ValidationFailed({f"new_{key}": value for key, value in exc.errors.items()}) from None
            req = requests.submit(self.actor, source="portal", **fields)
        except ValidationFailed as exc:
            db.session.rollback()
            errors = {FIELD_NAMES.get(key, key): value for key, value in exc.errors.items()}
            return self._render_new(request.form, errors, 422)
        self._store_photos(req, photos)
        if req.status == "accepted":
            flash(_("Booked: %(number)s on %(when)s. The invitation is on its way by e-mail.", number=req.number,
                    when=availability.when(req.scheduled_start)), "success")
        else:
            flash(_("Thank you: we received your request %(number)s.", number=req.number), "success")
        return redirect(url_for("PortalRequestsView.show", request_id=req.id))

    def _parse_new(self) -> tuple[dict, dict]:
        """The form's fields as typed; the service checks them (and answers in the customer's language)."""
        fields = {name: form_value(name) for name in NEW_FIELDS}
        fields["estimate_required"] = bool(request.form.get("estimate_required"))
        if fields["preferred_slot"] != "custom":
            fields["preferred_time"] = ""
        if fields["address_id"] == "new":
            fields["address_id"] = ""
        return fields, {}

    def _checked_photos(self, errors: dict) -> list:
        """The attached photos, checked by content before anything is saved (errors at the field)."""
        files = [f for f in request.files.getlist("photos") if f and f.filename]
        if not files:
            return []
        if len(files) > uploads.photo_limit():
            errors["photos"] = [_("At most %(limit)s files can be attached.", limit=uploads.photo_limit())]
            return []
        checked = []
        for storage in files:
            try:
                checked.append(uploads.check_file(storage))
            except ValidationFailed as exc:
                errors.setdefault("photos", []).extend(str(m) for messages in exc.errors.values() for m in messages)
        if "photos" in errors:
            errors["photos"].append(_("Choose the files again: a browser cannot keep them after an error."))
        return checked

    def _store_photos(self, req, checked: list) -> None:
        for item in checked:
            try:
                requests.perform(req, "attach", self.actor, file=item)
            except ServiceError as exc:
                flash(_("%(file)s was not attached: %(reason)s", file=item.filename, reason=exc.message),
                      "warning")


VIEWS = [PortalRequestsView]
