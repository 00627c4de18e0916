"""Estimates: labour lines with parts under them, submission, the customer's decision, disputes and
revisions (SPEC §3, Estimate). Totals and tax are computed here, never typed."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from ..core import formatting
from ..core.actors import Actor
from ..core.errors import ValidationFailed
from ..core.fields import Key
from ..core.settings import get_settings, money, tax_for
from ..extensions import db
from ..models import ZERO, Customer, DisputeNote, Estimate, LabourLine, PartLine, ServiceRequest, Unit, utcnow
from . import estimate_diff, notify, numbering, work_orders
from .audit import record
from .common import commit, edit_fields
from .params import Params, Reason, ReasonRequired, Text
from .workflow import CREATE, Action, ActionTable, perform, register  # noqa: F401 (perform: the one door)


def _link(est: Estimate) -> str:
    return f"/portal/estimates/{est.id}"


def _staff_link(est: Estimate) -> str:
    return f"/estimateview/show/{est.id}"


# ---------------------------------------------------------------- lines and totals
def _decimal(value, field: str, errors: dict, *, positive: bool = False) -> Decimal | None:
    try:
        result = money(value)
    except (ValueError, TypeError):
        errors.setdefault(field, []).append("Enter a number with at most two decimals.")
        return None
    if result < 0 or (positive and result == 0):
        errors.setdefault(field, []).append("Must be more than zero." if positive else "Cannot be negative.")
        return None
    if Decimal(str(value).strip()) != result:
        errors.setdefault(field, []).append("Use at most two decimals.")
        return None
    return result


def build_lines(lines: list[dict]) -> list[LabourLine]:
    """Labour lines (each with its parts) from plain dicts, validated field by field."""
    if not isinstance(lines, list):
        raise ValidationFailed({"labour_lines": [_l("Give a list of labour lines.")]})
    errors: dict[str, list[str]] = {}
    built = []
    for i, data in enumerate(lines):
        prefix = f"labour_lines.{i}"
        if not isinstance(data, dict):
            errors[prefix] = [_l("Each labour line is an object.")]
            continue
        description = (data.get("description") or "").strip()
        if not description:
            errors[f"{prefix}.description"] = [_l("Describe the work.")]
        hours = _decimal(data.get("hours"), f"{prefix}.hours", errors)
        rate = _decimal(data.get("rate"), f"{prefix}.rate", errors)
        line = LabourLine(position=i, description=description[:255], hours=hours, rate=rate)
        parts = data.get("parts") or []
        if not isinstance(parts, list):
            errors[f"{prefix}.parts"] = [_l("Give a list of parts.")]
            parts = []
        for j, part in enumerate(parts):
            pprefix = f"{prefix}.parts.{j}"
            if not isinstance(part, dict):
                errors[pprefix] = [_l("Each part is an object.")]
                continue
            pdesc = (part.get("description") or "").strip()
            if not pdesc:
                errors[f"{pprefix}.description"] = [_l("Describe the part.")]
            quantity = _decimal(part.get("quantity"), f"{pprefix}.quantity", errors, positive=True)
            price = _decimal(part.get("unit_price"), f"{pprefix}.unit_price", errors)
            line.parts.append(PartLine(position=j, part_number=(part.get("part_number") or "").strip()[:80] or None,
                                       description=pdesc[:255], quantity=quantity, unit_price=price))
        built.append(line)
    if errors:
        raise ValidationFailed(errors)
    return built


def recompute(est: Estimate) -> None:
    """Subtotal, tax and total from the lines, at the estimate's tax rate."""
    subtotal = ZERO
    for line in est.labour_lines:
        subtotal += line.amount
        for part in line.parts:
            subtotal += part.amount
    est.subtotal = subtotal
    est.tax = tax_for(subtotal, est.tax_rate or ZERO)
    est.total = est.subtotal + est.tax


def set_lines(est: Estimate, actor: Actor, labour_lines: list[dict]) -> Estimate:
    """Replace a draft's lines (the ``edit`` action with ``labour_lines``: the builder, the API)."""
    built = build_lines(labour_lines)
    before = estimate_diff.snapshot(est)
    est.labour_lines.clear()
    db.session.flush()
    est.labour_lines.extend(built)
    recompute(est)
    change = estimate_diff.diff(before, est)
    if change.changed:
        est.updated_at = utcnow()  # the row changes even when only the lines do: its version moves on
        record(est, "edit lines", est.status, est.status, actor, estimate_diff.summary(change))
    return est


