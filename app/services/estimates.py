"""Estimates: labour lines with parts under them, submission, the customer's decision, disputes and
revisions (SPEC §3, Estimate). Totals and tax are computed here, never typed."""
from __future__ import annotations

from decimal import Decimal

from ..core.actors import Actor
from ..core.errors import ValidationFailed
from ..core.settings import get_settings, money, tax_for
from ..extensions import db
from ..models import ZERO, Customer, DisputeNote, Estimate, LabourLine, PartLine, ServiceRequest, Unit, utcnow
from . import estimate_diff, notify, numbering
from .audit import record
from .common import check_version, commit, dispatch, require_text
from .workflow import CREATE, StateMachine, Transition

MACHINE = StateMachine("estimate", [
    Transition((CREATE,), "create", ("staff",), "draft"),
    Transition(("draft",), "submit", ("staff",), "sent"),
    Transition(("sent",), "approve", ("customer",), "approved"),
    Transition(("sent",), "decline", ("customer",), "declined", reason_required=True),
    Transition(("sent",), "dispute", ("customer",), "disputed"),
    Transition(("disputed",), "acknowledge", ("staff",), "disputed"),
    Transition(("disputed", "declined"), "revise", ("staff",), "superseded"),
    Transition(("draft", "sent", "disputed"), "cancel", ("staff",), "cancelled"),
])


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
        raise ValidationFailed({"labour_lines": ["Give a list of labour lines."]})
    errors: dict[str, list[str]] = {}
    built = []
    for i, data in enumerate(lines):
        prefix = f"labour_lines.{i}"
        if not isinstance(data, dict):
            errors[prefix] = ["Each labour line is an object."]
            continue
        description = (data.get("description") or "").strip()
        if not description:
            errors[f"{prefix}.description"] = ["Describe the work."]
        hours = _decimal(data.get("hours"), f"{prefix}.hours", errors)
        rate = _decimal(data.get("rate"), f"{prefix}.rate", errors)
        line = LabourLine(position=i, description=description[:255], hours=hours, rate=rate)
        parts = data.get("parts") or []
        if not isinstance(parts, list):
            errors[f"{prefix}.parts"] = ["Give a list of parts."]
            parts = []
        for j, part in enumerate(parts):
            pprefix = f"{prefix}.parts.{j}"
            if not isinstance(part, dict):
                errors[pprefix] = ["Each part is an object."]
                continue
            pdesc = (part.get("description") or "").strip()
            if not pdesc:
                errors[f"{pprefix}.description"] = ["Describe the part."]
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


def set_lines(est: Estimate, actor: Actor, lines: list[dict], expected_version=None) -> Estimate:
    """Replace a draft's lines (the estimate builder saves through here)."""
    check_version(est, expected_version, "estimate")
    if est.status != "draft":
        from ..core.errors import InvalidTransition

        raise InvalidTransition("estimate", est.status, "edit")
    built = build_lines(lines)
    before = estimate_diff.snapshot(est)
    est.labour_lines.clear()
    db.session.flush()
    est.labour_lines.extend(built)
    recompute(est)
    change = estimate_diff.diff(before, est)
    if change.changed:
        est.updated_at = utcnow()  # the row changes even when only the lines do: its version moves on
        record(est, "edit lines", est.status, est.status, actor, estimate_diff.summary(change))
    commit("estimate", est)
    return est


# ---------------------------------------------------------------- creation
def _validate_links(est: Estimate) -> None:
    errors = {}
    if db.session.get(Customer, est.customer_id) is None:
        errors["customer"] = ["Choose the customer."]
    if est.service_request_id is not None:
        req = db.session.get(ServiceRequest, est.service_request_id)
        if req is None or req.customer_id != est.customer_id:
            errors["service_request"] = ["Choose one of the customer's requests."]
    if est.unit_id is not None:
        unit = db.session.get(Unit, est.unit_id)
        if unit is None or unit.customer_id != est.customer_id:
            errors["unit"] = ["Choose one of the customer's units."]
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
        raise ValidationFailed({"customer": ["Choose the customer."]})
    _validate_links(est)
    est.revision = est.revision or 1
    est.tax_rate = get_settings().tax_rate
    est.created_by_id = est.created_by_id or actor.user_id
    numbering.assign(est)
    db.session.add(est)
    recompute(est)
    MACHINE.enter(est, "create", actor)
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


# ---------------------------------------------------------------- transitions
def submit(est: Estimate, actor: Actor, expected_version=None, **_ignored):
    check_version(est, expected_version, "estimate")
    MACHINE.find(est.status, "submit", actor, est)
    if not est.labour_lines:
        raise ValidationFailed({"labour_lines": ["Add at least one labour line before sending the estimate."]})
    recompute(est)
    MACHINE.apply(est, "submit", actor)
    est.sent_at = utcnow()
    notify.to_customer(est.customer, "estimate.sent", f"Estimate {est.display_number} is ready for you",
                       f"Total {est.total} {get_settings().currency}. Approve, decline or dispute it in the portal.",
                       link=_link(est), group="estimates")
    commit("estimate", est)
    return est


def approve(est: Estimate, actor: Actor, expected_version=None, **_ignored):
    """The customer approves: the work order is created from the labour and part lines."""
    from . import requests, work_orders

    check_version(est, expected_version, "estimate")
    MACHINE.apply(est, "approve", actor)
    est.decided_at = utcnow()
    order = work_orders.from_estimate(est, actor)
    if est.service_request is not None:
        requests.resolve_by_estimate(est.service_request, actor)
    notify.to_staff("estimate.approved", f"{est.display_number} approved: work order {order.number}",
                    link=_staff_link(est), customer_id=est.customer_id)
    commit("estimate", est)
    return order


