"""Dispute review (``DisputeReview``, Service desk → Dispute review): the estimates customers dispute.

The list shows every disputed estimate, the longest waiting first, acknowledged or not, and below it the
revisions made in answer to a dispute that are not sent yet. One estimate's page shows its lines with the
disputed ones highlighted and the customer's note at each, the dispute log of every revision (both sides,
time-stamped), and the actions: acknowledge, add a note, revise (a new draft revision; this one becomes
superseded). On a revision it shows what changed since the previous revision, line by line and in the
totals (``services.estimate_diff``), with the way into the estimate builder and *Resubmit*.

Every action goes through ``services.estimates.perform`` with the version the page was opened on.
"""
from __future__ import annotations

import logging

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from ..core.errors import ServiceError, ValidationFailed
from ..core.scope import current_actor
from ..extensions import db
from ..models import AuditEvent, DisputeNote, Estimate, LabourLine, PartLine, dispute_log
from ..services import estimate_diff, estimates

log = logging.getLogger(__name__)
PERMISSION = "DisputeReview"
ACTIONS = {"acknowledge": "Acknowledge", "notes": "Add note", "revise": "Revise", "submit": "Resubmit"}
LIST_LIMIT = 200


def _disputed_at():
    """When the estimate was last disputed (its latest "dispute" audit row)."""
    return (select(func.max(AuditEvent.created_at))
            .where(AuditEvent.entity_type == "estimate", AuditEvent.entity_id == Estimate.id,
                   AuditEvent.action == "dispute")
            .correlate(Estimate).scalar_subquery())


def disputed_estimates(acknowledged: bool | None = None) -> list[tuple[Estimate, object]]:
    """Disputed estimates with the time of their dispute, oldest first."""
    since = _disputed_at()
    stmt = (select(Estimate, since.label("disputed_at")).where(Estimate.status == "disputed")
            .options(selectinload(Estimate.customer),
                     selectinload(Estimate.labour_lines).selectinload(LabourLine.parts))
            .order_by(func.coalesce(since, Estimate.updated_at), Estimate.id).limit(LIST_LIMIT))
    if acknowledged is True:
        stmt = stmt.where(Estimate.acknowledged_at.is_not(None))
    elif acknowledged is False:
        stmt = stmt.where(Estimate.acknowledged_at.is_(None))
    return [(row[0], row[1]) for row in db.session.execute(stmt)]


def revisions_in_progress() -> list[Estimate]:
    """Draft revisions of an estimate that has a dispute log: the answer to a dispute, not sent yet."""
    has_log = exists().where(DisputeNote.estimate_number == Estimate.number)
    stmt = (select(Estimate).where(Estimate.status == "draft", Estimate.revision > 1, has_log)
            .options(selectinload(Estimate.customer)).order_by(Estimate.created_at, Estimate.id).limit(LIST_LIMIT))
    return list(db.session.scalars(stmt))


def disputed_lines(est: Estimate) -> int:
    return sum(1 for line in est.labour_lines if line.disputed) + sum(1 for part in est.part_lines if part.disputed)


def line_names(notes: list[DisputeNote]) -> dict[str, str]:
    """``"labour:3"`` → the line's description, for the log (lines of any revision)."""
    return names_of_line_refs(note.line_ref for note in notes)


def names_of_line_refs(refs) -> dict[str, str]:
    """``"labour:3"`` / ``"part:9"`` → "Replace compressor" / "Part Gasket", in one statement per kind."""
    ids = {"labour": set(), "part": set()}
    for ref in refs:
        kind, _sep, ident = (ref or "").partition(":")
        if kind in ids and ident.isdecimal():
            ids[kind].add(int(ident))
    names = {}
    for kind, model in (("labour", LabourLine), ("part", PartLine)):
        if ids[kind]:
            for row in db.session.scalars(select(model).where(model.id.in_(ids[kind]))):
                names[f"{kind}:{row.id}"] = (_("Part %(name)s", name=row.description) if kind == "part"
                                             else row.description)
    return names


class DisputeReviewView(BaseView):
    route_base = "/disputereview"
    class_permission_name = PERMISSION
    method_permission_name = {"list": "list", "show": "show", "act": "edit"}
    default_view = "list"

    @expose("/")
    @has_access
    def list(self):
        which = request.args.get("acknowledged", "")
        acknowledged = {"yes": True, "no": False}.get(which)
        rows = [(est, since, disputed_lines(est)) for est, since in disputed_estimates(acknowledged)]
        return self.render_template("staff/dispute_list.html", rows=rows, which=which,
                                    revisions=revisions_in_progress(), limit=LIST_LIMIT)

    def _estimate(self, pk: int) -> Estimate:
        est = db.session.get(Estimate, pk)
        if est is None:
            abort(404)
        return est

    def _page(self, est: Estimate, *, note_text: str = "", errors=None, status: int = 200):
        log = dispute_log(est)
        change = estimate_diff.diff(est.previous, est) if est.previous is not None else None
        actor = current_actor()
        allowed = set(estimates.TABLE.allowed_actions(est.status, actor, est))
        return self.render_template(
            "staff/dispute_review.html", est=est, log=log, names=line_names(log), change=change,
            allowed=allowed, note_text=note_text, errors=errors or {},
            may_edit_lines=est.status == "draft" and self.appbuilder.sm.has_access("can_edit", "Estimates"),
        ), status

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        return self._page(self._estimate(pk))

    @expose("/<int:pk>/<action>", methods=["POST"])
    @has_access
    def act(self, pk, action):
        est = self._estimate(pk)
        if action not in ACTIONS:
            abort(404)
        number, actor = est.display_number, current_actor()
        params = {}
        if action == "notes":
            params["text"] = request.form.get("text", "")
        else:
            params["expected_version"] = request.form.get("expected_version", "").strip() or None
        try:
            result = estimates.perform(est, action, actor, **params)
        except ValidationFailed as error:
            db.session.rollback()
            if action == "notes":  # the note comes back as typed, the message at the field
                return self._page(est, note_text=params["text"], errors=error.errors, status=422)
            flash(f"{number}: {error.message}", "danger")
            return redirect(url_for(".show", pk=est.id))
        except (ServiceError, SQLAlchemyError) as error:
            db.session.rollback()
            if not isinstance(error, ServiceError):
                log.exception("Dispute review: %s on %s failed", action, number)
            message = getattr(error, "message", _("this could not be saved. Reload the page and try again."))
            flash(f"{number}: {message}", "danger")
            if action == "notes":
                return self._page(est, note_text=params["text"], status=getattr(error, "status_code", 409))
            return redirect(url_for(".show", pk=est.id))
        if action == "revise":
            flash(_("%(number)s is superseded by %(draft)s, a draft: change its lines, then resubmit.", number=number,
                    draft=result.display_number), "success")
            return redirect(url_for(".show", pk=result.id))
        messages = {"acknowledge": _("dispute acknowledged; the customer is told you are on it"),
                    "notes": _("note added to the dispute log"), "submit": _("sent to the customer again")}
        flash(f"{number}: {messages[action]}.", "success")
        if action == "submit":
            return redirect(url_for(".list"))
        return redirect(url_for(".show", pk=est.id))


def register(appbuilder, add) -> None:
    add(appbuilder, DisputeReviewView, "Dispute review", category="Service desk", icon="fa-balance-scale")
