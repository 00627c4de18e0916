"""Addresses by country (issue 16, item 4): labels, required fields and postcodes by the address's country,
country names from Babel, the printed block, the portal form, the shop's default and migration 0028."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.core import addresses
from app.core.errors import ValidationFailed
from app.core.settings import get_settings
from app.documents.context import address_lines
from app.models import Address
from app.services import customers
from app.services.workflow import perform
from tests.factories import AddressFactory, CustomerFactory, actor, make_user


@pytest.fixture()
def jane(db):
    fleet = CustomerFactory(name="Arctic Refrigeration")
    user = make_user("Customer", username="jane", customer=fleet)
    db.session.commit()
    return user


def main(response) -> str:
    body = response.get_data(as_text=True)
    return body[body.index("<main"):body.index("</main>")]


def _check(**fields):
    errors: dict = {}
    values = addresses.clean({"line1": None, "line2": None, "city": None, "state": None, "postal_code": None,
                              "country": None, **fields}, errors)
    return values, errors


# ---------------------------------------------------------------- the rules
def test_german_and_us_addresses_validate_and_render(db):
    values, errors = _check(line1="Torstraße 140", postal_code="10119", city="Berlin", country="de",
                            state="Berlin")
    assert errors == {} and values["country"] == "DE" and values["state"] is None  # no states in Germany
    us, errors = _check(line1="1 Market St", postal_code="94105-1234", city="San Francisco", state="ca",
                        country="US")
    assert errors == {} and us["state"] == "CA"
    with force_locale("en"):
        assert address_lines(Address(**values)) == ["Torstraße 140", "10119 Berlin"]  # home: no country line
        assert address_lines(Address(**us)) == ["1 Market St", "San Francisco, CA 94105-1234", "UNITED STATES"]
    with force_locale("de"):
        assert address_lines(Address(**us))[-1] == "VEREINIGTE STAATEN"


@pytest.mark.parametrize("country, good, bad", [
    ("DE", "10115", "1011"), ("AT", "1010", "10100"), ("CH", "8001", "800"), ("NL", "1012ab", "1012"),
    ("US", "94105", "9410"), ("GB", "sw1a1aa", "SW1A"), ("FR", "75001", "7500"), ("PL", "00-950", "00950"),
])
def test_postcodes_by_country(db, country, good, bad):
    values, errors = _check(line1="x 1", city="Town", postal_code=good, country=country, state="NY")
    assert "postal_code" not in errors, errors
    assert values["postal_code"] in ("10115", "1010", "8001", "1012 AB", "94105", "SW1A 1AA", "75001", "00-950")
    _, errors = _check(line1="x 1", city="Town", postal_code=bad, country=country, state="NY")
    assert "postal_code" in errors


def test_required_fields_and_unknown_countries(db):
    _, errors = _check(line1="1 Main St", city="Austin", postal_code="78701", country="US")
    assert list(errors) == ["state"]  # the US needs its state
    _, errors = _check(line1="Rua 1", city="Lisboa", postal_code="anything", country="PT")
    assert errors == {}  # no known format: any postcode
    _, errors = _check(line1="x", city="y", postal_code="1", country="XX")
    assert list(errors) == ["country"]


def test_country_names_in_the_readers_language(db):
    assert addresses.country_names("de")["DE"] == "Deutschland"
    assert addresses.country_names("en")["DE"] == "Germany"
    assert all(len(code) == 2 for code in addresses.country_names("en"))
    with force_locale("de"):
        assert str(addresses.form("DE")["postal_code"]) == "PLZ"


def test_a_missing_country_is_the_shops(jane, db):
    settings = get_settings()
    settings.country = "AT"
    db.session.commit()
    address = customers.save_address(actor(jane), line1="Ring 1", city="Wien", postal_code="1010")
    assert address.country == "AT"
    bare = AddressFactory(customer=address.customer, postal_code="1234")  # inserted without one (imports)
    db.session.commit()
    assert bare.country == "AT"


def test_every_edit_is_checked_through_the_action_table(jane, db):
    address = customers.save_address(actor(jane), line1="Ring 1", city="Wien", postal_code="1010", country="AT")
    with pytest.raises(ValidationFailed) as refused:
        perform(address, "edit", actor(jane), {"postal_code": "10100"})
    assert "postal_code" in refused.value.errors
    db.session.rollback()
    perform(db.session.get(Address, address.id), "edit", actor(jane),
            {"country": "US", "state": "NY", "postal_code": "10001", "city": "New York"})
    assert db.session.get(Address, address.id).country == "US"


# ---------------------------------------------------------------- the portal form
def test_portal_form_refuses_a_bad_plz_and_keeps_what_was_typed(jane, login_as, db):
    me = login_as(jane)
    page = me.get("/portal/profile", headers={"Accept-Language": "de"})
    assert page.status_code == 200
    response = me.post("/portal/profile/addresses", data={"label": "Lager", "line1": "Am Hafen 3",
                                                         "postal_code": "2010", "city": "Hamburg", "country": "DE"})
    assert response.status_code == 422
    body = main(response)
    assert 'id="postal_code-error"' in body and "10115" in body  # the message gives an example
    assert 'value="Am Hafen 3"' in body and 'value="2010"' in body and 'value="Hamburg"' in body
    assert '<option value="DE" selected>' in body
    assert db.session.scalar(select(Address).where(Address.line1 == "Am Hafen 3")) is None
    ok = me.post("/portal/profile/addresses", data={"line1": "1 Market St", "postal_code": "94105",
                                                   "city": "San Francisco", "state": "CA", "country": "US"})
    assert ok.status_code == 302
    us = db.session.scalar(select(Address).where(Address.line1 == "1 Market St"))
    edit = main(me.get(f"/portal/profile/addresses/{us.id}"))
    # ZIP code and State, on a German page
    assert ">Postleitzahl<" in edit and ">Bundesstaat oder Territorium<" in edit
    assert '<option value="US" selected>' in edit


def test_portal_form_labels_by_country_in_german(jane, login_as, db):
    me = login_as(jane)
    customers.update_profile(actor(jane), first_name="Jane", last_name="Frost", email=jane.email, phone="",
                             language="de")
    body = main(me.get("/portal/profile"))
    assert ">PLZ<" in body and ">Straße und Hausnummer<" in body and ">Deutschland<" in body
    assert '<option value="DE" selected>' in body


# ---------------------------------------------------------------- migration 0028
def test_migration_gives_existing_addresses_the_shops_country():
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text

    from app import create_app
    from config import TestConfig

    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='portico-0028-')) / 'm.db'}"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, PORTICO_SYNC_SECURITY_ON_START=False)
    with app.app_context():
        upgrade(revision="0027_staff_language")
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO customer (id, name, kind, requires_invoice_authorization, locked, "
                              "preferences, created_at, updated_at) VALUES (1, 'Old', 'individual', 0, 0, '{}', "
                              "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO address (customer_id, line1, city, postal_code, country, created_at, "
                              "updated_at) VALUES (1, 'Alt 1', 'Kiel', '24103', NULL, CURRENT_TIMESTAMP, "
                              "CURRENT_TIMESTAMP), (1, 'Rue 2', 'Paris', '75001', 'fr', CURRENT_TIMESTAMP, "
                              "CURRENT_TIMESTAMP)"))
        upgrade(revision="0028_address_country")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT line1, country FROM address ORDER BY id")).all()
            shop = conn.execute(text("SELECT country FROM settings")).scalars().all()
        engine.dispose()
        from app.extensions import db

        db.engine.dispose()
    assert rows == [("Alt 1", "DE"), ("Rue 2", "FR")]
    assert set(shop) <= {"DE"}


def test_public_request_form_is_labelled_by_the_shops_country(client, db):
    page = client.get("/portal/request").get_data(as_text=True)
    assert ">Postcode<" in page and "ZIP code" not in page and "State (optional)" not in page  # DE: no state
    settings = get_settings()
    settings.country = "US"
    db.session.commit()
    page = client.get("/portal/request").get_data(as_text=True)
    assert ">ZIP code<" in page and ">State or territory<" in page


def test_staff_address_form_offers_countries_and_checks_the_postcode(jane, login_as, db):
    address = customers.save_address(actor(jane), line1="Torstraße 140", city="Berlin", postal_code="10119")
    staff = login_as(make_user("Manager"))
    page = staff.get(f"/addressview/edit/{address.id}").get_data(as_text=True)
    assert '<select' in page and ">Germany<" in page
    assert re.search(r'<option[^>]*selected[^>]*value="DE"|<option[^>]*value="DE"[^>]*selected', page)
    refused = staff.post(f"/addressview/edit/{address.id}", data={"line1": "Torstraße 140", "city": "Berlin",
                                                                  "postal_code": "1011", "country": "DE"})
    assert refused.status_code in (200, 422) and "10115" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Address, address.id).postal_code == "10119"
    assert staff.post(f"/addressview/edit/{address.id}", data={"line1": "1 Market St", "city": "San Francisco",
                                                               "state": "CA", "postal_code": "94105",
                                                               "country": "US"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Address, address.id).country == "US"


def test_staff_add_checks_the_postcode(jane, login_as, db):
    """FAB's add flashes the refusal and saves nothing (it does not draw the typed form again)."""
    customer_id = customers.customer_of(actor(jane)).id
    staff = login_as(make_user("Admin"))
    typed = {"customer": customer_id, "line1": "Am Hafen 3", "city": "Hamburg", "postal_code": "2010",
             "country": "DE"}
    refused = staff.post("/addressview/add", data=typed, follow_redirects=True)
    assert "10115" in refused.get_data(as_text=True)
    assert db.session.scalar(select(Address).where(Address.line1 == "Am Hafen 3")) is None
    assert staff.post("/addressview/add", data={**typed, "postal_code": "20457"}).status_code == 302
    assert db.session.scalar(select(Address).where(Address.line1 == "Am Hafen 3")).country == "DE"


