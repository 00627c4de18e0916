"""Privacy requests (GDPR art. 15, 17 and 20 as the example): a customer's data exported, or erased.

**Export** (``privacy_export``, a row of the customer's table): one ZIP with ``data.json`` (everything, one
list per entity), one CSV per entity and the customer's uploaded files, written to a temporary file row by
row (never built in memory). Staff get the full copy; a customer's portal user gets their own copy, each row
passed through ``scope`` — what the portal shows them and nothing else (no internal notes, no draft or
unsent estimate, no unissued invoice, no internal message or file, no audit trail). Password hashes, tokens,
session keys, stored file names and mails are never in it. The action is audited when it is taken and the
file is built after that commit (it changes nothing); a customer's export also tells the staff.

**Erasure** (``erase``, Managers and Admins, confirmed by typing the customer's name): refused while the
customer has open work (a request not yet resolved, an estimate waiting, a work order not completed or
cancelled, an invoice not paid or voided, a shipment under way). Otherwise, in one transaction: name →
"Erased customer C-000123"; e-mail, phone, tax id, notes, addresses and unit identifiers blanked; request
contact details and summaries, the customer's own messages and notes removed; uploads' rows anonymised and
their files deleted **after the commit**; portal logins locked, their sessions, links, JWTs and API keys
revoked and their e-mail freed; mails to them anonymised; audit lines kept with who, when and what, their
personal strings removed. Issued invoices keep the recipient as issued (``Invoice.recipient``: name,
address, tax id) for the retention period of the settings; the account is archived and marked erased.
"""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import event, func, or_, select, update
from sqlalchemy.orm import Session

from ..core.actors import Actor
from ..core.errors import Conflict, ValidationFailed
from ..core.scope import scoped
from ..core.settings import get_settings
from ..documents.context import customer_block
from ..documents.csv_export import FORMULA_START
from ..extensions import db
from ..models import (
    Address,
    Attachment,
    AuditEvent,
    CreditNote,
    CreditNoteLine,
    Customer,
    DisputeNote,
    Estimate,
    Invoice,
    InvoiceLine,
    InvoiceNote,
    LabourLine,
    LoginToken,
    Notification,
    OrderMessage,
    OutboxEmail,
    PartLine,
    Payment,
    PortalSession,
    PortalUser,
    PublicSubmission,
    ServiceRequest,
    Shipment,
    TimeEntry,
    TimeProposal,
    Unit,
    User,
    WorkItem,
    WorkOrder,
    utcnow,
)
from . import history, notify, portal_auth, uploads
from .audit import record
from .params import Unversioned

log = logging.getLogger(__name__)
ERASED = "[erased]"
BATCH = 500


def customer_number(customer: Customer) -> str:
    return f"C-{customer.id:06d}"


# --- what belongs to a customer, entity by entity ------------------------------------------------------------

def _own(model) -> Callable:
    return lambda cid: model.customer_id == cid


def audit_of(cid: int):
    """The audit lines about a customer: its own (entity ``customer``) and those of its records."""
    return or_(AuditEvent.customer_id == cid, (AuditEvent.entity_type == "customer") & (AuditEvent.entity_id == cid))


def _via(fk, parent) -> Callable:
    return lambda cid: fk.in_(select(parent.id).where(parent.customer_id == cid))


@dataclass(frozen=True)
class Part:
    """One entity of the export: its file name, its rows of a customer, and what is left out."""

    name: str
    model: type
    owner: Callable  # cid -> the WHERE clause of the customer's rows
    columns: tuple = ()  # explicit columns (default: every column of the model but ``SECRET``)
    internal: tuple[str, ...] = ()  # left out of the customer's own copy
    own_copy: bool = True  # in the customer's own copy at all
    visible_through: tuple | None = None  # (model, fk): a row the customer sees when they see its parent


#: Columns that are never exported: credentials, internal storage names.
SECRET = {"password", "stored_name", "key_hash", "token_hash", "picture"}

