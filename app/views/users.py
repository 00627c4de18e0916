"""Security → Users: FAB's user screen, with logins that history names archived instead of deleted."""
from __future__ import annotations

from flask import current_app, flash, g
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.security.forms import UserInfoEdit
from flask_appbuilder.security.views import UserDBModelView, UserGroupModelView, UserInfoEditView
from flask_babel import lazy_gettext as _l
from flask_babel import refresh
from wtforms import SelectField

from ..core import languages
from .archive import ArchiveMixin


class PorticoUserView(ArchiveMixin, UserDBModelView):
    """Archive / Restore (one or many) and a Delete that history refuses (``services.accounts``); the list
    shows active logins, with a switch to the archived ones."""

    show_template = ArchiveMixin.show_template
    #: FAB prints an empty "Created by" / "Changed by" (a login made by the seed or the CLI) as "None".
    formatters_columns = {name: (lambda value: "—" if value is None else value)
                          for name in ("created_by", "changed_by", "last_login")}

    def pre_update(self, item):
        """Unticking "Is active" on the edit form is a lock too: every credential of the login ends."""
        super().pre_update(item)
        if not item.active:
            from ..services.portal_auth import revoke_credentials

            revoke_credentials(item)


class PorticoGroupView(UserGroupModelView):
    """Security → Groups: FAB names the group's columns after the model's fields in English ("Label",
    "Description"); here they are labelled in the reader's language."""

    label_columns = {"name": _l("Name"), "label": _l("Label"), "description": _l("Description"),
                     "users": _l("Users"), "roles": _l("Roles")}


def _language_choices() -> list[tuple[str, str]]:
    names = current_app.config.get("LANGUAGES") or {}
    return [("", "—"), *((code, info.get("name", code)) for code, info in names.items())]


class UserInfoWithLanguage(UserInfoEdit):
    """FAB's "Edit user information" form with the staff user's language."""

    language = SelectField(_l("Language"), choices=lambda: _language_choices(), widget=Select2Widget(),
                           description=_l("Your screens, e-mails and notifications. Empty: your browser's."))


class PorticoUserInfoEditView(UserInfoEditView):
    """Your profile → Edit: name and language (``core.languages``: the profile comes first)."""

    form = UserInfoWithLanguage
    route_base = "/userinfoeditview"  # FAB's own address and permission name (security.OWN_PROFILE)
    class_permission_name = "UserInfoEditView"

    def form_get(self, form) -> None:
        item = self.appbuilder.sm.get_user_by_id(g.user.id)
        form.first_name.data, form.last_name.data = item.first_name, item.last_name
        form.language.data = languages.staff_language(item) or ""

    def form_post(self, form) -> None:
        item = self.appbuilder.sm.get_user_by_id(g.user.id)
        item.first_name, item.last_name = form.first_name.data, form.last_name.data
        if not languages.is_portal_login(item):
            languages.set_staff_language(item, form.language.data or None)
        self.appbuilder.sm.update_user(item)  # commits
        refresh()
        flash(str(self.message), "info")
