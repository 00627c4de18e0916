"""The staff screens' own words in the reader's language (issue 16, item 1).

The views write their titles, column labels, descriptions, form labels and menu names as plain English
strings; ``translate_view`` turns them into ``lazy_gettext`` strings before Flask-AppBuilder builds the
view (forms are made at that moment), so each is looked up in the catalogue on every request. Columns
without a label get FAB's own prettified name ("Created at"), translated the same way.

pybabel cannot see strings that are not marked, so ``app/views/staff_words.py`` lists every one as
``_l("...")``; ``venv/bin/python scripts/staff_words.py`` writes it from the registered views (run it
before ``pybabel extract``), and tests/test_every_page_german.py fails when it is out of date.
"""
from __future__ import annotations

import re

from flask_babel import lazy_gettext

#: Every English string handed to the catalogue here (for scripts/staff_words.py).
SEEN: set[str] = set()
TITLES = ("list_title", "show_title", "add_title", "edit_title", "title", "form_title")
COLUMN_SETS = ("list_columns", "show_columns", "add_columns", "edit_columns", "search_columns")


def word(text):
    """``text`` as a lazy catalogue string (anything not a plain, non-empty string stays as it is)."""
    if not isinstance(text, str) or not text.strip():
        return text
    SEEN.add(text)
    return lazy_gettext(text)


def _pretty(name: str) -> str:
    return re.sub("[._]", " ", name).title() if name else name


def _fields(fields) -> None:
    for field in (fields or {}).values():
        args = getattr(field, "args", None)
        kwargs = getattr(field, "kwargs", None)
        if args:
            field.args = (word(args[0]), *args[1:])
        if isinstance(kwargs, dict):
            for key in ("label", "description"):
                if key in kwargs:
                    kwargs[key] = word(kwargs[key])


def translate_view(view) -> None:
    """Make the class ``view``'s words (and its related views') lazy catalogue strings, once."""
    cls = view if isinstance(view, type) else type(view)
    if cls.__dict__.get("_portico_words"):
        return
    cls._portico_words = True
    for name in TITLES:
        value = getattr(cls, name, None)
        if isinstance(value, str) and value:
            setattr(cls, name, word(value))
    datamodel = getattr(cls, "datamodel", None)
    labels = dict(getattr(cls, "label_columns", None) or {})
    if datamodel is not None and hasattr(datamodel, "get_columns_list"):
        shown = set()
        for name in COLUMN_SETS:
            shown.update(getattr(cls, name, None) or [])
        for column in shown:
            if isinstance(column, str) and not labels.get(column):
                labels[column] = _pretty(column)
    cls.label_columns = {key: word(value) for key, value in labels.items()}
    if getattr(cls, "description_columns", None):
        cls.description_columns = {key: word(value) for key, value in cls.description_columns.items()}
    for name in ("add_form_extra_fields", "edit_form_extra_fields", "search_form_extra_fields"):
        if cls.__dict__.get(name) or getattr(cls, name, None):
            _fields(getattr(cls, name))
    form = getattr(cls, "form", None)
    if form is not None and isinstance(form, type):
        for attr in vars(form).values():
            if hasattr(attr, "args") and hasattr(attr, "field_class"):
                _fields({"f": attr})
    for related in getattr(cls, "related_views", None) or []:
        translate_view(related)


def translate_actions(view) -> None:
    """The action buttons' and menu's texts of an instantiated view."""
    for action in (getattr(view, "actions", None) or {}).values():
        action.text = word(action.text)
        action.confirmation = word(action.confirmation)


HEADER = '''# ruff: noqa: E501
"""Every English word of the staff screens that ``views.words`` hands to the catalogue, marked for pybabel.

Written by ``venv/bin/python scripts/staff_words.py`` (do not edit by hand); words Flask-AppBuilder's own
German catalogue already translates are left out.
"""
from flask_babel import lazy_gettext as _l

WORDS = [
'''


def fab_translated() -> set[str]:
    """The msgids Flask-AppBuilder's German catalogue translates."""
    from pathlib import Path

    import flask_appbuilder
    from babel.messages.pofile import read_po

    path = Path(flask_appbuilder.__file__).parent / "translations" / "de" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return {m.id for m in read_po(handle) if m.id and m.string and isinstance(m.id, str)}


def source() -> str:
    """The text of ``app/views/staff_words.py`` for the words seen so far."""
    fab = fab_translated()
    lines = [f"    _l({text!r}),\n" for text in sorted(SEEN - fab)]
    return HEADER + "".join(lines) + "]\n"