# ---------------------------------------------------------------- creation
def _validate_links(est: Estimate) -> None:
    errors = {}
    if db.session.get(Customer, est.customer_id) is None:
        errors["customer"] = [_l("Choose the customer.")]
    if est.service_request_id is not None:
        req = db.session.get(ServiceRequest, est.service_request_id)
        if req is None or req.customer_id != est.customer_id:
            errors["service_request"] = [_l("Choose one of the customer's requests.")]
    if est.unit_id is not None:
        unit = db.session.get(Unit, est.unit_id)
        if unit is None or unit.customer_id != est.customer_id:
            errors["unit"] = [_l("Choose one of the customer's units.")]
    if errors:
        raise ValidationFailed(errors)


def prepare_new(est: Estimate, actor: Actor) -> Estimate:
    """Validate, number, enter ``draft`` and audit a new estimate (FAB ``pre_add`` and ``create``)."""
    for rel in ("customer", "service_request", "unit"):
        obj = getattr(est, rel)
        if obj is not None and getattr(est, f"{rel}_id") is None:
            setattr(est, f"{rel}_id", obj.id)
    if est.customer_id is None and est.service_request_id is not None:
        req = db.session.get(ServiceRequest, est.service_request_id)
        est.customer_id = req.customer_id if req else None
    if est.customer_id is None:
        raise ValidationFailed({"customer": [_l("Choose the customer.")]})
    _validate_links(est)
    est.revision = est.revision or 1
    est.tax_rate = get_settings().tax_rate
    est.created_by_id = est.created_by_id or actor.user_id
    numbering.assign(est)
    db.session.add(est)
    recompute(est)
    TABLE.enter(est, "create", actor)
    return est


def new_draft(actor: Actor, *, customer_id: int, service_request_id=None, unit_id=None, labour_lines=None,
              note=None) -> Estimate:
    """A draft inside the caller's transaction (the request's "estimate" action uses it)."""
    est = Estimate(customer_id=customer_id, service_request_id=service_request_id, unit_id=unit_id, note=note)
    if labour_lines:
        est.labour_lines.extend(build_lines(labour_lines))
    return prepare_new(est, actor)


def create(actor: Actor, *, customer_id=None, service_request_id=None, unit_id=None, labour_lines=None,
           note=None) -> Estimate:
    est = new_draft(actor, customer_id=customer_id, service_request_id=service_request_id, unit_id=unit_id,
                    labour_lines=labour_lines, note=note)
    commit("estimate", est)
    return est


# ---------------------------------------------------------------- actions
def submit(est: Estimate, actor: Actor):
    if not est.labour_lines:
        raise ValidationFailed({"labour_lines": [_l("Add at least one labour line before sending the estimate.")]})
    recompute(est)
    est.sent_at = utcnow()
    notify.to_customer(est.customer, "estimate.sent",
                       _l("Estimate %(number)s is ready for you", number=est.display_number),
                       _l("Total %(total)s. Approve, decline or dispute it in the portal.",
                          total=LazyString(formatting.money, est.total)),
                       link=_link(est), group="estimates")
    return est


def approve(est: Estimate, actor: Actor, lines=None, reason: str | None = None):
    """The customer approves all labour lines, or only ``lines`` (ids, each with its parts) and declines the
    others with ``reason`` (SPEC §8). The work order gets the approved lines only; the declined ones stay on
    the estimate, marked, and the shop can offer them again in a revision (``offer_again``)."""
    known = {line.id: line for line in est.labour_lines}
    if lines is None:
        chosen = set(known)
    else:
        chosen = set(lines)
        unknown = sorted(chosen - set(known))
        if unknown:
            raise ValidationFailed({"lines": [_l("Not a labour line of this estimate: %(ids)s.",
                                                 ids=", ".join(map(str, unknown)))]})
    declined = [line for ident, line in known.items() if ident not in chosen]
    reason = (reason or "").strip()
    if declined and not reason:
        raise ValidationFailed({"reason": [_l("Say why you decline the lines you did not approve.")]})
    for ident, line in known.items():
        line.decision = "approved" if ident in chosen else "declined"
        line.decline_reason = None if ident in chosen else reason
    est.decided_at = utcnow()
    order = work_orders.from_estimate(est, actor)
    summary = approval_summary(est)
    title = (_l("%(number)s approved: work order %(order)s", number=est.display_number, order=order.number)
             if not declined else
             _l("%(number)s approved %(approved)s of %(lines)s lines: work order %(order)s",
                number=est.display_number, approved=summary["approved"], lines=summary["lines"], order=order.number))
    notify.to_staff("estimate.approved", title, reason if declined else "", link=_staff_link(est),
                    customer_id=est.customer_id)
    return order


