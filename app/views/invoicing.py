"""Invoicing (``Invoices``, in the Billing menu): the work lists between a finished job and a paid invoice.

- *Ready to invoice*: ready or completed work orders without a live (not void) invoice, the longest waiting
  first; *Create invoice* makes the draft (``work_orders.perform(order, "invoice")``: labour from clocked
  time or approved hours as Settings say, parts from the approved lines) and opens it.
- *Ready to submit*: draft invoices; *Submit* sends each to ``awaiting_authorization`` or ``open`` (the
  service decides by the customer's account), *Void* needs a reason.
- *Awaiting payment*: invoices awaiting authorization or open, oldest due first; staff record a payment
  (amount, method, reference; partial payments welcome) or void one.

Every button posts to ``/invoicing/invoice/<id>/<action>`` or ``/invoicing/order/<id>/invoice`` with the
version the list was opened on. A refused form comes back on its list with the message at the field and
what was typed still in it.
"""
from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from ..core.errors import ServiceError, ValidationFailed
from ..core.numbers import NumberNotUnderstood, typed_number
from ..core.scope import current_actor
from ..extensions import db
from ..models import Invoice, WorkOrder
from ..services import invoices, work_orders
from ..services.invoices import PAYMENT_METHODS
from . import sentences
from .filters import format_money, status_label