PARTS = (
    Part("customer", Customer, lambda cid: Customer.id == cid, internal=("notes",)),
    Part("contacts", PortalUser, lambda cid: PortalUser.customer_id == cid,
         columns=(PortalUser.id, User.first_name, User.last_name, User.email, PortalUser.phone, PortalUser.language,
                  User.active, User.last_login, PortalUser.created_at),
         visible_through=(Customer, PortalUser.customer_id)),
    Part("addresses", Address, _own(Address)),
    Part("units", Unit, _own(Unit), internal=("notes",)),
    Part("requests", ServiceRequest, _own(ServiceRequest)),
    Part("bookings", TimeProposal, _via(TimeProposal.service_request_id, ServiceRequest)),
    Part("estimates", Estimate, _own(Estimate)),
    Part("estimate_labour_lines", LabourLine, _via(LabourLine.estimate_id, Estimate)),
    Part("estimate_part_lines", PartLine, lambda cid: PartLine.labour_line_id.in_(
        select(LabourLine.id).where(_via(LabourLine.estimate_id, Estimate)(cid)))),
    Part("dispute_notes", DisputeNote, _via(DisputeNote.estimate_id, Estimate)),
    Part("work_orders", WorkOrder, _own(WorkOrder), internal=("internal_notes", "internal_reference")),
    Part("work_items", WorkItem, _via(WorkItem.work_order_id, WorkOrder)),
    Part("time_entries", TimeEntry, _via(TimeEntry.work_order_id, WorkOrder), own_copy=False),
    Part("messages", OrderMessage, _via(OrderMessage.work_order_id, WorkOrder)),
    Part("invoices", Invoice, _own(Invoice)),
    Part("invoice_lines", InvoiceLine, _via(InvoiceLine.invoice_id, Invoice)),
    Part("invoice_notes", InvoiceNote, _via(InvoiceNote.invoice_id, Invoice),
         visible_through=(Invoice, InvoiceNote.invoice_id)),
    Part("payments", Payment, _via(Payment.invoice_id, Invoice)),
    Part("credit_notes", CreditNote, _own(CreditNote)),
    Part("credit_note_lines", CreditNoteLine, _via(CreditNoteLine.credit_note_id, CreditNote)),
    Part("shipments", Shipment, _own(Shipment)),
    Part("attachments", Attachment, _own(Attachment)),
    Part("notifications", Notification, _own(Notification)),
    Part("audit", AuditEvent, audit_of, own_copy=False),
)


def _columns(part: Part, full: bool) -> list:
    columns = part.columns or [c for c in part.model.__table__.columns if c.key not in SECRET]
    return [c for c in columns if full or c.key not in part.internal]


def _statement(part: Part, customer_id: int, actor: Actor, full: bool):
    stmt = select(*_columns(part, full)).where(part.owner(customer_id))
    if part.model is PortalUser:
        stmt = stmt.join(User, User.id == PortalUser.user_id)
    if not full:  # the customer's copy: row-level security decides, as on every portal page
        model, key = part.visible_through or (part.model, part.model.id)
        stmt = stmt.where(key.in_(scoped(select(model.id), model, actor)))
    return stmt.order_by(part.model.id)


def _rows(part: Part, customer_id: int, actor: Actor, full: bool) -> Iterator[dict]:
    result = db.session.execute(_statement(part, customer_id, actor, full).execution_options(yield_per=BATCH))
    for row in result:
        yield dict(row._mapping)


def _plain(value):
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def _cell(value) -> str:
    value = _plain(value)
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text  # a spreadsheet never runs it