def approval_summary(est: Estimate) -> dict:
    """"approved 3 of 5 lines, 412.00 of 690.00" (``Estimate.approval``)."""
    return est.approval


def offer_again(est: Estimate, actor: Actor) -> Estimate:
    """The lines the customer declined, offered again: revision n+1 as a draft holding only those lines
    (the approved ones are in the work order already). The approved revision stays approved."""
    return _revision(est, actor, [line for line in est.labour_lines if line.decision == "declined"])


def has_declined_lines(est: Estimate) -> bool:
    return any(line.decision == "declined" for line in est.labour_lines) and est.next_revision is None


def decline(est: Estimate, actor: Actor, reason: str):
    est.decline_reason = reason.strip()
    est.decided_at = utcnow()
    notify.to_staff("estimate.declined", _l("%(number)s declined", number=est.display_number), est.decline_reason,
                    link=_staff_link(est), customer_id=est.customer_id)
    return est


def _find_line(est: Estimate, kind: str, ident):
    lines = est.labour_lines if kind == "labour" else est.part_lines if kind == "part" else None
    if lines is None:
        return None
    return next((line for line in lines if str(line.id) == str(ident)), None)


def dispute(est: Estimate, actor: Actor, lines, note=None):
    """Dispute one or more lines, each with the customer's note."""
    errors, chosen = {}, []
    for i, item in enumerate(lines):
        line = _find_line(est, item.get("kind"), item.get("id"))
        if line is None:
            errors[f"lines.{i}"] = [_l("Choose a labour or part line of this estimate.")]
            continue
        text = (item.get("note") or "").strip()
        if not text:
            errors[f"lines.{i}.note"] = [_l("Say what is wrong with this line.")]
        chosen.append((item["kind"], line, text))
    if errors:
        raise ValidationFailed(errors)
    est.acknowledged_at = None
    if note and note.strip():
        db.session.add(DisputeNote(estimate_number=est.number, estimate_id=est.id, side="customer",
                                   author_id=actor.user_id, text=note.strip()))
    for kind, line, text in chosen:
        line.disputed, line.dispute_note = True, text
        db.session.add(DisputeNote(estimate_number=est.number, estimate_id=est.id, side="customer",
                                   author_id=actor.user_id, text=text, line_ref=f"{kind}:{line.id}"))
    notify.to_staff("estimate.disputed", _l("%(number)s disputed (%(count)s line(s))",
                                            number=est.display_number, count=len(chosen)), note or "",
                    link=_staff_link(est), customer_id=est.customer_id)
    return est


def acknowledge(est: Estimate, actor: Actor):
    est.acknowledged_at = utcnow()
    notify.to_customer(est.customer, "estimate.acknowledged", _l("We are looking at your dispute of %(number)s",
                                                                 number=est.display_number),
                       link=_link(est), group="estimates")
    return est


def add_note(est: Estimate, actor: Actor, text: str) -> DisputeNote:
    """A note in the dispute log (either side); the log spans every revision of the estimate."""
    text = text.strip()
    side = "customer" if actor.is_customer else "staff"
    note = DisputeNote(estimate_number=est.number, estimate_id=est.id, side=side, author_id=actor.user_id, text=text)
    db.session.add(note)
    if side == "customer":
        notify.to_staff("estimate.note", _l("Note on %(number)s", number=est.display_number), text,
                        link=_staff_link(est),
                        customer_id=est.customer_id)
    else:
        notify.to_customer(est.customer, "estimate.note", _l("A note on estimate %(number)s",
                                                                         number=est.display_number), text,
                           link=_link(est), group="estimates")
    return note