def decline(est: Estimate, actor: Actor, reason=None, expected_version=None, **_ignored):
    check_version(est, expected_version, "estimate")
    MACHINE.apply(est, "decline", actor, reason=reason)
    est.decline_reason = reason.strip()
    est.decided_at = utcnow()
    notify.to_staff("estimate.declined", f"{est.display_number} declined", est.decline_reason,
                    link=_staff_link(est), customer_id=est.customer_id)
    commit("estimate", est)
    return est


def _find_line(est: Estimate, kind: str, ident):
    lines = est.labour_lines if kind == "labour" else est.part_lines if kind == "part" else None
    if lines is None:
        return None
    return next((line for line in lines if str(line.id) == str(ident)), None)


def dispute(est: Estimate, actor: Actor, lines=None, note=None, expected_version=None, **_ignored):
    """Dispute one or more lines, each with the customer's note."""
    check_version(est, expected_version, "estimate")
    MACHINE.find(est.status, "dispute", actor, est)
    if not lines or not isinstance(lines, list):
        raise ValidationFailed({"lines": ["Choose at least one line to dispute."]})
    errors, chosen = {}, []
    for i, item in enumerate(lines):
        item = item if isinstance(item, dict) else {}
        line = _find_line(est, item.get("kind"), item.get("id"))
        if line is None:
            errors[f"lines.{i}"] = ["Choose a labour or part line of this estimate."]
            continue
        text = (item.get("note") or "").strip()
        if not text:
            errors[f"lines.{i}.note"] = ["Say what is wrong with this line."]
        chosen.append((item["kind"], line, text))
    if errors:
        raise ValidationFailed(errors)
    MACHINE.apply(est, "dispute", actor, reason=note)
    est.acknowledged_at = None
    side = "customer"
    if note and note.strip():
        db.session.add(DisputeNote(estimate_number=est.number, estimate_id=est.id, side=side,
                                   author_id=actor.user_id, text=note.strip()))
    for kind, line, text in chosen:
        line.disputed, line.dispute_note = True, text
        db.session.add(DisputeNote(estimate_number=est.number, estimate_id=est.id, side=side,
                                   author_id=actor.user_id, text=text, line_ref=f"{kind}:{line.id}"))
    notify.to_staff("estimate.disputed", f"{est.display_number} disputed ({len(chosen)} line(s))", note or "",
                    link=_staff_link(est), customer_id=est.customer_id)
    commit("estimate", est)
    return est


def acknowledge(est: Estimate, actor: Actor, expected_version=None, **_ignored):
    check_version(est, expected_version, "estimate")
    MACHINE.apply(est, "acknowledge", actor)
    est.acknowledged_at = utcnow()
    notify.to_customer(est.customer, "estimate.acknowledged", f"We are looking at your dispute of {est.display_number}",
                       link=_link(est), group="estimates")
    commit("estimate", est)
    return est


def add_note(est: Estimate, actor: Actor, text=None, **_ignored) -> DisputeNote:
    """A note in the dispute log (either side); the log spans every revision of the estimate."""
    text = require_text(text, "text", "Write the note.")
    side = "customer" if actor.is_customer else "staff"
    if actor.is_customer:
        from ..core.scope import ensure_owner

        ensure_owner(est, actor)
    note = DisputeNote(estimate_number=est.number, estimate_id=est.id, side=side, author_id=actor.user_id, text=text)
    db.session.add(note)
    if side == "customer":
        notify.to_staff("estimate.note", f"Note on {est.display_number}", text, link=_staff_link(est),
                        customer_id=est.customer_id)
    else:
        notify.to_customer(est.customer, "estimate.note", f"A note on estimate {est.display_number}", text,
                           link=_link(est), group="estimates")
    commit("estimate", est)
    return note



def revise(est: Estimate, actor: Actor, expected_version=None, **_ignored) -> Estimate:
    """Copy into revision n+1 as a draft; the old revision becomes ``superseded``."""
    check_version(est, expected_version, "estimate")
    MACHINE.apply(est, "revise", actor)
    copy = Estimate(number=est.number, revision=est.revision + 1, customer_id=est.customer_id,
                    service_request_id=est.service_request_id, unit_id=est.unit_id, previous_id=est.id,
                    note=est.note)
    for line in est.labour_lines:
        new_line = LabourLine(position=line.position, description=line.description, hours=line.hours,
                              rate=line.rate)
        for part in line.parts:
            new_line.parts.append(PartLine(position=part.position, part_number=part.part_number,
                                           description=part.description, quantity=part.quantity,
                                           unit_price=part.unit_price))
        copy.labour_lines.append(new_line)
    prepare_new(copy, actor)
    commit("estimate", est)
    return copy


def cancel(est: Estimate, actor: Actor, reason=None, expected_version=None, **_ignored):
    check_version(est, expected_version, "estimate")
    MACHINE.apply(est, "cancel", actor, reason=reason)
    if est.sent_at:
        notify.to_customer(est.customer, "estimate.cancelled", f"Estimate {est.display_number} was withdrawn",
                           reason or "", link=_link(est), group="estimates")
    commit("estimate", est)
    return est


ACTIONS = {
    "submit": submit,
    "approve": approve,
    "decline": decline,
    "dispute": dispute,
    "acknowledge": acknowledge,
    "notes": add_note,
    "revise": revise,
    "cancel": cancel,
}


def perform(est: Estimate, action: str, actor: Actor, **params):
    return dispatch(ACTIONS, est, action, actor, MACHINE, **params)
