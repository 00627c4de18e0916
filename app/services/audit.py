"""The audit trail: one ``AuditEvent`` per transition and per notable change."""
from __future__ import annotations

from sqlalchemy import inspect, select

from ..core.actors import Actor
from ..extensions import db
from ..models import AuditEvent


def entity_type(obj) -> str:
    return obj.__tablename__


def record(obj, action: str, from_status: str | None, to_status: str | None, actor: Actor,
           reason: str | None = None) -> AuditEvent:
    """Add an audit row for ``obj``. It is flushed so the row has its id; the caller commits."""
    if obj.id is None:
        db.session.flush()
    event = AuditEvent(
        entity_type=entity_type(obj),
        entity_id=obj.id,
        entity_number=getattr(obj, "display_number", None) or getattr(obj, "number", None),
        action=action,
        from_status=from_status,
        to_status=to_status,
        reason=(reason or None),
        actor_id=actor.user_id,
        actor_label=actor.label,
        customer_id=getattr(obj, "customer_id", None),
    )
    db.session.add(event)
    return event


#: Columns whose values are not worth an audit line (bookkeeping, secrets).
QUIET_COLUMNS = {"updated_at", "version", "logo", "password"}


def _shown(value) -> str:
    if value is None or value == "":
        return "—"
    text = str(value)
    return repr(text[:77] + "…" if len(text) > 80 else text)


def record_edit(obj, actor: Actor) -> AuditEvent | None:
    """An "edit" line with each changed field of ``obj``, old → new (call before the flush that saves it):
    ``changed subject: 'Fridge' → 'Fridge too warm', unit_id: 3 → 4``."""
    state = inspect(obj)
    changes = []
    for attr in sorted(state.mapper.column_attrs, key=lambda a: a.key):
        if attr.key in QUIET_COLUMNS:
            continue
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old != new:
            changes.append(f"{attr.key}: {_shown(old)} → {_shown(new)}")
    if not changes:
        return None
    status = getattr(obj, "status", None)
    return record(obj, "edit", status, status, actor, "changed " + ", ".join(changes))


def history(obj) -> list[AuditEvent]:
    """The record's history, oldest first."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == entity_type(obj), AuditEvent.entity_id == obj.id)
            .order_by(AuditEvent.created_at, AuditEvent.id)
        )
    )
