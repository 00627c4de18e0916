"""A customer's repair order: the form, the summary, then "Approve service order".

The device is either one of the customer's own units (picked; another customer's unit id answers 404) or
typed in (kind, make, model, serial number, IMEI with its check digit), which makes a unit of theirs through
``services.units.unit_from_device``. The form posts to itself: ``step=review`` validates and shows the
summary, whose hidden fields carry every value back (``step=edit`` returns to the form, ``step=approve``
creates the order through ``services.work_orders.create``). A reseller's order is confirmed at once; other
customers' orders wait for the shop (the service decides by the actor).

Photos and files follow the upload rules of requests: each is checked by content as it arrives
(``uploads.check_file``; a refused one answers 422 at the ``files`` field, everything typed kept) and kept as
a pending upload of this browser's draft (token in the session, bound to the customer) until the order
exists; then each becomes an attachment through the work order's ``attach`` action (``Settings.photo_limit``).
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, session
from flask_appbuilder import expose
from flask_babel import gettext as _
from sqlalchemy import select

from ...core.errors import NotFound, ServiceError, ValidationFailed
from ...core.scope import in_use, scoped
from ...extensions import db
from ...models import UNIT_KINDS, ServiceLocation, ShippingMethod, Unit
from ...services import units, uploads, work_orders
from .base import PortalView, customer_required

ORDER_FIELDS = ("unit_id", "device_kind", "make", "model", "serial_number", "imei", "fault", "accessories",
                "customer_reference", "service_location_id", "shipping_method_id")
LIMITS = {"fault": 4000, "accessories": 1000, "customer_reference": 80}
#: Service error keys → the form field they belong to.
FIELD_OF = {"device.kind": "device_kind", "device.make": "make", "device.model": "model",
            "device.serial_number": "serial_number", "device.imei": "imei", "unit": "unit_id",
            "service_location": "service_location_id", "shipping_method": "shipping_method_id"}


DRAFT_KEY = "repair_order_files"


def _active(model):
    return list(db.session.scalars(select(model).where(model.active.is_(True)).order_by(model.name)))


def _choice(model, value, field: str, errors: dict, required: bool, what: str):
    if not value:
        if required:
            errors[field] = [f"Choose the {what}."]
        return None
    try:
        row = db.session.get(model, int(value))
    except (TypeError, ValueError):
        row = None
    if row is None or not row.active:
        errors[field] = [f"Choose one of the listed {what}s."]
        return None
    return row


class PortalRepairOrderView(PortalView):
    route_base = "/portal/orders"

    def _units(self) -> list[Unit]:
        units = in_use(scoped(select(Unit), Unit, self.actor), Unit)
        return list(db.session.scalars(units.order_by(Unit.make, Unit.model, Unit.id)))

    def _values(self) -> dict:
        if request.method == "POST":
            return {name: (request.form.get(name) or "").strip() for name in ORDER_FIELDS}
        values = dict.fromkeys(ORDER_FIELDS, "")
        values["device_kind"] = "device"
        values["unit_id"] = (request.args.get("unit") or "").strip()
        return values

    def _check(self, values: dict) -> tuple[dict, dict]:
        """Validate the form; return (the resolved choices, field errors). A foreign unit id is a 404."""
        errors: dict[str, list[str]] = {}
        chosen: dict = {"unit": None, "device": None}
        if values["unit_id"]:
            try:
                chosen["unit"] = units.own_unit(self.actor, values["unit_id"])
            except NotFound:
                abort(404)
        else:
            device = {"kind": values["device_kind"], "make": values["make"], "model": values["model"],
                      "serial_number": values["serial_number"], "imei": values["imei"]}
            try:
                chosen["device"] = units.clean_device(device)
            except ValidationFailed as error:
                errors.update({FIELD_OF.get(k, k): v for k, v in error.errors.items()})
        if not values["fault"]:
            errors["fault"] = ["Describe the fault."]
        for field, limit in LIMITS.items():
            if len(values[field]) > limit:
                errors[field] = [f"At most {limit} characters ({len(values[field])} given)."]
        chosen["location"] = _choice(ServiceLocation, values["service_location_id"], "service_location_id", errors,
                                     True, "service location")
        chosen["method"] = _choice(ShippingMethod, values["shipping_method_id"], "shipping_method_id", errors,
                                   self.actor.is_reseller, "shipping method")
        return chosen, errors

    # --- files: pending uploads of this browser's draft until the order exists ---------------------------

    def _draft(self, create: bool = False) -> str | None:
        token = session.get(DRAFT_KEY)
        if token and uploads.DRAFT_TOKEN.fullmatch(token):
            if uploads.load_draft(token).get("customer_id") == self.actor.customer_id:
                return token
            uploads.discard_draft(token)  # another login's draft in this browser: never shown or attached
            session.pop(DRAFT_KEY, None)
        if not create:
            return None
        uploads.purge_stale_drafts()
        token = uploads.new_draft_token()
        uploads.update_draft(token, customer_id=self.actor.customer_id)
        session[DRAFT_KEY] = token
        return token

    def _files(self) -> list[dict]:
        return uploads.load_draft(self._draft())["files"]

    def _take_files(self) -> dict:
        """Removals ticked and new files chosen: each checked by content, then kept; errors at ``files``."""
        storages = [f for f in request.files.getlist("files") if f and f.filename]
        removals = request.form.getlist("remove_file")
        if not storages and not removals:
            return {}
        token = self._draft(create=True)
        for file_id in removals:
            uploads.remove_pending(token, file_id)
        errors: list[str] = []
        room = uploads.pending_room(token)
        if len(storages) > room:  # counted before any file is read: the extra ones are never decoded
            errors.append(_("At most %(limit)s files can be attached.", limit=uploads.photo_limit()))
            storages = storages[:room]
        for storage in storages:
            try:
                uploads.add_pending(token, uploads.check_file(storage))
            except ValidationFailed as error:
                errors.extend(error.errors.get(uploads.FIELD, [error.message]))
        return {"files": errors} if errors else {}

    def _attach_files(self, order) -> None:
        token = self._draft()
        if token is None:
            return
        for item in uploads.pending_checked(token):
            try:
                work_orders.perform(order, "attach", self.actor, file=item)
            except ServiceError as error:
                flash(_("%(file)s was not attached: %(reason)s", file=item.filename, reason=error.message), "warning")
        uploads.discard_draft(token)
        session.pop(DRAFT_KEY, None)

    # --- the form, the summary, approval -----------------------------------------------------------------

    def _form(self, values: dict, errors: dict, status: int = 200):
        return self.render("portal/repair_new.html", values=values, errors=errors, own_units=self._units(),
                           locations=_active(ServiceLocation), methods=_active(ShippingMethod),
                           unit_kinds=UNIT_KINDS, reseller=self.actor.is_reseller, files=self._files(),
                           limit=uploads.photo_limit(), max_size=uploads.size_text(uploads.max_bytes())), status

    @expose("/new", methods=["GET", "POST"])
    @customer_required
    def new(self):
        values = self._values()
        step = request.form.get("step", "") if request.method == "POST" else ""
        file_errors = self._take_files() if request.method == "POST" else {}
        if step not in ("review", "approve"):
            return self._form(values, file_errors, 422 if file_errors else 200)
        chosen, errors = self._check(values)
        errors.update(file_errors)
        if errors:
            return self._form(values, errors, 422)
        if step == "review":
            files = self._files()
            if files:  # the summary page lists the order's fields; the files are named here
                flash(_("To be attached: %(names)s", names=", ".join(f["filename"] for f in files)), "info")
            return self.render("portal/repair_summary.html", values=values, chosen=chosen,
                               fields=ORDER_FIELDS, reseller=self.actor.is_reseller)
        return self._approve(values, chosen)

    def _approve(self, values: dict, chosen: dict):
        actor = self.actor
        try:
            unit = chosen["unit"] or units.unit_from_device(actor, actor.customer_id, chosen["device"])
            order = work_orders.create(
                actor, customer_id=actor.customer_id, kind="repair", unit_id=unit.id, fault=values["fault"],
                accessories=values["accessories"] or None, customer_reference=values["customer_reference"] or None,
                service_location_id=chosen["location"].id,
                shipping_method_id=chosen["method"].id if chosen["method"] else None,
            )
        except ValidationFailed as error:
            db.session.rollback()
            return self._form(values, {FIELD_OF.get(k, k): v for k, v in error.errors.items()}, 422)
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "danger")
            return self._form(values, {}, error.status_code)
        self._attach_files(order)
        if order.status == "confirmed":
            flash(f"Repair order {order.number} is confirmed.", "success")
        else:
            flash(f"Repair order {order.number} is sent: the shop will confirm it.", "success")
        return redirect(f"/portal/orders/{order.id}")


VIEWS = [PortalRepairOrderView]
