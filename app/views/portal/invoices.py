"""The customer's invoices: list, detail with lines and payments, authorize, pay online."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from ...core.errors import ServiceError, ValidationFailed
from ...extensions import db
from ...models import Invoice, InvoiceLine, Payment
from ...services import invoices
from .base import PortalView, customer_required
from .page_helpers import flash_service_error, form_value, get_or_404, mine, paginate

STATUS_FILTERS = {"due": ("open", "awaiting_authorization"), "paid": ("paid",)}
DEMO_TOKEN = "tok_demo_ok"



class PortalInvoicesView(PortalView):
    route_base = "/portal"
    default_view = "list"

    @expose("/invoices")
    @customer_required
    def list(self):
        which = request.args.get("status", "")
        stmt = mine(Invoice).where(Invoice.status != "draft")
        if which in STATUS_FILTERS:
            stmt = stmt.where(Invoice.status.in_(STATUS_FILTERS[which]))
        else:
            which = ""
        page = paginate(stmt.options(selectinload(Invoice.work_order))
                        .order_by(Invoice.issued_at.desc(), Invoice.id.desc()))
        return self.render("portal/invoices.html", page=page, which=which)

    @expose("/invoices/<int:invoice_id>")
    @customer_required
    def show(self, invoice_id):
        return self._show(get_or_404(Invoice, invoice_id))

    def _show(self, invoice: Invoice, errors=None, status=200):
        lines = list(db.session.scalars(mine(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
                                        .order_by(InvoiceLine.position, InvoiceLine.id)))
        payments = list(db.session.scalars(mine(Payment).where(Payment.invoice_id == invoice.id)
                                           .order_by(Payment.received_at, Payment.id)))
        can_authorize = invoices.TABLE.may(invoice, "authorize", self.actor)
        can_pay = invoices.TABLE.may(invoice, "pay_online", self.actor) and invoice.balance > 0
        return self.render("portal/invoices_show.html", invoice=invoice, lines=lines, payments=payments,
                           can_authorize=can_authorize, can_pay=can_pay, demo_token=DEMO_TOKEN,
                           can_query=invoices.TABLE.may(invoice, "query", self.actor),
                           can_note=invoices.TABLE.may(invoice, "notes", self.actor),
                           log=invoices.query_log(invoice), errors=errors or {}, form=request.form,
                           pdf_link=url_for("PortalDocumentView.invoice_pdf", pk=invoice.id)), status

    @expose("/invoices/<int:invoice_id>/authorize", methods=["POST"])
    @customer_required
    def authorize(self, invoice_id):
        invoice = get_or_404(Invoice, invoice_id)
        try:
            invoices.perform(invoice, "authorize", self.actor, expected_version=form_value("version") or None)
        except ServiceError as exc:
            flash_service_error(exc)
        else:
            flash(_("Invoice %(number)s is authorized.", number=invoice.number), "success")
        return redirect(url_for("PortalInvoicesView.show", invoice_id=invoice.id))

    @expose("/invoices/<int:invoice_id>/pay", methods=["POST"])
    @customer_required
    def pay(self, invoice_id):
        invoice = get_or_404(Invoice, invoice_id)
        try:
            invoices.perform(invoice, "pay_online", self.actor, token=form_value("token"))
        except ValidationFailed as exc:
            errors = {"payment": [message for messages in exc.errors.values() for message in messages]}
            return self._show(db.session.get(Invoice, invoice.id), errors=errors, status=422)
        except ServiceError as exc:
            flash_service_error(exc)
        else:
            flash(_("Thank you: your payment was received."), "success")
        return redirect(url_for("PortalInvoicesView.show", invoice_id=invoice.id))


    @expose("/invoices/<int:invoice_id>/<action>", methods=["POST"])
    @customer_required
    def act(self, invoice_id, action):
        """The customer's query of an invoice (a reason, lines optional) and notes in its query log."""
        invoice = get_or_404(Invoice, invoice_id)
        if action == "query":
            params = {"reason": form_value("reason"), "expected_version": form_value("version") or None}
            chosen = [int(value) for value in request.form.getlist("query_line") if value.isdecimal()]
            if chosen:
                params["lines"] = chosen
        elif action == "notes":
            params = {"text": form_value("text")}
        else:
            return self._show(invoice, status=404)
        try:
            invoices.perform(invoice, action, self.actor, params)
        except ValidationFailed as exc:
            db.session.rollback()
            return self._show(db.session.get(Invoice, invoice.id), errors=exc.errors, status=422)
        except ServiceError as exc:
            flash_service_error(exc)
        else:
            flash({"query": _("Your query was sent to the shop. The invoice waits until they answer."),
                   "notes": _("Your note was added.")}[action], "success")
        return redirect(url_for("PortalInvoicesView.show", invoice_id=invoice.id) + "#query")


VIEWS = [PortalInvoicesView]
