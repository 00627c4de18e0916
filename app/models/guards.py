"""The last guard of "nothing lost", below every screen, API route and service: the unit of work itself.

Before each flush, the session refuses what no adapter may do and no action row offers:

- deleting history (requests, estimates, work orders, invoices, payments, shipments, time entries,
  messages, proposals, dispute notes, attachments, audit events);
- deleting or changing the lines of a closed document (an estimate no longer a draft, an invoice no longer a
  draft, a work order completed or cancelled) or a recorded payment.

Corrections go through the workflow: revise, void and re-issue, a credit note. The database adds its own
guard (``ON DELETE RESTRICT`` from history to what it names).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from ..core.errors import Conflict
from .estimates import DisputeNote, Estimate, LabourLine, PartLine
from .invoices import CreditNote, CreditNoteLine, Invoice, InvoiceLine, InvoiceNote, Payment
from .requests import Attachment, ServiceRequest, TimeProposal
from .shipments import Shipment
from .system import AuditEvent
from .work_orders import OrderMessage, TimeEntry, WorkItem, WorkOrder

HISTORY = (ServiceRequest, Estimate, WorkOrder, Invoice, Payment, CreditNote, Shipment, TimeEntry, OrderMessage,
           TimeProposal, DisputeNote, InvoiceNote, Attachment, AuditEvent)

CLOSED_WORK_ORDER = ("completed", "cancelled")

#: Columns of a closed document's line that may still change: a customer's dispute marks lines, and so does
#: their answer to a sent estimate (each labour line approved or declined, with the reason).
STILL_OPEN_COLUMNS = {"disputed", "dispute_note", "decision", "decline_reason"}


def _document_of(line):
    if isinstance(line, PartLine):
        labour = line.labour_line
        return labour.estimate if labour is not None else None
    if isinstance(line, LabourLine):
        return line.estimate
    if isinstance(line, InvoiceLine):
        return line.invoice
    if isinstance(line, CreditNoteLine):
        return line.credit_note
    if isinstance(line, WorkItem):
        return line.work_order
    return None


def _closed(document) -> bool:
    if document is None:
        return False
    if isinstance(document, CreditNote):
        return True  # issued when made
    status = inspect(document).committed_state.get("status", document.status)
    if isinstance(document, WorkOrder):
        return status in CLOSED_WORK_ORDER
    return status != "draft"


def _values_changed(obj) -> bool:
    state = inspect(obj)
    return any(attr.history.has_changes() for attr in state.attrs
               if attr.key in state.mapper.column_attrs and attr.key not in STILL_OPEN_COLUMNS)


def _check(session: Session, _context, _instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, HISTORY):
            raise Conflict(_l("%(record)s is history and is never deleted: cancel, void or correct it through "
                              "its workflow instead.", record=str(obj)))
        if isinstance(obj, (LabourLine, PartLine, InvoiceLine, CreditNoteLine, WorkItem)):
            document = _document_of(obj)
            if document is not None and document not in session.deleted and _closed(document):
                raise Conflict(_l("%(document)s is %(status)s: its lines can no longer be changed.",
                                  document=str(document), status=document.status.replace("_", " ")))
    for obj in session.dirty:
        if isinstance(obj, Payment) and _values_changed(obj):
            raise Conflict(_l("A recorded payment cannot be changed: correct it with a credit note."))
        if isinstance(obj, (LabourLine, PartLine, InvoiceLine, CreditNoteLine)) and _values_changed(obj):
            document = _document_of(obj)
            if _closed(document):
                raise Conflict(_l("%(document)s is %(status)s: its lines can no longer be changed.",
                                  document=str(document), status=document.status.replace("_", " ")))


def install() -> None:
    """Attach the guard to every session (idempotent)."""
    if not event.contains(Session, "before_flush", _check):
        event.listen(Session, "before_flush", _check)
