"""Security → Users: FAB's user screen, with logins that history names archived instead of deleted."""
from __future__ import annotations

from flask_appbuilder.security.views import UserDBModelView

from .archive import ArchiveMixin


class PorticoUserView(ArchiveMixin, UserDBModelView):
    """Archive / Restore (one or many) and a Delete that history refuses (``services.accounts``); the list
    shows active logins, with a switch to the archived ones."""

    show_template = ArchiveMixin.show_template

    def pre_update(self, item):
        """Unticking "Is active" on the edit form is a lock too: every credential of the login ends."""
        super().pre_update(item)
        if not item.active:
            from ..services.portal_auth import revoke_credentials

            revoke_credentials(item)
