"""``/attachments/<id>``: uploaded files for staff (permission ``ServiceRequests``) and technicians (files of
the work orders they may see). Customers use ``/portal/attachments/<id>``. Files never sit under static/."""
from __future__ import annotations

from flask import abort, redirect, request
from flask_appbuilder import BaseView, expose
from flask_login import current_user
from sqlalchemy import select

from ..core.errors import NotFound
from ..core.scope import current_actor, get_for, scoped
from ..extensions import db
from ..models import Attachment, WorkOrder
from ..services import uploads

PERMISSION = "ServiceRequests"


def send_attachment(attachment: Attachment):
    """The stored file: pictures inline, documents as downloads; never sniffed, never scripted."""
    from flask import send_file

    try:
        handle = uploads.open_attachment(attachment)
    except FileNotFoundError:
        abort(404)
    inline = attachment.content_type.startswith("image/")
    response = send_file(handle, mimetype=attachment.content_type, as_attachment=not inline,
                         download_name=attachment.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


class AttachmentDownloadView(BaseView):
    route_base = "/attachments"
    class_permission_name = PERMISSION
    method_permission_name = {"download": "show"}
    default_view = "download"

    @expose("/<int:attachment_id>")
    def download(self, attachment_id):
        if not current_user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_login_with(request.path))
        attachment = db.session.get(Attachment, attachment_id)
        if self.appbuilder.sm.has_access("can_show", PERMISSION):
            if attachment is None:
                abort(404)
            return send_attachment(attachment)
        actor = current_actor()
        if not actor.is_technician:
            abort(403)
        if attachment is None or not _technician_may_see(attachment, actor):
            abort(404)
        return send_attachment(attachment)


def _technician_may_see(attachment: Attachment, actor) -> bool:
    """Files of a work order the technician may see, or of the request such a work order came from."""
    if attachment.work_order_id is not None:
        try:
            get_for(WorkOrder, attachment.work_order_id, actor)
            return True
        except NotFound:
            return False
    orders = scoped(select(WorkOrder.id).where(WorkOrder.service_request_id == attachment.service_request_id),
                    WorkOrder, actor)
    return attachment.service_request_id is not None and db.session.scalar(orders.limit(1)) is not None


VIEWS = [AttachmentDownloadView]
