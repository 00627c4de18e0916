"""Every state and kind a person reads has words of its own, in English and German (issue 15, item 3)."""
from __future__ import annotations

import pytest
from flask_babel import force_locale

from app.models import customers, estimates, imports, invoices, requests, settings, shipments, work_orders
from app.reports.periods import PERIODS
from app.views.filters import VALUE_WORDS, status_label
from app.views.workflow import action_label

VALUES = (requests.REQUEST_STATUSES + estimates.ESTIMATE_STATUSES + work_orders.WORK_ORDER_STATUSES
          + invoices.INVOICE_STATUSES + shipments.SHIPMENT_STATUSES + imports.IMPORT_STATUSES
          + work_orders.WORK_ORDER_KINDS + customers.CUSTOMER_KINDS + customers.UNIT_KINDS
          + customers.NOTIFICATION_GROUPS + requests.SLOTS + settings.WEEKDAYS + settings.BOOKING_MODES
          + imports.IMPORT_KINDS)


@pytest.mark.parametrize("value", sorted(set(VALUES)))
def test_every_state_and_kind_has_words_in_both_languages(app, value):
    assert value in VALUE_WORDS, f"{value!r} has no words in views.filters.VALUE_WORDS"
    with app.test_request_context("/"):
        with force_locale("en"):
            english = status_label(value)
        with force_locale("de"):
            german = status_label(value)
    assert "_" not in english and english[0].isupper()
    assert german and "_" not in german
    if value not in {"online", "portal"}:  # the same word in both languages
        assert german != english, f"{value!r} reads {english!r} on a German page too"


def test_states_read_as_german_words(app):
    with app.test_request_context("/"), force_locale("de"):
        assert status_label("confirmed") == "Bestätigt"
        assert status_label("time_proposed") == "Termin vorgeschlagen"
        assert status_label("awaiting_authorization") == "Wartet auf Freigabe"
        assert status_label("last_week") == "Letzte Woche (Montag bis Sonntag)"
        assert action_label("accept_time") != "Accept time"
    with app.test_request_context("/"), force_locale("en"):
        assert status_label("confirmed") == "Confirmed"
        assert status_label("something_new") == "Something new"  # an unknown value still reads as words
        assert str(PERIODS["all_time"]) == "All time"
