"""The public service request form: form → summary → confirmation, no account needed.

``GET/POST /portal/request``             the form; a POST checks it, keeps the files at once as pending
                                         uploads of the visitor's draft and goes on to the summary
``GET /portal/request/summary``          everything to check, with the files, and the one-time "Send" form
``POST /portal/request/submit``          creates the request once per submission token
``GET /portal/request/done/<token>``     the confirmation with the request number
``GET /portal/request/files/<id>``       a pending file of this browser's draft (its preview)

The draft (what was typed and the checked files) lives under the upload directory, keyed by a random
token in the visitor's session, so nothing is lost between the steps, on a refused file or a reload.
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, send_file, session, url_for
from flask_appbuilder import expose
from flask_babel import gettext as _

from ...core.errors import ValidationFailed
from ...extensions import db
from ...models import SLOTS
from ...services import availability, public_intake, uploads
from ...services.portal_auth import LoginRefused, over_limit
from . import slots as slot_picker
from .base import PortalView

DRAFT_KEY = "public_request_draft"


def _draft_token(create: bool = False) -> str | None:
    token = session.get(DRAFT_KEY)
    if token and uploads.DRAFT_TOKEN.fullmatch(token):
        return token
    if not create:
        return None
    uploads.purge_stale_drafts()
    token = uploads.new_draft_token()
    session[DRAFT_KEY] = token
    return token


def _messages(errors: dict) -> dict[str, list[str]]:
    return {field: [str(m) for m in messages] for field, messages in (errors or {}).items()}


class PublicRequestView(PortalView):
    route_base = "/portal"

    def _form(self, fields: dict, errors: dict | None = None, status: int = 200, week: str | None = None):
        draft = uploads.load_draft(_draft_token())
        picker = slot_picker.picker(fields.get("service_type_id"), fields.get("service_location_id"),
                                    week or request.form.get("shown_week"), fields.get("slot"))
        return self.render(
            "portal/request_form.html", fields=fields, errors=_messages(errors), files=draft["files"],
            picker=picker, locations=availability.bookable_locations(),
            service_types=public_intake.active_service_types(), slots=SLOTS, limit=uploads.photo_limit(),
            max_bytes=uploads.max_bytes(), max_size=uploads.size_text(uploads.max_bytes()),
        ), status

    @expose("/request", methods=["GET", "POST"])
    def form(self):
        if request.method == "GET":
            fields = uploads.load_draft(_draft_token())["fields"] or {"preferred_slot": "morning"}
            return self._form(fields)
        fields = public_intake.clean_fields(request.form)
        if over_limit("PORTICO_PUBLIC_FORM_RATE_LIMIT", request.remote_addr):
            flash(_("Too many requests from your network. Please wait a while and try again."), "danger")
            return self._form(fields, None, 429)
        token = _draft_token(create=True)
        errors: dict[str, list] = {}
        for file_id in request.form.getlist("remove_file"):
            uploads.remove_pending(token, file_id)
        files = [storage for storage in request.files.getlist("files") if storage and storage.filename]
        room = uploads.pending_room(token)
        if len(files) > room:  # counted before any file is read: the extra ones are never decoded
            errors["files"] = [_("At most %(limit)s files can be attached.", limit=uploads.photo_limit())]
            files = files[:room]
        for storage in files:
            try:
                uploads.add_pending(token, uploads.check_file(storage))
            except ValidationFailed as error:
                errors.setdefault("files", []).extend(error.errors.get("files", [error.message]))
        uploads.save_draft_fields(token, fields)
        if request.form.get("week"):  # "Earlier" / "Later" in the slot picker: another week, all kept
            return self._form(fields, errors or None, 422 if errors else 200, week=request.form["week"])
        errors.update({k: v for k, v in public_intake.validate(fields).items() if k != "files"})
        if errors:
            return self._form(fields, errors, 422)
        return redirect(url_for("PublicRequestView.summary"), code=303)

    @expose("/request/summary")
    def summary(self):
        token = _draft_token()
        draft = uploads.load_draft(token)
        fields = draft["fields"]
        if not fields:
            return redirect(url_for("PublicRequestView.form"))
        errors = public_intake.validate(fields)
        if errors:
            return self._form(fields, errors, 422)
        if not draft.get("submit_token"):
            draft["submit_token"] = public_intake.new_submission_token()
            uploads.update_draft(token, submit_token=draft["submit_token"])
        return self.render("portal/request_summary.html", fields=fields, files=draft["files"],
                           chosen_start=availability.local_start(fields.get("slot")),
                           submit_token=draft["submit_token"], service=public_intake.service_type_name(fields))

    @expose("/request/files/<file_id>")
    def pending_file(self, file_id):
        found = uploads.pending_file(_draft_token() or "", file_id)
        if found is None:
            abort(404)
        entry, path = found
        response = send_file(path, mimetype=entry["content_type"], download_name=entry["filename"],
                             as_attachment=not entry["content_type"].startswith("image/"), max_age=0)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response.headers["Cache-Control"] = "private, no-store"
        return response

    @expose("/request/submit", methods=["POST"])
    def submit(self):
        token = request.form.get("submission_token", "")
        existing = public_intake.submission(token)
        if existing is not None:
            return redirect(url_for("PublicRequestView.done", token=token), code=303)
        draft_token = _draft_token()
        draft = uploads.load_draft(draft_token)
        if not draft["fields"] or draft.get("submit_token") != token:
            flash(_("This form has expired. Please check it and send it again."), "danger")
            return redirect(url_for("PublicRequestView.form"), code=303)
        if over_limit("PORTICO_PUBLIC_REQUEST_RATE_LIMIT", request.remote_addr):
            flash(_("Too many requests from your network. Please wait a while and try again."), "danger")
            return self._form(draft["fields"], None, 429)
        try:
            public_intake.submit(token, draft["fields"], draft_token)
        except public_intake.AlreadySubmitted:
            return redirect(url_for("PublicRequestView.done", token=token), code=303)
        except LoginRefused:
            db.session.rollback()
            return self._form(draft["fields"], {"email": [_(
                "The account of this e-mail address is locked, so it cannot send requests. Please call us.")]}, 403)
        except ValidationFailed as error:
            db.session.rollback()
            return self._form(draft["fields"], _map_service_errors(error.errors), 422)
        session.pop(DRAFT_KEY, None)
        return redirect(url_for("PublicRequestView.done", token=token), code=303)

    @expose("/request/done/<token>")
    def done(self, token):
        claim = public_intake.submission(token)
        if claim is None:
            abort(404)
        return self.render("portal/request_done.html", claim=claim, req=claim.service_request)


#: The request service's field names → the form's.
SERVICE_FIELDS = {"service_type": "service_type_id", "subject": "notes", "summary": "notes", "address": "line1"}


def _map_service_errors(errors: dict) -> dict:
    mapped: dict[str, list] = {}
    for field, messages in errors.items():
        mapped.setdefault(SERVICE_FIELDS.get(field, field), []).extend(messages)
    return mapped


VIEWS = [PublicRequestView]
