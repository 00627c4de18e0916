"""Action tables: every action on an entity is a row, and one ``perform`` refuses everything else.

A row says: in these states, this action, by these sides, with these parameters (a marshmallow schema),
leads to that state (or leaves it) and has this effect. Transitions and everything else — notes,
messages, assignments, payments, edits, lines, attachments, report runs — are rows alike. Staff screens,
the portal, the REST API and the scheduler all do the same three things: hand the raw parameters to
``perform``, which parses them with the row's schema, and render what it returns or raises.

``perform`` is the one skeleton every action shares: row scope (404) → state (409) → side (403) →
parameters (422) → version (409) → the new state → the row's effect → audit → hooks → one commit; any
error rolls the whole unit of work back. Effects never commit and never check states or roles.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy.orm.exc import StaleDataError

from ..core.actors import Actor
from ..core.errors import InvalidTransition, PermissionDenied, StaleObject, ValidationFailed, flatten_messages
from ..core.scope import ensure_visible
from ..extensions import db
from .audit import record
from .common import check_version
from .common import commit as commit_work
from .params import Params

CREATE = None  # the "—" of SPEC §3: the record does not exist yet
ANY = "*"  # a row allowed in every state (entities without a workflow state, edits of reference data)


@dataclass(frozen=True)
class Action:
    """One row of an entity's table."""

    sources: tuple[str | None, ...]
    name: str
    by: tuple[str, ...]
    target: str | None = None  # None: the state does not change (notes, edits, clock_off…)
    effect: Callable | None = None  # effect(obj, actor, **params) -> result; never commits
    params: type = Params  # the marshmallow schema of its parameters
    guard: Callable[[object], bool] | None = None
    reason_required: bool = False
    internal: bool = False  # taken only by another action's effect (``move``): no button, no route
    audited: bool = True  # False: the effect writes its own audit line (it has a better summary)

    @property
    def action(self) -> str:
        return self.name

    def allows(self, status) -> bool:
        return ANY in self.sources or status in self.sources

    def load(self, params: dict) -> dict:
        try:
            return self.params().load(params)
        except ValidationError as error:
            errors = flatten_messages(error.messages)
            renamed = getattr(self.params, "error_fields", {})
            raise ValidationFailed({renamed.get(k, k): v for k, v in errors.items()}) from None


