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


def test_fab_forms_read_decimals_in_the_readers_language(db):
    """Settings' rates (FAB's own decimal fields): "19,5" and "1.234,50" on a German page, "1,234.50" on an
    English one; "1.234" in German reads two ways and is refused at the field, as typed; the form shows the
    stored rate with the reader's decimal sign."""
    from decimal import Decimal

    from app.core.settings import get_settings
    from tests.factories import make_user
    from tests.repair_shop import client_for
    from tests.test_invoice_legal import settings_form

    admin = make_user("Admin")
    db.session.commit()
    settings_id = get_settings().id
    url = f"/settingsview/edit/{settings_id}"
    german, english = client_for(admin), client_for(admin)  # each its own session's language
    de, en = {"Accept-Language": "de"}, {"Accept-Language": "en"}
    saved = german.post(url, data=settings_form(tax_rate="19,5", labour_rate="1.234,50"), headers=de)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:3000]
    db.session.expire_all()
    assert (get_settings().tax_rate, get_settings().labour_rate) == (Decimal("19.50"), Decimal("1234.50"))
    form = german.get(url, headers=de).get_data(as_text=True)
    assert 'value="19,50"' in form and 'value="1234,50"' in form
    refused = german.post(url, data=settings_form(labour_rate="1.234"), headers=de)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "1234 oder 1,234" in page and 'value="1.234"' in page
    db.session.expire_all()
    assert get_settings().labour_rate == Decimal("1234.50")
    assert english.post(url, data=settings_form(labour_rate="1,180.25"), headers=en).status_code == 302
    db.session.expire_all()
    assert get_settings().labour_rate == Decimal("1180.25")
    assert 'value="1180.25"' in english.get(url, headers=en).get_data(as_text=True)
    refused = english.post(url, data=settings_form(labour_rate="1,234"), headers=en)
    assert refused.status_code == 422 and "can be read two ways" in refused.get_data(as_text=True)
