"""What the boards share (booking board, service board, the technician's day).

A card action posts one small form; the view calls the service's ``perform``. When the service refuses,
the board is rendered again right away (no redirect), with the message at the card and at the field and
every value the user typed back in its input: ``CardFailure`` carries that. Times typed in forms are
shop-local (``datetime-local``); the day boundaries of "today" are the shop's, stored as UTC.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from ..core.errors import ServiceError, ValidationFailed
from ..core.fields import in_calendar
from ..core.settings import shop_today, to_utc
from ..extensions import db
from ..models import utcnow
from ..services.workflow import perform
from .workflow import action_label, form_params

log = logging.getLogger(__name__)

#: How many cards a column shows per page.
COLUMN_LIMIT = 25


@dataclass
class CardFailure:
    """A refused card action: which card and action, the message, field errors and what was typed."""

    pk: int
    action: str
    message: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)

    def at(self, pk, action: str | None = None) -> bool:
        return self.pk == pk and (action is None or self.action == action)

    def field_error(self, name: str) -> str:
        return " ".join(str(m) for m in self.errors.get(name, []))

    @classmethod
    def from_error(cls, error: ServiceError, pk: int, action: str, typed: dict[str, str]) -> CardFailure:
        errors = dict(error.errors) if isinstance(error, ValidationFailed) else {}
        return cls(pk=pk, action=action, message=error.message, errors=errors, typed=typed)


def run_card_action(render, pk: int, action: str, typed: dict[str, str], call):
    """``(result, None)`` when ``call()`` succeeds, else ``(None, response)``: the board rendered again by
    ``render(failure)`` with the message at the card, what was typed kept, and the error's status code."""
    try:
        return call(), None
    except ServiceError as error:
        db.session.rollback()
        return None, (render(CardFailure.from_error(error, pk, action, typed)), error.status_code)
    except SQLAlchemyError:  # a constraint another request won first: tell the user, no 500
        db.session.rollback()
        log.exception("board action %s on %s failed", action, pk)
        message = _("%(action)s could not be saved. Reload the board and try again.", action=action_label(action))
        return None, (render(CardFailure(pk, action, message, typed=typed)), 409)


def typed_values(*names: str) -> dict[str, str]:
    """The raw form values, to put back into the inputs when the action is refused."""
    return {name: request.form.get(name, "") for name in names}


def local_today() -> dt.date:
    return shop_today()


def day_bounds(day: dt.date, days: int = 1) -> tuple[dt.datetime, dt.datetime]:
    """The shop-local day(s) starting at ``day`` as a naive-UTC half-open range."""
    start = dt.datetime.combine(day, dt.time())
    return to_utc(start), to_utc(start + dt.timedelta(days=days))


def parse_day(raw: str | None) -> dt.date | None:
    try:
        day = dt.date.fromisoformat((raw or "").strip()) if raw else None
    except ValueError:
        return None
    return day if in_calendar(day) else None  # the calendar's ends are no filter a shop means


def parse_id(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None


def age(since: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """``45 min``, ``5 h``, ``2 d 3 h`` since a naive-UTC time (German: ``45 Min.``, ``5 Std.``, ``2 Tg. 3 Std.``)."""
    if since is None:
        return ""
    minutes = max(0, int(((now or utcnow()) - since).total_seconds() // 60))
    if minutes < 60:
        return _("%(minutes)s min", minutes=minutes)
    hours = minutes // 60
    if hours < 24:
        return _("%(hours)s h", hours=hours)
    if hours % 24:
        return _("%(days)s d %(hours)s h", days=hours // 24, hours=hours % 24)
    return _("%(days)s d", days=hours // 24)


def board_url(endpoint: str, anchor: str | None = None, **overrides) -> str:
    """The board with the current filters (query string), e.g. to go back after an action."""
    args = {k: v for k, v in request.args.items() if v != ""}
    args.update({k: v for k, v in overrides.items() if v is not None})
    url = url_for(endpoint, **args)
    return f"{url}#{anchor}" if anchor else url


def attachments_downloadable() -> bool:
    """Does the ownership-checked staff download ``/attachments/<id>`` exist (uploads helper)?"""
    from flask import current_app

    return any(rule.rule.startswith("/attachments/<") for rule in current_app.url_map.iter_rules())


class BoardView(BaseView):
    """A board of cards (booking board, service board): ``index`` renders it, ``act`` runs one card action
    through the service (``perform``) and re-renders the board with a refusal at the card.

    Subclasses set ``model``, ``board_name``, ``card_actions``, ``typed_fields`` and ``service`` (the
    workflow module), and write ``_render`` and ``_after(obj, number, action, result)``; the posted fields
    are those of the action's parameter schema (``form_params``).
    """

    method_permission_name = {"index": "list", "act": "transition"}
    default_view = "index"
    model = None
    board_name = "board"
    card_actions: tuple[str, ...] = ()
    typed_fields: tuple[str, ...] = ()
    service = None

    @expose("/")
    @has_access
    def index(self):
        return self._render()

    @expose("/<int:pk>/<action>", methods=["POST"])
    @has_access
    def act(self, pk: int, action: str):
        from ..core.scope import current_actor

        obj = db.session.get(self.model, pk)
        if obj is None:
            abort(404)
        if action not in self.card_actions:
            flash(_("%(action)s is not available on the %(board)s.", action=action_label(action),
                    board=self.board_name), "danger")
            return redirect(board_url(f"{self.endpoint}.index", anchor=f"card-{pk}"))
        number, before = obj.number, getattr(obj, "status", None)
        result, refused = run_card_action(
            self._render, pk, action, typed_values(*self.typed_fields),
            lambda: perform(obj, action, current_actor(), form_params(self.service.TABLE.schema(action))))
        if refused:
            return refused
        return self._after(obj, number, action, result, before)