@dataclass
class ActionTable:
    entity: str
    rows: list[Action]
    state: Callable[[object], str | None] = field(default=lambda obj: getattr(obj, "status", None))
    known_states: tuple[str, ...] = ()  # states no row names (rows allowed in ANY state)

    def __post_init__(self):
        self.rows = tuple(self.rows)
        for row in self.rows:
            if not isinstance(row.sources, tuple):
                raise TypeError(f"{self.entity} {row.name}: sources must be a tuple of states")
        self._after: dict[str, list[Callable]] = {}

    # --- what the table says --------------------------------------------------------------------------

    @property
    def transitions(self) -> tuple[Action, ...]:
        return self.rows

    @property
    def states(self) -> set[str]:
        found = {r.target for r in self.rows if r.target}
        found |= {s for r in self.rows for s in r.sources if s and s != ANY}
        return found | set(self.known_states)

    @property
    def actions(self) -> set[str]:
        return {r.name for r in self.rows}

    def public_rows(self) -> list[Action]:
        """Rows an adapter may offer (not creation, not internal), first of each name, in table order."""
        seen, rows = set(), []
        for row in self.rows:
            if row.name not in seen and CREATE not in row.sources and not row.internal:
                seen.add(row.name)
                rows.append(row)
        return rows

    def schema(self, action: str) -> type:
        """The parameter schema of ``action`` (no parameters for a name not in the table: ``perform``
        refuses it anyway)."""
        return next((r.params for r in self.rows if r.name == action), Params)

    def find(self, status, action: str, actor: Actor, obj: object = None) -> Action:
        """The row for ``action`` in ``status`` for this actor; 409 naming the state, or 403."""
        candidates = [r for r in self.rows if r.name == action and r.allows(status)]
        candidates = [r for r in candidates if r.guard is None or obj is None or r.guard(obj)]
        if not candidates:
            raise InvalidTransition(self.entity, status or "new", action)
        allowed = [r for r in candidates if actor.may(r.by)]
        if not allowed:
            raise PermissionDenied.for_action(action, self.entity)
        return allowed[0]

    def allowed_actions(self, status, actor: Actor, obj: object = None) -> list[str]:
        """Actions this actor could take now, in table order (the buttons a screen shows)."""
        seen: list[str] = []
        for r in self.rows:
            if (r.allows(status) and CREATE not in r.sources and not r.internal and actor.may(r.by)
                    and (r.guard is None or obj is None or r.guard(obj)) and r.name not in seen):
                seen.append(r.name)
        return seen

    def may(self, obj, action: str, actor: Actor) -> bool:
        return action in self.allowed_actions(self.state(obj), actor, obj)

    def reason_required(self, obj, action: str) -> bool:
        status = self.state(obj)
        return any(r.reason_required for r in self.rows if r.name == action and r.allows(status))

    def after(self, action: str, hook: Callable) -> None:
        """Run ``hook(obj, actor, result)`` inside the unit of work after ``action`` (downstream effects)."""
        self._after.setdefault(action, []).append(hook)

    # --- doing it -------------------------------------------------------------------------------------

    def perform(self, obj, action: str, actor: Actor, params: dict | None = None, *, commit: bool = True):
        """Take ``action`` on ``obj`` as ``actor`` with raw ``params``: the one door of every adapter.

        ``commit=False`` is for an adapter that owns the unit of work (FAB's generated child-row screens
        save the row and its parent's action in one commit); any error still rolls everything back."""
        try:
            ensure_visible(obj, actor)
            row = self.find(self.state(obj), action, actor, obj)
            if row.internal:
                raise InvalidTransition(self.entity, self.state(obj) or "new", action)
            values = row.load(dict(params or {}))
            check_version(obj, values.pop("expected_version", None), self.entity)
            reason = values.get("reason")
            if row.reason_required and not (reason or "").strip():
                raise ValidationFailed({"reason": [_l("A reason is required.")]})
            before = self.state(obj)
            if row.target is not None:
                obj.status = row.target
            result = row.effect(obj, actor, **values) if row.effect else obj
            if row.audited:
                note = reason if reason is not None else values.get("note")
                record(obj, action, before, self.state(obj), actor, note if isinstance(note, str) else None)
            for hook in self._after.get(action, ()):
                hook(obj, actor, result)
            if commit:
                commit_work(self.entity, obj)
            else:
                db.session.flush()
        except StaleDataError:  # a concurrent change of the same row, met at any flush on the way
            db.session.rollback()
            raise StaleObject(self.entity, self.state(obj)) from None
        except Exception:
            db.session.rollback()
            raise
        return result

    def move(self, obj, action: str, actor: Actor, reason: str | None = None) -> Action:
        """A transition taken inside another action's effect (no parameters, no commit): check and audit."""
        before = self.state(obj)
        row = self.find(before, action, actor, obj)
        if row.target is not None:
            obj.status = row.target
        record(obj, action, before, self.state(obj), actor, reason)
        return row

    def enter(self, obj, action: str, actor: Actor, reason: str | None = None) -> Action:
        """A creating row (from "—"): sets the first state and audits it."""
        candidates = [r for r in self.rows if r.name == action and CREATE in r.sources]
        candidates = [r for r in candidates if r.guard is None or r.guard(obj)]
        allowed = [r for r in candidates if actor.may(r.by)]
        if not allowed:
            raise PermissionDenied.for_action(action, self.entity, creating=True)
        obj.status = allowed[0].target
        record(obj, action, None, obj.status, actor, reason)
        return allowed[0]


#: model class -> its table (filled by ``register``), so ``perform`` finds the table of any object.
TABLES: dict[type, ActionTable] = {}


def register(model: type, table: ActionTable) -> ActionTable:
    TABLES[model] = table
    return table


def table_of(obj_or_model) -> ActionTable:
    model = obj_or_model if isinstance(obj_or_model, type) else type(obj_or_model)
    try:
        return TABLES[model]
    except KeyError:
        raise LookupError(f"{model.__name__} has no action table") from None


def perform(obj, action: str, actor: Actor, params: dict | None = None, /, **kwargs):
    """Take ``action`` on ``obj``: the table of ``obj``'s entity decides (see ``ActionTable.perform``)."""
    return table_of(obj).perform(obj, action, actor, {**(params or {}), **kwargs})
