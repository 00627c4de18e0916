"""``/api/v1/invoice/``: invoices from ready or completed work orders, authorization and payments.

``POST /invoice/ {"work_order": id}`` is the same as ``POST /work_order/<id>/invoice``. Customers see an
invoice once it is submitted (not while it is the shop's draft) and may authorize it.
"""
from __future__ import annotations

from marshmallow import fields
from sqlalchemy import select

from ..core.datamodel import PorticoInterface
from ..core.fields import Money, Quantity, Ref, UTCDateTime
from ..core.scope import scoped
from ..models import Invoice, WorkOrder
from ..services import invoices
from ..services.workflow import perform
from . import options as opt
from .base import Action, Document, Listing, PorticoApi
from .schemas import In, Out


class InvoiceLineOut(Out):
    id = fields.Integer()
    position = fields.Integer()
    kind = fields.String()
    part_number = fields.String()
    description = fields.String()
    quantity = Quantity()
    unit_price = Money()
    amount = Money()
    clocked_minutes = fields.Integer(metadata={"description": "Labour from clocked time: the raw minutes clocked "
                                                              "before the shop's rounding rule."})


class PaymentOut(Out):
    id = fields.Integer()
    amount = Money()
    method = fields.String()
    reference = fields.String()
    provider = fields.String()
    received_at = UTCDateTime()


class CreditNoteOut(Out):
    id = fields.Integer()
    number = fields.String()
    reason = fields.String()
    subtotal = Money()
    tax = Money()
    total = Money(metadata={"description": "Negative: what the credit note takes back."})
    issued_at = UTCDateTime()


class InvoiceOut(Out):
    id = fields.Integer()
    number = fields.String()
    status = fields.String()
    customer = Ref(attribute="customer_id")
    work_order = Ref(attribute="work_order_id")
    lines = fields.List(fields.Nested(InvoiceLineOut))
    payments = fields.List(fields.Nested(PaymentOut))
    credit_notes = fields.List(fields.Nested(CreditNoteOut), metadata={"description": "CN-… correcting it."})
    credited = Money(metadata={"description": "What its credit notes took back."})
    tax_rate = Money(metadata={"description": "Percent."})
    subtotal = Money()
    tax = Money()
    total = Money()
    amount_paid = Money()
    balance = Money()
    issued_at = UTCDateTime()
    due_date = fields.Date()
    authorized_at = UTCDateTime()
    paid_at = UTCDateTime()
    void_reason = fields.String()
    note = fields.String()
    queried_at = UTCDateTime(metadata={"description": "Set while a customer's query waits for the shop's answer."})
    replaces = Ref(attribute="replaces_id", metadata={"description": "The voided invoice this one re-issues."})
    version = fields.Integer()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class InvoiceNoteOut(Out):
    id = fields.Integer()
    invoice = Ref(attribute="invoice_id")
    side = fields.String()
    kind = fields.String(metadata={"description": "query, answer or note"})
    text = fields.String()
    lines = fields.Method("_lines", metadata={"description": "The queried line ids."})
    created_at = UTCDateTime()

    def _lines(self, note):
        return [int(ident) for ident in (note.line_ids or "").split(",") if ident]


class InvoiceIn(In):
    work_order = Ref(required=True, metadata={"description": "A ready or completed work order."})


def invoiceable_orders(actor):
    return (scoped(select(WorkOrder), WorkOrder, actor)
            .where(WorkOrder.status.in_(("ready", "completed"))).order_by(WorkOrder.id.desc()))


class InvoiceApi(PorticoApi):
    resource_name = "invoice"
    class_permission_name = "ApiInvoices"
    openapi_spec_tag = "Invoices"
    datamodel = PorticoInterface(Invoice)
    entity = "invoice"
    service = invoices
    schemas = {"staff": InvoiceOut, "customer": InvoiceOut}
    add_schemas = {"staff": InvoiceIn}
    edit_schemas = {"staff": invoices.InvoiceEdit}
    list_columns = ["id", "number", "status", "customer", "work_order", "total", "amount_paid", "balance",
                    "issued_at", "due_date", "created_at"]
    search = {"staff": ["number", "status", "customer", "work_order", "issued_at", "due_date", "paid_at"],
              "customer": ["number", "status", "work_order", "issued_at", "due_date", "paid_at"]}
    orders = {aud: ["id", "number", "status", "total", "issued_at", "due_date", "created_at"]
              for aud in ("staff", "customer")}
    options = {"work_order": invoiceable_orders, "customer": opt.customers}
    actions = {
        "submit": Action(summary="Issue the draft: open, or awaiting authorization for customers that require it"),
        "authorize": Action(summary="Authorize the invoice (customer)"),
        "payments": Action(summary="Record a payment (staff); paid when payments reach the total"),
        "void": Action(summary="Void the invoice with a reason (staff)"),
        "credit": Action(creates="credit_note", summary="Correct a paid invoice with a credit note CN-… "
                                                        "(staff; all lines not yet credited, or the chosen ones)"),
        "query": Action(summary="Query the invoice (customer, awaiting authorization or open): it stays in its "
                                "state, flagged queried, until staff answer"),
        "answer": Action(summary="Answer the query and keep the invoice (staff)"),
        "reissue": Action(creates="invoice_id", summary="Void the queried invoice and re-issue it as a new draft "
                                                        "with the same lines (staff)"),
        "notes": Action(summary="A note in the invoice's query log (either side)"),
    }
    listings = {"notes": Listing(InvoiceNoteOut, "query_log", "query log")}
    documents = {"pdf": Document("invoice", "invoice as PDF")}

    def query_log(self, item, actor):
        return invoices.query_log(item)

    def create(self, actor, data):
        order = opt.pick(self.options, "work_order", actor, data["work_order"],
                         "Choose a ready or completed work order.")
        return perform(order, "invoice", actor)
