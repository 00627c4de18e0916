"""Accessibility fixes in FAB's own templates where FAB gives no block to override (issue 15, item 5).

FAB's ``appbuilder/init.html`` writes a bare ``<html>`` outside any block, its list widgets' checkboxes have
no label and its language menu is a flag without a name. A Portico template of the same name would replace
FAB's whole file, so instead FAB's source is patched where it is loaded: each fix names the exact text it
replaces, and a FAB whose template no longer has that text fails at the first page (``TemplatePatchError``)
instead of silently losing the fix.
"""
from __future__ import annotations

from flask_babel import get_locale
from jinja2 import BaseLoader

#: template → (FAB's text, Portico's text)
PATCHES: dict[str, list[tuple[str, str]]] = {
    "appbuilder/init.html": [
        ("<html>", '<html lang="{{ staff_html_lang() }}">'),
    ],
    "appbuilder/navbar.html": [  # the shop's logo as the brand (views/brand.py): named by the shop's name
        ('<img src="{{appbuilder.app_icon}}" height="100%" width="auto">',
         '<img src="{{appbuilder.app_icon}}" alt="{{ appbuilder.app_name }}" height="100%" width="auto">'),
    ],
    "appbuilder/navbar_right.html": [  # the language menu: a flag and nothing to read
        ('<a class="dropdown-toggle" data-toggle="dropdown" href="#">\n       <div class="f16">',
         '<a class="dropdown-toggle" data-toggle="dropdown" href="#" aria-label="{{ _(\'Language\') }}">'
         '\n       <div class="f16">'),
    ],
}
#: Both list tables' checkboxes (the staff lists extend FAB's list.html; Security → Roles has its own).
CHECKBOXES = [
    ('<input id="check_all" class="action_check_all" name="check_all" type="checkbox">',
     '<input id="check_all" class="action_check_all" name="check_all" type="checkbox"'
     ' aria-label="{{ _(\'Select all rows\') }}">'),
    ('<input id="{{pk}}" class="action_check" name="rowid" value="{{pk}}" type="checkbox">',
     '<input id="{{pk}}" class="action_check" name="rowid" value="{{pk}}" type="checkbox"'
     ' aria-label="{{ _(\'Select row\') }}">'),
]
PATCHES["appbuilder/general/widgets/list.html"] = CHECKBOXES
PATCHES["appbuilder/general/widgets/roles/list.html"] = CHECKBOXES


class TemplatePatchError(RuntimeError):
    pass


class PatchingLoader(BaseLoader):
    """Flask's loader, with ``PATCHES`` applied to the FAB templates they name."""

    def __init__(self, loader: BaseLoader):
        self.loader = loader

    def get_source(self, environment, template):
        source, filename, uptodate = self.loader.get_source(environment, template)
        for old, new in PATCHES.get(template, ()):
            if old not in source:
                raise TemplatePatchError(f"{template} ({filename}) no longer contains {old!r}: "
                                         "see app/views/fab_templates.py")
            source = source.replace(old, new, 1)
        return source, filename, uptodate

    def list_templates(self):
        return self.loader.list_templates()


def staff_html_lang() -> str:
    """The staff page's language as an HTML ``lang`` value: ``de``, ``en-GB``."""
    return str(get_locale() or "en").replace("_", "-")


def register(app) -> None:
    app.jinja_env.loader = PatchingLoader(app.jinja_env.loader)
    app.add_template_global(staff_html_lang, "staff_html_lang")