def revise(est: Estimate, actor: Actor) -> Estimate:
    """Copy into revision n+1 as a draft; the old revision becomes ``superseded``."""
    return _revision(est, actor, est.labour_lines)


def _revision(est: Estimate, actor: Actor, lines) -> Estimate:
    copy = Estimate(number=est.number, revision=est.revision + 1, customer_id=est.customer_id,
                    service_request_id=est.service_request_id, unit_id=est.unit_id, previous_id=est.id,
                    note=est.note)
    for line in lines:
        new_line = LabourLine(position=line.position, description=line.description, hours=line.hours,
                              rate=line.rate)
        for part in line.parts:
            new_line.parts.append(PartLine(position=part.position, part_number=part.part_number,
                                           description=part.description, quantity=part.quantity,
                                           unit_price=part.unit_price))
        copy.labour_lines.append(new_line)
    return prepare_new(copy, actor)


def cancel(est: Estimate, actor: Actor, reason=None):
    if est.sent_at:
        notify.to_customer(est.customer, "estimate.cancelled", _l("Estimate %(number)s was withdrawn",
                                                                              number=est.display_number),
                           reason or "", link=_link(est), group="estimates")
    return est


_CHOOSE_LINES = "Choose at least one line to dispute."
_APPROVE_LINES = _l("Approve at least one line, or decline the estimate.")


class Approval(Params):
    lines = fields.List(Key(), allow_none=True, validate=[validate.Length(min=1, error=_APPROVE_LINES),
                                                          validate.Length(max=200)],
                        metadata={"description": "The labour line ids approved (with their parts); the others are "
                                                 "declined with the reason. Omitted: all lines."})
    reason = fields.String(allow_none=True, validate=validate.Length(max=5000),
                           metadata={"description": "Why the other lines are declined (required when some are)."})


class Dispute(Params):
    note = fields.String(allow_none=True, validate=validate.Length(max=5000))
    lines = fields.List(fields.Dict(), required=True,
                        validate=[validate.Length(min=1, error=_CHOOSE_LINES), validate.Length(max=200)],
                        error_messages={"required": _CHOOSE_LINES, "null": _CHOOSE_LINES},
                        metadata={"description": 'Each {"kind": "labour"|"part", "id", "note"}.'})


class EstimateEdit(Params):
    unit = Key(attribute="unit_id", allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=10000),
                         metadata={"description": "Shown to the customer."})
    labour_lines = fields.List(fields.Dict(), validate=validate.Length(max=200),
                               metadata={"description": "Replaces every line of the draft."})


def edit(est: Estimate, actor: Actor, labour_lines=None, **changes):
    edit_fields(est, actor, **changes)
    _validate_links(est)
    if labour_lines is not None:
        set_lines(est, actor, labour_lines)
    return est


#: A note in the dispute log: the customer while the estimate awaits them or after a decision they may
#: argue; the shop also on the draft of the next revision.
CUSTOMER_NOTE_STATES = ("sent", "disputed", "declined")

TABLE = register(Estimate, ActionTable("estimate", [
    Action((CREATE,), "create", ("staff",), "draft"),
    Action(("draft",), "submit", ("staff",), "sent", submit),
    Action(("sent",), "approve", ("customer",), "approved", approve, Approval),
    Action(("sent",), "decline", ("customer",), "declined", decline, ReasonRequired, reason_required=True),
    Action(("sent",), "dispute", ("customer",), "disputed", dispute, Dispute),
    Action(("disputed",), "acknowledge", ("staff",), "disputed", acknowledge),
    Action(("disputed", "declined"), "revise", ("staff",), "superseded", revise),
    Action(("approved",), "offer_again", ("staff",), None, offer_again, guard=has_declined_lines),
    Action(("draft", "sent", "disputed"), "cancel", ("staff",), "cancelled", cancel, Reason),
    Action(CUSTOMER_NOTE_STATES, "notes", ("customer", "staff"), None, add_note, Text),
    Action(("draft",), "notes", ("staff",), None, add_note, Text),
    Action(("draft",), "edit", ("staff",), None, edit, EstimateEdit, audited=False),
]))