# --- the export -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PrivacyExport:
    """What ``privacy_export`` hands the adapter: build the ZIP with ``write()`` after the commit."""

    customer_id: int
    actor: Actor
    full: bool

    @property
    def filename(self) -> str:
        kind = "full" if self.full else "own"
        return f"privacy-C-{self.customer_id:06d}-{kind}-{utcnow():%Y%m%d-%H%M%S}.zip"

    def write(self) -> Path:
        """The ZIP in a new temporary file (mode 0600); the caller sends and removes it."""
        handle, name = tempfile.mkstemp(prefix="portico-privacy-", suffix=".zip")
        os.close(handle)
        try:
            with zipfile.ZipFile(name, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
                self._write_into(archive)
        except BaseException:
            os.unlink(name)
            raise
        return Path(name)

    def _write_into(self, archive: zipfile.ZipFile) -> None:
        cid, actor, full = self.customer_id, self.actor, self.full
        parts = [p for p in PARTS if full or p.own_copy]
        for part in parts:
            with archive.open(f"{part.name}.csv", "w", force_zip64=True) as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                writer = csv.writer(text)
                writer.writerow([c.key for c in _columns(part, full)])
                for row in _rows(part, cid, actor, full):
                    writer.writerow([_cell(v) for v in row.values()])
                text.flush()
                text.detach()
        with archive.open("data.json", "w", force_zip64=True) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8")
            head = {"customer": customer_number(db.session.get(Customer, cid)), "shop": get_settings().shop_name,
                    "generated_at": utcnow().isoformat(), "copy": "full" if full else "customer"}
            text.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "entities": {')
            for index, part in enumerate(parts):
                text.write(("" if index == 0 else ", ") + json.dumps(part.name) + ": [")
                for number, row in enumerate(_rows(part, cid, actor, full)):
                    text.write(("" if number == 0 else ", ") + json.dumps({k: _plain(v) for k, v in row.items()},
                                                                          ensure_ascii=False))
                text.write("]")
            text.write("}}")
            text.flush()
            text.detach()
        attachments = next(p for p in PARTS if p.model is Attachment)
        for row in _rows(attachments, cid, actor, full):
            att = db.session.get(Attachment, row["id"])
            try:
                archive.write(uploads.attachment_path(att), f"files/{att.id}-{att.filename}")
            except (FileNotFoundError, OSError):
                log.warning("privacy export: the file of attachment %s is missing", att.id)


def privacy_export(customer: Customer, actor: Actor, **_) -> PrivacyExport:
    """The ``privacy_export`` effect: audited here; the ZIP is written by ``PrivacyExport.write``."""
    full = not actor.is_customer
    record(customer, "privacy_export", None, None, actor, "full copy" if full else "customer's own copy")
    if not full:
        notify.to_staff("customer.privacy_export", _l("%(number)s downloaded their data",
                                                      number=customer_number(customer)),
                        _l("The customer downloaded their own copy of their data from the portal."),
                        link=f"/customerview/show/{customer.id}", customer_id=customer.id)
    return PrivacyExport(customer.id, actor, full)


# --- erasure --------------------------------------------------------------------------------------------------

class EraseParams(Unversioned):
    confirm = fields.String(required=True, validate=validate.Length(max=200),
                            metadata={"description": "The customer's name, typed again to confirm."})


#: Work that keeps a customer from being erased: (model, states that are still open).
OPEN_WORK = ((ServiceRequest, ("new", "time_proposed", "accepted")), (Estimate, ("draft", "sent", "disputed")),
             (WorkOrder, ("pending_confirmation", "confirmed", "received", "in_progress", "ready")),
             (Invoice, ("draft", "awaiting_authorization", "open")), (Shipment, ("draft", "confirmed")))


def open_work(customer: Customer) -> list[str]:
    """The numbers of the customer's open documents (empty: nothing keeps them from being erased)."""
    found = []
    for model, states in OPEN_WORK:
        found += db.session.scalars(select(model.number).where(model.customer_id == customer.id,
                                                              model.status.in_(states)).order_by(model.id))
    return found


def _doomed(session, path: Path) -> None:
    session.info.setdefault("portico_privacy_doomed", []).append(path)


def _remove_doomed(session) -> None:
    for path in session.info.pop("portico_privacy_doomed", []):
        try:
            path.unlink(missing_ok=True)
        except OSError:  # the hourly sweep removes a file no row names
            log.exception("privacy erasure: could not remove %s", path)


def _keep_doomed(session) -> None:
    session.info.pop("portico_privacy_doomed", None)


for _name, _hook in (("after_commit", _remove_doomed), ("after_rollback", _keep_doomed)):
    if not event.contains(Session, _name, _hook):
        event.listen(Session, _name, _hook)


def _scrub(text: str | None, strings: list[str]) -> str | None:
    if not text:
        return text
    for value in strings:
        text = text.replace(value, ERASED)
    return text


def _personal_strings(customer: Customer, users: list[User], links: list[PortalUser]) -> list[str]:
    values = [customer.name, customer.email, customer.phone, customer.tax_id]
    for user in users:
        values += [user.email, user.username, f"{user.first_name} {user.last_name}".strip()]
    values += [link.phone for link in links]
    for address in customer.addresses:
        values += [address.line1, address.line2]
    found = {v.strip() for v in values if v and len(v.strip()) >= 3}
    return sorted(found, key=len, reverse=True)  # the longest first: "Klara Fischer" before "Klara"


def _erase_people(customer: Customer, links: list[PortalUser]) -> None:
    for link in links:
        user = link.user
        portal_auth.revoke_credentials(user)
        user.active = False
        user.first_name, user.last_name = "Erased", "user"
        user.email = f"erased-{user.id}@erased.invalid"
        user.username = f"erased-{user.id}"
        link.phone = link.picture = None
        db.session.execute(update(PortalSession).where(PortalSession.user_id == user.id)
                           .values(ip=None, user_agent=None))
        db.session.execute(update(LoginToken).where(LoginToken.user_id == user.id)
                           .values(created_ip=None, user_agent=None))


def _erase_records(customer: Customer) -> int:
    """Addresses, units, requests, messages, uploads; returns how many files go after the commit."""
    now, cid = utcnow(), customer.id
    for address in customer.addresses:
        address.label = address.line2 = address.state = None  # the country (NOT NULL) alone names no one
        address.line1 = address.city = address.postal_code = "—"
        address.archived_at = address.archived_at or now
    for unit in customer.units:
        unit.unit_number = unit.serial_number = unit.imei = unit.vin = unit.notes = None
        unit.archived_at = unit.archived_at or now
    requests = select(ServiceRequest.id).where(ServiceRequest.customer_id == cid)
    db.session.execute(update(ServiceRequest).where(ServiceRequest.customer_id == cid)
                       .values(contact_name=None, contact_email=None, contact_phone=None, summary=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(PublicSubmission).where(PublicSubmission.service_request_id.in_(requests))
                       .values(email=None))
    db.session.execute(update(TimeProposal).where(TimeProposal.service_request_id.in_(requests),
                                                  TimeProposal.proposed_by == "customer").values(note=None))
    for model, parent, fk in ((OrderMessage, WorkOrder, OrderMessage.work_order_id),
                              (DisputeNote, Estimate, DisputeNote.estimate_id),
                              (InvoiceNote, Invoice, InvoiceNote.invoice_id)):
        db.session.execute(update(model).where(_via(fk, parent)(cid), model.side == "customer")
                           .values(text=ERASED).execution_options(synchronize_session=False))
    files = 0
    for att in db.session.scalars(select(Attachment).where(Attachment.customer_id == cid)):
        if att.filename != ERASED:
            _doomed(db.session(), uploads.attachment_path(att))
            files += 1
        att.filename, att.public = ERASED, False
    return files


def _erase_traces(customer: Customer, users: list[User], links: list[PortalUser], strings: list[str],
                  addresses: list[str]) -> None:
    """Mails, notifications and the audit trail: kept, without the personal strings."""
    if addresses:
        mails = func.lower(OutboxEmail.to_address).in_(addresses)
        db.session.execute(update(OutboxEmail).where(mails, OutboxEmail.status == "pending")
                           .values(status="failed", last_error="recipient erased"))
        db.session.execute(update(OutboxEmail).where(mails).values(
            to_address="erased@erased.invalid", subject=ERASED, body_text=ERASED, body_html=None, attachments=None))
    for note in db.session.scalars(select(Notification).where(Notification.customer_id == customer.id)):
        note.title, note.body = _scrub(note.title, strings), _scrub(note.body, strings)
    user_ids = [u.id for u in users]
    about = or_(audit_of(customer.id),
                (AuditEvent.entity_type == "portal_user") & AuditEvent.entity_id.in_([x.id for x in links] or [-1]),
                (AuditEvent.entity_type == "ab_user") & AuditEvent.entity_id.in_(user_ids or [-1]),
                AuditEvent.actor_id.in_(user_ids or [-1]))
    personal = {"customer", "address", "unit", "portal_user", "ab_user"}
    for row in db.session.scalars(select(AuditEvent).where(about)):
        if row.entity_type in personal and row.action == "edit":
            row.reason = ERASED if row.reason else None  # "changed name: 'Klara' → …": the values go
        else:
            row.reason = _scrub(row.reason, strings)
        if row.actor_id in user_ids:
            row.actor_label = f"erased-{row.actor_id}"


def erase(customer: Customer, actor: Actor, confirm: str) -> Customer:
    """The ``erase`` effect (see the module's docstring); everything in the caller's one transaction."""
    if " ".join((confirm or "").split()).casefold() != " ".join(customer.name.split()).casefold():
        raise ValidationFailed({"confirm": [_l("Type the customer's name exactly as shown to confirm.")]})
    still_open = open_work(customer)
    if still_open:
        numbers = ", ".join(still_open[:8]) + (" …" if len(still_open) > 8 else "")
        raise Conflict(_l("%(name)s still has open work (%(numbers)s): finish, cancel or void it first.",
                          name=customer.name, numbers=numbers))
    links = list(customer.portal_users)
    users = [link.user for link in links]
    strings = _personal_strings(customer, users, links)
    addresses = sorted({a.lower() for a in [customer.email, *(u.email for u in users)] if a})
    kept = 0
    for inv in db.session.scalars(select(Invoice).where(Invoice.customer_id == customer.id,
                                                        Invoice.issued_at.is_not(None))):
        if inv.recipient is None:
            block = customer_block(customer)
            inv.recipient = {k: block[k] for k in ("name", "lines", "tax_id")}
        kept += 1
    _erase_people(customer, links)
    files = _erase_records(customer)
    _erase_traces(customer, users, links, strings, addresses)
    now = utcnow()
    customer.name = f"Erased customer {customer_number(customer)}"
    customer.email = customer.phone = customer.tax_id = customer.notes = None
    customer.locked, customer.erased_at = True, now
    if customer.archived_at is None:
        history.archive(customer, actor)
    db.session.flush()
    record(customer, "erase", None, None, actor,
           f"personal data erased: {len(customer.addresses)} address(es), {len(customer.units)} unit(s), "
           f"{len(links)} portal login(s), {files} file(s); {kept} issued invoice(s) kept with the recipient "
           f"as issued for {get_settings().privacy_retention_years} years")
    return customer


def not_erased(customer: Customer) -> bool:
    return customer.erased_at is None
