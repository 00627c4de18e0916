"""The customer's estimates: list, detail with lines and revisions, approve / decline / dispute, the log."""
from __future__ import annotations

import re

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from ...core.errors import ServiceError, ValidationFailed
from ...extensions import db
from ...models import Estimate, LabourLine, WorkOrder, dispute_log
from ...services import estimate_diff, estimates
from .base import PortalView, customer_required
from .page_helpers import flash_service_error, form_value, get_or_404, mine, paginate

DISPUTE_FIELD = re.compile(r"dispute_(labour|part)_(\d+)")
STATUS_FILTERS = {"waiting": ("sent",), "disputed": ("disputed",)}




def _lines_query():
    return selectinload(Estimate.labour_lines).selectinload(LabourLine.parts)


class PortalEstimatesView(PortalView):
    route_base = "/portal"
    default_view = "list"

    @expose("/estimates")
    @customer_required
    def list(self):
        which = request.args.get("status", "")
        stmt = mine(Estimate)
        if which in STATUS_FILTERS:
            stmt = stmt.where(Estimate.status.in_(STATUS_FILTERS[which]))
        else:
            which = ""
        page = paginate(stmt.options(selectinload(Estimate.service_request), selectinload(Estimate.unit))
                        .order_by(Estimate.sent_at.desc(), Estimate.id.desc()))
        return self.render("portal/estimates.html", page=page, which=which)

    @expose("/estimates/<int:estimate_id>")
    @customer_required
    def show(self, estimate_id):
        return self._show(get_or_404(Estimate, estimate_id))

    def _show(self, est: Estimate, errors=None, status=200):
        revisions = list(db.session.scalars(mine(Estimate).where(Estimate.number == est.number)
                                            .options(_lines_query()).order_by(Estimate.revision)))
        latest = revisions[-1] if revisions else est
        previous = next((r for r in revisions if r.id == est.previous_id), None)
        changes = estimate_diff.diff(previous, est) if previous is not None else None
        lines_by_ref = {f"labour:{line.id}": line.description for rev in revisions for line in rev.labour_lines}
        lines_by_ref.update({f"part:{part.id}": part.description for rev in revisions for part in rev.part_lines})
        order = db.session.scalar(mine(WorkOrder).where(WorkOrder.estimate_id == est.id))
        actions = estimates.TABLE.allowed_actions(est.status, self.actor, est)
        can_note = "notes" in actions
        return self.render(
            "portal/estimates_show.html", est=est, revisions=revisions, latest=latest, previous=previous,
            changes=changes, log=dispute_log(est), lines_by_ref=lines_by_ref, order=order,
            actions=actions, can_note=can_note, errors=errors or {}, form=request.form,
            approval_summary=estimates.approval_summary,
            pdf_link=url_for("PortalDocumentView.estimate_pdf", pk=est.id),
        ), status

    @expose("/estimates/<int:estimate_id>/<action>", methods=["POST"])
    @customer_required
    def act(self, estimate_id, action):
        est = get_or_404(Estimate, estimate_id)
        if action not in estimates.TABLE.actions:
            abort(404)
        params = {"expected_version": form_value("version") or None}
        if action == "decline":
            params["reason"] = form_value("reason")
        elif action == "approve" and request.form.get("partial"):
            params.update(lines=[value for value in request.form.getlist("approve_line") if value],
                          reason=form_value("reason") or None)
        elif action == "dispute":
            params.update(note=form_value("dispute_note") or None, lines=self._disputed_lines())
        elif action == "notes":
            params = {"text": form_value("text")}
        try:
            result = estimates.perform(est, action, self.actor, **params)
        except ValidationFailed as exc:
            errors = self._field_errors(exc.errors, params.get("lines") or [])
            return self._show(db.session.get(Estimate, est.id), errors=errors, status=422)
        except ServiceError as exc:
            flash_service_error(exc)
            return redirect(url_for("PortalEstimatesView.show", estimate_id=est.id))
        if action == "approve":
            summary = estimates.approval_summary(est)
            if summary["declined"]:
                flash(_("Thank you: you approved %(approved)s of %(lines)s lines of %(number)s. Work order "
                        "%(order)s was created.", approved=summary["approved"], lines=summary["lines"],
                        number=est.display_number, order=result.number), "success")
            else:
                flash(_("Thank you: estimate %(number)s is approved. Work order %(order)s was created.",
                        number=est.display_number, order=result.number), "success")
            return redirect(url_for("PortalOrdersView.show", order_id=result.id))
        flash({"decline": _("The estimate was declined. The shop has been told."),
               "dispute": _("Your dispute was sent to the shop."),
               "notes": _("Your note was added.")}[action], "success")
        anchor = "#log" if action == "notes" else ""
        return redirect(url_for("PortalEstimatesView.show", estimate_id=est.id) + anchor)

    @staticmethod
    def _disputed_lines() -> list[dict]:
        """Every ticked line (labour or part) with its note, in the order of the form."""
        lines = []
        for key in request.form:
            match = DISPUTE_FIELD.fullmatch(key)
            if match and request.form.get(key):
                kind, ident = match.groups()
                lines.append({"kind": kind, "id": int(ident), "note": form_value(f"note_{kind}_{ident}")})
        return lines

    @staticmethod
    def _field_errors(errors: dict, lines: list[dict]) -> dict:
        """The service names line errors by position (``lines.0.note``); the form by line (``note_part_7``)."""
        mapped: dict[str, list[str]] = {}
        for key, messages in errors.items():
            parts = key.split(".")
            if parts[0] == "lines" and len(parts) > 1 and parts[1].isdecimal() and int(parts[1]) < len(lines):
                line = lines[int(parts[1])]
                target = f"{'note' if parts[-1] == 'note' else 'dispute'}_{line['kind']}_{line['id']}"
                if parts[-1] != "note":
                    mapped.setdefault("lines", []).extend(messages)
            else:
                target = {"reason": "reason", "text": "text", "lines": "lines"}.get(key, key)
            mapped.setdefault(target, []).extend(messages)
        return mapped


VIEWS = [PortalEstimatesView]