def test_the_shops_country_is_chosen_on_the_settings_screen_by_name(login_as, db):
    """Settings' country: a select of the countries by name in the reader's language, checked by the service
    too (an API client or a forged form cannot store an unknown code)."""
    from tests.test_invoice_legal import settings_form

    settings_id = get_settings().id
    admin = make_user("Admin")
    db.session.commit()
    screen = login_as(admin)
    page = screen.get(f"/settingsview/edit/{settings_id}", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert re.search(r'<select[^>]*name="country"', page) and ">Österreich<" in page
    assert re.search(r'<option[^>]*selected[^>]*value="DE"[^>]*>Deutschland<|'
                     r'<option[^>]*value="DE"[^>]*selected[^>]*>Deutschland<', page)
    refused = screen.post(f"/settingsview/edit/{settings_id}", data=settings_form(country="XX"))
    assert refused.status_code == 422
    db.session.expire_all()
    assert get_settings().country == "DE"
    assert screen.post(f"/settingsview/edit/{settings_id}", data=settings_form(country="AT")).status_code == 302
    db.session.expire_all()
    assert get_settings().country == "AT" and addresses.shop_country() == "AT"
    shown = screen.get(f"/settingsview/show/{settings_id}", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Österreich" in shown
    with pytest.raises(ValidationFailed) as refused:
        perform(get_settings(), "edit", actor(admin), {"country": "zz"})
    assert "country" in refused.value.errors
    db.session.rollback()
