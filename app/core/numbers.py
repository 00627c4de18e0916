"""Numbers as people type them in their language: ``1,5`` and ``1.234,50`` on a German page, ``1.5`` and
``1,234.50`` on an English one (issue 16).

Forms parse here, at the edge; services and the REST API keep machine formats (a dot for decimals, no
grouping). ``typed_number`` turns what was typed into that machine text, or raises ``NumberNotUnderstood``
with a sentence for the field. The other language's decimal sign is understood where it cannot be a thousands
group (``1.5`` or ``12.34`` on a German page: a group has three digits); what reads two ways is refused,
not guessed: ``1.234`` on a German page (one thousand two hundred and thirty-four, or one point two three
four?) asks for ``1234`` or ``1,234``. Grouping is taken only in groups of three (``1.234.567,5``).
``shown_number`` writes a stored number back in the same form (no grouping, the locale's decimal sign), so
a form re-opened in German reads ``1,50``.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel.numbers import get_decimal_symbol, get_group_symbol
from flask_babel import get_locale
from flask_babel import gettext as _

#: Spaces people use as thousands separators (plain, no-break, narrow no-break, thin).
_SPACES = re.compile(r"[ \u00a0\u202f\u2009]")


class NumberNotUnderstood(ValueError):
    """The text is not a number in the reader's language; ``str(error)`` says how to write it."""


def _symbols(locale=None) -> tuple[str, str]:
    locale = locale or get_locale() or "en"
    return get_decimal_symbol(locale), get_group_symbol(locale)


def _grouped(whole: str, group: str) -> str | None:
    """``1.234.567`` → ``1234567`` when every group after the first has three digits; else None."""
    head, *rest = whole.split(group)
    if not head.isdigit() or len(head) > 3 or not rest or any(len(part) != 3 or not part.isdigit() for part in rest):
        return None
    return head + "".join(rest)


def typed_number(text, locale=None) -> str:
    """The machine form (``"1234.5"``) of a number typed in ``locale`` (the request's language by default);
    an empty string stays empty, for the service to say whether it is required."""
    raw = _SPACES.sub("", str(text if text is not None else "").strip())
    if not raw:
        return ""
    decimal, group = _symbols(locale)
    sign = "-" if raw[0] == "-" else ""
    raw = raw[1:] if raw[0] in "+-" else raw
    example = f"1{group}234{decimal}50" if group in ".,'" else f"1234{decimal}50"
    whole, point, fraction = raw.partition(decimal)
    if group in whole:
        grouped = _grouped(whole, group)
        if grouped is not None and (point or whole.count(group) > 1 or group not in ".,"):
            whole = grouped  # 1.234,5 or 12.345.678 on a German page
        elif grouped is not None:  # 1.234: a thousands group, or the other language's decimal sign?
            head, _sep, tail = whole.partition(group)
            raise NumberNotUnderstood(_("%(typed)s can be read two ways: write %(whole)s or %(fraction)s.",
                                        typed=str(text).strip(), whole=grouped, fraction=f"{head}{decimal}{tail}"))
        elif not point and whole.count(group) == 1 and group in ".,":
            # 1.5 on a German page: a thousands group has three digits, so this can only be a decimal sign.
            whole, point, fraction = whole.partition(group)
        else:
            raise NumberNotUnderstood(_("Enter a number such as %(example)s.", example=example))
    whole = whole or ("0" if fraction else "")
    if not whole.isdigit() or (point and not fraction.isdigit()):
        raise NumberNotUnderstood(_("Enter a number such as %(example)s.", example=example))
    return f"{sign}{whole}.{fraction}" if point else f"{sign}{whole}"


def shown_number(value, places: int = 2, locale=None) -> str:
    """A stored number as a form shows it in ``locale``: no grouping, the locale's decimal sign."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)  # what was typed, kept as typed
    decimal, _group = _symbols(locale)
    return f"{number:.{places}f}".replace(".", decimal)
