"""Dependent pickers in Chromium (issue 15, item 4): on a new work order, choosing the customer leaves only that
customer's units in the unit picker; a unit chosen before that no longer fits is cleared."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import CustomerFactory, UnitFactory, make_user

pytestmark = pytest.mark.browser


def test_choosing_the_customer_narrows_the_unit_picker(live_server, page, browser_login, screenshot, db):
    make_user("Advisor", username="picker-advisor")
    mine, theirs = CustomerFactory(name="Arctic Refrigeration"), CustomerFactory(name="Boiler Bros")
    ours = [UnitFactory(customer=mine, serial_number=f"ARC-{n}") for n in (1, 2)]
    other = UnitFactory(customer=theirs, serial_number="BOIL-9")
    db.session.commit()
    browser_login(page, "picker-advisor")
    page.goto(f"{live_server}/workorderview/add")
    unit_options = page.locator("select#unit option")
    # the customer picker starts on its first customer: the units are already that customer's
    first = page.locator("select#customer").input_value()
    expected = {str(mine.id): ["—", *(str(u) for u in ours)], str(theirs.id): ["—", str(other)]}
    expect(unit_options).to_have_count(len(expected[first]))
    page.select_option("select#customer", str(theirs.id))
    expect(unit_options).to_have_count(2)
    assert unit_options.all_inner_texts() == ["—", str(other)]
    page.select_option("select#unit", str(other.id))
    page.select_option("select#customer", str(mine.id))
    expect(unit_options).to_have_count(3)
    assert sorted(unit_options.all_inner_texts()) == sorted(expected[str(mine.id)])
    assert page.locator("select#unit").input_value() in ("", "__None")  # Boiler Bros' unit was cleared
    screenshot(page, "staff-work-order-unit-picker")
