"""Numbers typed in the reader's language (app/core/numbers.py)."""
from __future__ import annotations

import pytest

from app.core.numbers import NumberNotUnderstood, shown_number, typed_number

READ = [
    ("de", "1,5", "1.5"), ("de", "1.234,50", "1234.50"), ("de", "12.345.678", "12345678"), ("de", "-3,5", "-3.5"),
    ("de", ",5", "0.5"), ("de", "1 234,5", "1234.5"), ("de", "1.5", "1.5"), ("de", "12.34", "12.34"),
    ("de", "", ""), ("en", "1.5", "1.5"), ("en", "1,234.50", "1234.50"), ("en", "1,5", "1.5"),
    ("en", "1\u00a0234.5", "1234.5"), ("en", "+7", "7"),
]
REFUSED = [
    ("de", "1.234", "can be read two ways"), ("en", "1,234", "can be read two ways"), ("de", "1,234.50", "such as"),
    ("de", "1,2,3", "such as"), ("de", "5,", "such as"), ("en", "abc", "such as 1,234.50"), ("en", "1..2", "such as"),
    ("en", "1e5", "such as"), ("en", "NaN", "such as"), ("en", "12,34,567", "such as"),
]


@pytest.mark.parametrize("locale,typed,machine", READ)
def test_typed_numbers_are_read_in_their_language(app, locale, typed, machine):
    with app.test_request_context():
        assert typed_number(typed, locale) == machine


@pytest.mark.parametrize("locale,typed,message", REFUSED)
def test_what_cannot_be_read_or_reads_two_ways_is_refused(app, locale, typed, message):
    with app.test_request_context(), pytest.raises(NumberNotUnderstood, match=message):
        typed_number(typed, locale)


def test_numbers_are_shown_with_the_locale_decimal_sign(app):
    with app.test_request_context():
        assert shown_number("1.5", locale="de") == "1,50" and shown_number("1.5", locale="en") == "1.50"
        assert shown_number(None) == "" and shown_number("typed") == "typed"
