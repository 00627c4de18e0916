"""State machines as data: one transition table per entity and one ``apply`` that refuses the rest.

A table row says: from these states, this action, by these sides, leads to that state. Anything not in
the table is refused — deny by default. ``apply`` writes the audit row; the calling service does the
entity's own effects (numbers, lines, notifications) and commits once.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..core.actors import Actor
from ..core.errors import InvalidTransition, PermissionDenied, ValidationFailed
from ..core.scope import ensure_owner
from .audit import record

CREATE = None  # the "—" of SPEC §3: the record does not exist yet


@dataclass(frozen=True)
class Transition:
    sources: tuple[str | None, ...]
    action: str
    by: tuple[str, ...]
    target: str | None  # None: the state does not change (e.g. clock_off)
    guard: Callable[[object], bool] | None = None
    reason_required: bool = False


class StateMachine:
    def __init__(self, entity: str, transitions: list[Transition]):
        self.entity = entity
        self.transitions = tuple(transitions)

    @property
    def states(self) -> set[str]:
        found = {t.target for t in self.transitions if t.target}
        found |= {s for t in self.transitions for s in t.sources if s}
        return found

    @property
    def actions(self) -> set[str]:
        return {t.action for t in self.transitions}

    def find(self, status: str | None, action: str, actor: Actor, obj: object = None) -> Transition:
        """The transition for ``action`` from ``status``; refused with the current state otherwise."""
        candidates = [t for t in self.transitions if t.action == action and status in t.sources]
        candidates = [t for t in candidates if t.guard is None or obj is None or t.guard(obj)]
        if not candidates:
            raise InvalidTransition(self.entity, status or "new", action)
        allowed = [t for t in candidates if actor.may(t.by)]
        if not allowed:
            raise PermissionDenied(f"Your role may not {action.replace('_', ' ')} this {self.entity}.")
        return allowed[0]

    def allowed_actions(self, status: str, actor: Actor, obj: object = None) -> list[str]:
        """Actions this actor could take now, in table order (for buttons)."""
        seen: list[str] = []
        for t in self.transitions:
            if status in t.sources and actor.may(t.by) and (t.guard is None or obj is None or t.guard(obj)):
                if t.action not in seen:
                    seen.append(t.action)
        return seen

    def apply(self, obj, action: str, actor: Actor, reason: str | None = None) -> Transition:
        """Check, change ``obj.status`` and audit. The caller commits."""
        ensure_owner(obj, actor)
        current = getattr(obj, "status", None)
        transition = self.find(current, action, actor, obj)
        if transition.reason_required and not (reason or "").strip():
            raise ValidationFailed({"reason": ["A reason is required."]})
        if transition.target is not None:
            obj.status = transition.target
        record(obj, action, current, obj.status, actor, reason)
        return transition

    def enter(self, obj, action: str, actor: Actor, reason: str | None = None) -> Transition:
        """A creating transition (from "—"): sets the first state and audits it."""
        candidates = [t for t in self.transitions if t.action == action and CREATE in t.sources]
        candidates = [t for t in candidates if t.guard is None or t.guard(obj)]
        allowed = [t for t in candidates if actor.may(t.by)]
        if not allowed:
            raise PermissionDenied(f"Your role may not {action.replace('_', ' ')} a {self.entity}.")
        obj.status = allowed[0].target
        record(obj, action, None, obj.status, actor, reason)
        return allowed[0]