log = logging.getLogger(__name__)
PERMISSION = "Invoices"
PAGE_SIZE = 25
INVOICE_ACTIONS = ("submit", "payments", "void")


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def _paged(stmt, count_stmt) -> dict:
    page = _page_number()
    total = db.session.scalar(count_stmt) or 0
    rows = list(db.session.scalars(stmt.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    return {"rows": rows, "page": page, "pages": max(1, -(-total // PAGE_SIZE)), "total": total}


def _no_live_invoice():
    return ~exists().where(Invoice.work_order_id == WorkOrder.id, Invoice.status != "void")


def orders_to_invoice() -> dict:
    where = (WorkOrder.status.in_(("ready", "completed")), _no_live_invoice())
    stmt = (select(WorkOrder).where(*where).options(selectinload(WorkOrder.customer))
            .order_by(func.coalesce(WorkOrder.completed_at, WorkOrder.ready_at, WorkOrder.created_at), WorkOrder.id))
    return _paged(stmt, select(func.count()).select_from(WorkOrder).where(*where))


def invoices_in(statuses: tuple[str, ...], order) -> dict:
    stmt = (select(Invoice).where(Invoice.status.in_(statuses))
            .options(selectinload(Invoice.customer), selectinload(Invoice.work_order)).order_by(*order))
    return _paged(stmt, select(func.count()).select_from(Invoice).where(Invoice.status.in_(statuses)))


MAX_AMOUNT = Decimal("9999999999.99")


def check_amount(amount) -> None:
    """Money is typed with at most two decimals (the service would round 12.345 quietly) and fits its column."""
    try:
        value = Decimal(str(amount).strip())
    except (InvalidOperation, ValueError):
        return  # not a number at all: the service says so
    if not value.is_finite():
        return
    if abs(value) > MAX_AMOUNT:
        raise ValidationFailed({"amount": [_("That amount is too large.")]})
    if value != value.quantize(Decimal("0.01")):
        raise ValidationFailed({"amount": [_("Use at most two decimals.")]})


class _InvoicingList(BaseView):
    """A work list; the actions on its rows are in ``InvoicingActionsView``."""

    class_permission_name = PERMISSION
    method_permission_name = {"index": "list"}
    default_view = "index"
    title = ""
    template = ""

    def rows(self) -> dict:
        raise NotImplementedError

    def render_list(self, *, errors=None, typed=None, status: int = 200):
        """``errors`` and ``typed`` are ``{row id: {field: ...}}`` for a refused row form."""
        return self.render_template(self.template, title=self.title, listing=self.rows(), endpoint=self.endpoint,
                                    errors=errors or {}, typed=typed or {}, methods=PAYMENT_METHODS,
                                    format_money=format_money), status

    @expose("/")
    @has_access
    def index(self):
        return self.render_list()


class ReadyToInvoiceView(_InvoicingList):
    route_base = "/invoicing/ready-to-invoice"
    title = _l("Ready to invoice")
    template = "staff/invoice_ready_to_invoice.html"

    def rows(self):
        return orders_to_invoice()


class ReadyToSubmitView(_InvoicingList):
    route_base = "/invoicing/ready-to-submit"
    title = _l("Ready to submit")
    template = "staff/invoice_list.html"

    def rows(self):
        return invoices_in(("draft",), (Invoice.created_at, Invoice.id))


class AwaitingPaymentView(_InvoicingList):
    route_base = "/invoicing/awaiting-payment"
    title = _l("Awaiting payment")
    template = "staff/invoice_list.html"

    def rows(self):
        return invoices_in(("awaiting_authorization", "open"),
                           (Invoice.due_date.is_(None), Invoice.due_date, Invoice.created_at, Invoice.id))


LISTS = {"ready-to-submit": ReadyToSubmitView, "awaiting-payment": AwaitingPaymentView}


class InvoicingActionsView(BaseView):
    """The row buttons of the invoicing lists (no page of its own)."""

    route_base = "/invoicing"
    class_permission_name = PERMISSION
    method_permission_name = {"invoice_action": "transition", "create_invoice": "transition"}

    def _list_view(self, invoice: Invoice):
        name = request.form.get("list", "")
        if name not in LISTS:
            name = "ready-to-submit" if invoice.status == "draft" else "awaiting-payment"
        return next(v for v in self.appbuilder.baseviews if isinstance(v, LISTS[name]))

    @expose("/invoice/<int:pk>/<action>", methods=["POST"])
    @has_access
    def invoice_action(self, pk, action):
        invoice = db.session.get(Invoice, pk)
        if invoice is None or action not in INVOICE_ACTIONS:
            abort(404)
        listing = self._list_view(invoice)
        form = request.form
        fields = {"payments": ("amount", "method", "reference"), "void": ("reason",)}.get(action, ())
        params = {name: form.get(name, "").strip() or None for name in fields}
        typed = {invoice.id: {name: form.get(name, "") for name in fields}}
        version = form.get("expected_version", "").strip() or None
        number, before = invoice.number, invoice.status
        try:
            if action == "payments" and params["amount"]:
                try:
                    params["amount"] = typed_number(params["amount"])  # 1.234,50 on a German page
                except NumberNotUnderstood as problem:
                    raise ValidationFailed({"amount": [str(problem)]}) from None
                check_amount(params["amount"])
            invoices.perform(invoice, action, current_actor(), expected_version=version, **params)
        except ValidationFailed as error:
            db.session.rollback()
            return listing.render_list(errors={invoice.id: error.errors}, typed=typed, status=422)
        except ServiceError as error:
            db.session.rollback()
            flash(f"{number}: {error.message}", "danger")
            return listing.render_list(typed=typed, status=error.status_code)
        except SQLAlchemyError:
            db.session.rollback()
            log.exception("Invoice %s: %s failed", number, action)
            flash(_("%(number)s: this could not be saved. Reload the page and try again.", number=number), "danger")
            return listing.render_list(typed=typed, status=409)
        if action == "payments":
            amount = format_money(params["amount"])
            if invoice.balance > 0:
                flash(_("%(number)s: a payment of %(amount)s is recorded; %(left)s remain open.", number=number,
                        amount=amount, left=format_money(invoice.balance)), "success")
            else:
                flash(_("%(number)s: a payment of %(amount)s is recorded; it is now %(status)s.", number=number,
                        amount=amount, status=status_label(invoice.status).lower()), "success")
        else:
            flash(sentences.done(invoice, number, action, None, before), "success")
        return redirect(url_for(f"{listing.endpoint}.index"))

    @expose("/order/<int:pk>/invoice", methods=["POST"])
    @has_access
    def create_invoice(self, pk):
        order = db.session.get(WorkOrder, pk)
        if order is None:
            abort(404)
        number = order.number
        try:
            invoice = work_orders.perform(order, "invoice", current_actor())
        except (ServiceError, SQLAlchemyError) as error:
            db.session.rollback()
            if not isinstance(error, ServiceError):
                log.exception("Invoicing %s failed", number)
            message = getattr(error, "message", _("the invoice could not be saved. Reload the page and try again."))
            flash(f"{number}: {message}", "danger")
            return redirect(url_for("ReadyToInvoiceView.index"))
        flash(_("%(number)s: draft invoice %(invoice)s created (%(total)s). Check it, then submit it.",
                number=number, invoice=invoice.number, total=format_money(invoice.total)), "success")
        return redirect(url_for("InvoiceView.show", pk=invoice.id))


def register(appbuilder, add) -> None:
    add(appbuilder, ReadyToInvoiceView, "Ready to invoice", category="Billing", icon="fa-wrench")
    add(appbuilder, ReadyToSubmitView, "Ready to submit", category="Billing", icon="fa-paper-plane")
    add(appbuilder, AwaitingPaymentView, "Awaiting payment", category="Billing", icon="fa-hourglass-half")
    appbuilder.add_view_no_menu(InvoicingActionsView)
