"""``/portal/attachments/<id>``: a customer's own uploaded file, or 404 (another customer's, internal, absent)."""
from __future__ import annotations

from flask import abort
from flask_appbuilder import expose

from ...core.errors import NotFound
from ...core.scope import get_for
from ...models import Attachment
from ..attachments import send_attachment
from .base import PortalView, customer_required


class PortalAttachmentView(PortalView):
    route_base = "/portal/attachments"

    @expose("/<int:attachment_id>")
    @customer_required
    def download(self, attachment_id):
        try:
            attachment = get_for(Attachment, attachment_id, self.actor)
        except NotFound:
            abort(404)
        return send_attachment(attachment)


VIEWS = [PortalAttachmentView]
