"""Reference data in the reader's language: the per-language names of service types, service locations and
shipping methods (issue 16, item 3).

Each of those rows keeps its English ``name`` (required, unique, what imports, the API and CSV files match
on) and a ``names`` column: ``{"de": "Inspektion"}``, one entry per other language of ``LANGUAGES`` in
config.py, each optional. ``localized_name(row)`` is the one way to show such a name: the entry of the
current locale (Flask-Babel's ``get_locale``, which ``force_locale`` sets for a document or a mail in its
reader's language), else the English name. A third language is a line in ``LANGUAGES`` and its catalogue:
the staff forms then offer "Name (<language>)" for it, and nothing here names a language.
"""
from __future__ import annotations

import unicodedata

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l


def default_language() -> str:
    if has_app_context():
        return current_app.config.get("BABEL_DEFAULT_LOCALE") or "en"
    return "en"


def other_languages() -> dict[str, str]:
    """The languages besides the default one, code → their own name (``{"de": "Deutsch"}``)."""
    if not has_app_context():
        return {}
    default = default_language()
    return {code: (meta or {}).get("name") or code
            for code, meta in (current_app.config.get("LANGUAGES") or {}).items() if code != default}


def current_language() -> str:
    """The current locale's language code ("de" of "de_DE"), the default outside a request or a
    ``force_locale`` block."""
    if not has_app_context():
        return "en"
    from flask_babel import get_locale

    try:
        locale = get_locale()
    except Exception:  # noqa: BLE001 (no locale to be had here: the default language)
        locale = None
    return locale.language if locale is not None else default_language()


def localized_name(obj, language: str | None = None) -> str:
    """``obj``'s name in ``language`` (default: the current locale's), falling back to its English ``name``."""
    if obj is None:
        return ""
    names = getattr(obj, "names", None) or {}
    wanted = language or current_language()
    value = names.get(wanted) if isinstance(names, dict) else None
    return value if isinstance(value, str) and value.strip() else (obj.name or "")


def has_control_characters(text: str) -> bool:
    """Control and format characters (NUL, line breaks, tabs, bidi overrides) have no place in a name."""
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)


def clean_names(values: dict | None, max_length: int) -> tuple[dict[str, str], dict]:
    """Staff input (language → text) as the ``names`` column stores it: known other languages only,
    trimmed, empty ones dropped. Returns ``(names, errors)``, errors per language code."""
    names: dict[str, str] = {}
    errors: dict = {}
    known = other_languages()
    for code, text in (values or {}).items():
        if code not in known:
            errors[str(code)[:20]] = _l("Not a language of this shop.")
            continue
        if text is None:
            continue
        if not isinstance(text, str):
            errors[code] = _l("Not a valid string.")
            continue
        text = text.strip()
        if not text:
            continue
        if len(text) > max_length:
            errors[code] = _l("At most %(count)d characters.", count=max_length)
        elif has_control_characters(text):
            errors[code] = _l("A name cannot contain line breaks, tabs or other control characters.")
        else:
            names[code] = text
    return names, errors
